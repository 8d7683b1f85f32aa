/**
 * When each stream's next heartbeat is due, in time slots, so that pings can go out a few at a
 * time every few milliseconds without looking at every stream each time.
 *
 * Why: every ping is a socket write, and on a small VPS 10,000 streams at a 15 s period are ~670
 * writes a second. Sent by the 250 ms sweep, they came in bursts of ~170 that held the event loop
 * for 5-10 ms each; a mark arriving during one waited for it (mark-to-screen p90 ~11 ms). In slots
 * of 25 ms, a burst is ~17 pings.
 *
 * Two rules keep it that way after the event loop was busy (a school-wide broadcast holds it
 * 100-250 ms, a GC up to tens of ms): a take returns at most a given number of streams, the rest
 * coming out at the next takes; and a ping sent late schedules the next one a period after it was
 * due, not a period after it went out ({@link nextPingTime}). Before, every stream whose ping fell
 * due during a stall was rescheduled to the same instant and stayed bunched with the others ever
 * after: after 100 broadcasts, single ticks of 60-455 pings every ~0.6 s.
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
   * Removes and returns the entries of every slot that has begun by `now`, the earliest first, at
   * most `limit` of them (the others come out first at the next take). An entry may be stale (its
   * stream ended, or was pinged and rescheduled meanwhile): callers check `nextPingAt`.
   */
  takeDue(now: number, limit = Infinity): T[] {
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
      const begun = [...this.#slots.keys()].filter((slot) => slot <= current);
      for (const slot of begun.sort((a, b) => a - b)) take(slot);
    } else {
      for (let slot = from; slot <= current; slot++) take(slot);
    }
    this.#next = current + 1;
    if (due.length <= limit) return due;
    this.#overdue = due.slice(limit);
    due.length = limit;
    return due;
  }
}

/**
 * When a stream's next ping is due, given when this one was due and `now` (when it goes out): a
 * period after it was due, so that pings held back together (a busy event loop, a take's limit)
 * spread out again as they were. A ping more than half a period late starts a new phase, 50-100 %
 * of a period from now, as a new stream's second ping does.
 *
 * @example
 * ```ts
 * nextPingTime(15_000, 15_200, 15_000); // 30_000, not 30_200
 * ```
 */
export function nextPingTime(
  dueAt: number,
  now: number,
  periodMs: number,
  random: () => number = Math.random,
): number {
  if (!pingLongOverdue(dueAt, now, periodMs)) return dueAt + periodMs;
  return freshPingTime(now, periodMs, random);
}

/** True when a ping due at `dueAt` is more than half a period late at `now`. */
export function pingLongOverdue(dueAt: number, now: number, periodMs: number): boolean {
  return now - dueAt > periodMs / 2;
}

/**
 * A ping time in a new phase: 50-100 % of a period from `now`, at random, so that streams given one
 * together (opened at 8 a.m., or all long overdue after a stall) do not heartbeat together after.
 */
export function freshPingTime(
  now: number,
  periodMs: number,
  random: () => number = Math.random,
): number {
  return now + Math.round(periodMs * (0.5 + random() / 2));
}
