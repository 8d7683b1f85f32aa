/**
 * A clock whose timers fire only when a test says so: feed-client tests never sleep for timing.
 *
 * @module
 */

import type { Clock } from "../../../widget/feed_client.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** A {@link Clock} driven by the test. */
export class ManualClock implements Clock {
  #now = 1_000_000;
  #next = 1;
  #timers = new Map<number, Timer>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#next++;
    this.#timers.set(id, { id, at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(id: number): void {
    this.#timers.delete(id);
  }

  /** Delays of the pending timers, soonest first. */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.#now).sort((a, b) => a - b);
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    while (true) {
      const due = [...this.#timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at);
      if (due.length === 0) break;
      const timer = due[0];
      this.#timers.delete(timer.id);
      this.#now = timer.at;
      timer.fn();
    }
    this.#now = end;
  }
}
