/**
 * When each stream's next heartbeat is due, in time slots, so that pings can go out a few at a
 * time every few milliseconds without looking at every stream each time.
 *
 * Why: every ping is a socket write, and on a small VPS 10,000 streams at a 15 s period are ~670
 * writes a second. Sent by the 250 ms sweep, they came in bursts of ~170 that held the event loop
 * for 5-10 ms each; a mark arriving during one waited for it (mark-to-screen p90 ~11 ms). In slots
 * of 25 ms, a burst is ~17 pings.
 *
 * @module
 */

/** What the schedule needs of a stream. */
export interface Scheduled {
  readonly nextPingAt: number;
}

/**
 * @example
 * ```ts
 * const schedule = new PingSchedule<SseConnection>(25);
 * schedule.add(connection); // after setting connection.nextPingAt
 * for (const due of schedule.takeDue(Date.now())) ping(due);
 * ```
 */
export class PingSchedule<T extends Scheduled> {
  readonly slotMs: number;
  #slots = new Map<number, T[]>();
  /** The first slot not taken yet; null before the first take. */
  #next: number | null = null;
  #overdue: T[] = [];

  constructor(slotMs: number) {
    this.slotMs = slotMs;
  }

  /** Streams entered and not taken yet (a stream rescheduled before its slot counts twice). */
  get size(): number {
    let n = this.#overdue.length;
    for (const list of this.#slots.values()) n += list.length;
    return n;
  }

  /** Enters `item` in the slot of its current `nextPingAt`. */
  add(item: T): void {
    const slot = Math.floor(item.nextPingAt / this.slotMs);
    if (this.#next !== null && slot < this.#next) {
      this.#overdue.push(item); // its slot was taken already: out at the next take
      return;
    }
    const list = this.#slots.get(slot);
    if (list) list.push(item);
    else this.#slots.set(slot, [item]);
  }

  /**
   * Removes and returns the entries of every slot that has begun by `now`. An entry may be stale
   * (its stream ended, or was pinged and rescheduled meanwhile): callers check `nextPingAt`.
   */
  takeDue(now: number): T[] {
    const current = Math.floor(now / this.slotMs);
    const due = this.#overdue;
    this.#overdue = [];
    const take = (slot: number) => {
      const list = this.#slots.get(slot);
      if (!list) return;
      this.#slots.delete(slot);
      for (const item of list) due.push(item);
    };
    const from = this.#next ?? current;
    // After a long pause (a suspended process), walking slot by slot would take long: look at the
    // slots that exist instead.
    if (this.#next === null || current - from > this.#slots.size) {
      for (const slot of [...this.#slots.keys()]) if (slot <= current) take(slot);
    } else {
      for (let slot = from; slot <= current; slot++) take(slot);
    }
    this.#next = current + 1;
    return due;
  }
}
