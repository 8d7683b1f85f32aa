/**
 * The feed's position: the last event id seen, duplicate suppression, and holding events back
 * while a snapshot loads so that the snapshot never overwrites something newer. Pure: no I/O.
 *
 * @module
 */

import { compareEventIds } from "../server/event_id.ts";
import type { FeedMessage } from "./feed_stream.ts";
import type { FeedSnapshot } from "./snapshot.ts";

/** Events held while a snapshot loads; beyond this the oldest are passed on unfiltered. */
export const MAX_HELD = 1000;

/**
 * Passes each new event to `emit` exactly once, in order.
 *
 * @example
 * ```ts
 * const cursor = new FeedCursor((m) => render(m));
 * cursor.hold();                       // snapshot request sent
 * cursor.accept({ id: "5-0", type: "notification", data, timestamp });
 * cursor.release(snapshot);            // emits "5-0" only if the snapshot is older than it
 * ```
 */
export class FeedCursor {
  #emit: (message: FeedMessage) => void;
  #held: FeedMessage[] | null = null;
  /** The id to resume from (`Last-Event-ID`). */
  lastEventId?: string;

  constructor(emit: (message: FeedMessage) => void) {
    this.#emit = emit;
  }

  /** Whether events are being held for a snapshot. */
  get holding(): boolean {
    return this.#held !== null;
  }

  /**
   * Takes an event from the stream (or another tab). Returns false for a duplicate or an event
   * older than the cursor. A `resync` moves the cursor to its id unconditionally: the server says
   * the old cursor is unusable.
   */
  accept(message: FeedMessage): boolean {
    if (message.id) {
      const last = this.lastEventId;
      if (message.type !== "resync" && last && compareEventIds(message.id, last) <= 0) return false;
      this.lastEventId = message.id;
    }
    if (this.#held && message.type !== "resync") {
      if (this.#held.length >= MAX_HELD) this.#safeEmit(this.#held.shift()!);
      this.#held.push(message);
    } else this.#safeEmit(message);
    return true;
  }

  /** Starts holding events back: a snapshot request is on its way. */
  hold(): void {
    this.#held ??= [];
  }

  /**
   * The snapshot arrived (null: the service has none, or it failed): the cursor moves to the
   * snapshot's id if that is newer, and held events newer than the snapshot are emitted.
   */
  release(snapshot: FeedSnapshot | null, onSnapshot?: (s: FeedSnapshot) => void): void {
    const held = this.#held ?? [];
    this.#held = null;
    const after = snapshot?.lastEventId;
    if (snapshot) {
      const last = this.lastEventId;
      if (!last || compareEventIds(snapshot.lastEventId, last) > 0) {
        this.lastEventId = snapshot.lastEventId;
      }
      onSnapshot?.(snapshot);
    }
    for (const message of held) {
      if (!after || !message.id || compareEventIds(message.id, after) > 0) this.#safeEmit(message);
    }
  }

  #safeEmit(message: FeedMessage): void {
    try {
      this.#emit(message);
    } catch (error) {
      // A throwing page handler must not break the feed for the next event.
      console.error("attendance-feed: event handler failed", error);
    }
  }
}
