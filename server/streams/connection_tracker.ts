/**
 * Who is connected, across every instance: the per-student stream cap and the totals that
 * `connection_info` reports. Memory here; Redis in server/redis/.
 *
 * @module
 */

/** What the tracker knows of one stream. */
export interface TrackedConnection {
  id: string;
  studentId: string;
  classId: string;
  instanceId: string;
  /** ms since epoch */
  connectedAt: number;
}

/** Totals for `connection_info` and `GET .../test`. */
export interface ConnectionTotals {
  /** Live streams across all instances. */
  total: number;
  /** Live streams per instance id. */
  byInstance: Record<string, number>;
}

/** Asks whichever instance holds a stream to close it. */
export type CloseRequestHandler = (connectionId: string) => void;

/**
 * Contract:
 * - `open` records the stream and returns the ids of that student's streams (on any instance,
 *   oldest first) that must close so that at most `maxPerStudent` remain; the decision is atomic
 *   across instances. The caller passes each id to `requestClose`.
 * - `requestClose` makes the instance holding the stream close it (the handler set with
 *   `onCloseRequest` runs on that instance).
 * - `heartbeat` keeps entries alive; entries of an instance that stops heartbeating lapse.
 * - `close` removes the entry; it is idempotent.
 */
export interface ConnectionTracker {
  open(connection: TrackedConnection, maxPerStudent: number): Promise<string[]>;
  heartbeat(connections: TrackedConnection[]): Promise<void>;
  close(connection: TrackedConnection): Promise<void>;
  requestClose(connectionId: string): Promise<void>;
  onCloseRequest(handler: CloseRequestHandler): void;
  studentConnections(studentId: string): Promise<TrackedConnection[]>;
  totals(): Promise<ConnectionTotals>;
}

/**
 * The tracker of a single process.
 *
 * @example
 * ```ts
 * const tracker = new MemoryConnectionTracker();
 * const evict = await tracker.open(connection, 5);
 * ```
 */
export class MemoryConnectionTracker implements ConnectionTracker {
  #byId = new Map<string, TrackedConnection>();
  #byStudent = new Map<string, Set<string>>();
  #handler: CloseRequestHandler = () => {};

  open(connection: TrackedConnection, maxPerStudent: number): Promise<string[]> {
    this.#byId.set(connection.id, connection);
    let ids = this.#byStudent.get(connection.studentId);
    if (!ids) this.#byStudent.set(connection.studentId, ids = new Set());
    ids.add(connection.id);
    // A stable sort: streams opened within the same millisecond keep their opening order.
    const oldestFirst = [...ids].map((id) => this.#byId.get(id)!)
      .sort((a, b) => a.connectedAt - b.connectedAt);
    const excess = Math.max(0, oldestFirst.length - maxPerStudent);
    return Promise.resolve(
      oldestFirst.filter((c) => c.id !== connection.id).slice(0, excess).map((c) => c.id),
    );
  }

  heartbeat(_connections: TrackedConnection[]): Promise<void> {
    return Promise.resolve();
  }

  close(connection: TrackedConnection): Promise<void> {
    this.#byId.delete(connection.id);
    const ids = this.#byStudent.get(connection.studentId);
    ids?.delete(connection.id);
    if (ids?.size === 0) this.#byStudent.delete(connection.studentId);
    return Promise.resolve();
  }

  requestClose(connectionId: string): Promise<void> {
    this.#handler(connectionId);
    return Promise.resolve();
  }

  onCloseRequest(handler: CloseRequestHandler): void {
    this.#handler = handler;
  }

  studentConnections(studentId: string): Promise<TrackedConnection[]> {
    const ids = this.#byStudent.get(studentId) ?? new Set<string>();
    return Promise.resolve([...ids].map((id) => this.#byId.get(id)!));
  }

  totals(): Promise<ConnectionTotals> {
    const byInstance: Record<string, number> = {};
    for (const c of this.#byId.values()) {
      byInstance[c.instanceId] = (byInstance[c.instanceId] ?? 0) + 1;
    }
    return Promise.resolve({ total: this.#byId.size, byInstance });
  }
}
