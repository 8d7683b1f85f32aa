/**
 * The streams open on this instance.
 *
 * @module
 */

import type { SseConnection } from "./sse_connection.ts";

/**
 * Local streams by id and by student. Entries leave the moment a stream ends (the registry hooks
 * each stream's single exit path).
 *
 * @example
 * ```ts
 * const registry = new ConnectionRegistry();
 * registry.add(connection);
 * registry.size; // 1
 * ```
 */
export class ConnectionRegistry {
  #byId = new Map<string, SseConnection>();
  #byStudent = new Map<string, Set<SseConnection>>();

  /** Adds a stream; it is removed automatically when it ends. */
  add(connection: SseConnection): void {
    this.#byId.set(connection.id, connection);
    let set = this.#byStudent.get(connection.studentId);
    if (!set) this.#byStudent.set(connection.studentId, set = new Set());
    set.add(connection);
    connection.onEnd(() => this.#remove(connection));
  }

  /** The local stream with this id, if any. */
  get(id: string): SseConnection | undefined {
    return this.#byId.get(id);
  }

  /** A student's local streams. */
  forStudent(studentId: string): SseConnection[] {
    return [...this.#byStudent.get(studentId) ?? []];
  }

  /** Every local stream. */
  all(): IterableIterator<SseConnection> {
    return this.#byId.values();
  }

  /** Number of local streams. */
  get size(): number {
    return this.#byId.size;
  }

  #remove(connection: SseConnection): void {
    if (this.#byId.get(connection.id) === connection) this.#byId.delete(connection.id);
    const set = this.#byStudent.get(connection.studentId);
    set?.delete(connection);
    if (set?.size === 0) this.#byStudent.delete(connection.studentId);
  }
}
