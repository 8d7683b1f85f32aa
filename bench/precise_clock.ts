/**
 * The benchmark's clock: epoch milliseconds with sub-millisecond precision, comparable across
 * the processes of a run (the driver stamps a send time into an event, a load worker subtracts it
 * from its receipt time).
 *
 * `performance.timeOrigin + performance.now()` alone is not: `timeOrigin` is the wall clock when
 * the process started, and the wall clock can step while the monotonic clock does not (a VM
 * paused and resumed, NTP). After such a step, a process started before it and one started after
 * it disagree by the step's size. Run `01-16-26` of 2026-12-01 measured its two-instance
 * broadcasts at p50 11.87 s: its VM had been paused mid-run (the kernel logged a VM fork) and the
 * wall clock resumed ahead of the monotonic one; the driver had started before, that suite's load
 * workers after (docs/performance-log.md, thirteenth session). So this clock follows the wall
 * clock: it compares itself with `Date.now()` on every reading and re-anchors when they part.
 *
 * @module
 */

/** How far (ms) the wall clock may be from ours before we re-anchor (`Date.now()` truncates). */
const STEP_MS = 2;

/** The two clocks a {@link PreciseClock} reads; injectable for tests. */
export interface ClockSources {
  /** Wall clock, whole epoch ms (`Date.now`). */
  wall(): number;
  /** Monotonic ms, fractional (`performance.now`). */
  monotonic(): number;
}

const SYSTEM: ClockSources = {
  wall: () => Date.now(),
  monotonic: () => performance.now(),
};

/**
 * @example
 * ```ts
 * const clock = new PreciseClock();
 * const sentAt = clock.now(); // e.g. 1764551234567.891
 * ```
 */
export class PreciseClock {
  #sources: ClockSources;
  /** Epoch ms at monotonic 0. */
  #base: number;
  /** Times the clock re-anchored after the wall clock stepped. */
  steps = 0;

  constructor(sources: ClockSources = SYSTEM) {
    this.#sources = sources;
    this.#base = this.#anchor();
  }

  /** Epoch ms, sub-ms precise. */
  now(): number {
    const monotonic = this.#sources.monotonic();
    const wall = this.#sources.wall();
    // Normally wall − (base + monotonic) lies in (−1, 0]: Date.now() truncates to the ms.
    if (Math.abs(wall - (this.#base + monotonic)) > STEP_MS) {
      this.#base = this.#anchor();
      this.steps++;
      return this.#base + this.#sources.monotonic();
    }
    return this.#base + monotonic;
  }

  /**
   * Waits (at most ~1 ms, spinning) for the wall clock's millisecond to change: at that instant
   * the wall time is exactly the new value, which pins the monotonic clock's epoch to a few µs.
   */
  #anchor(): number {
    const first = this.#sources.wall();
    for (let spins = 0; spins < 1_000_000; spins++) {
      const monotonic = this.#sources.monotonic();
      const wall = this.#sources.wall();
      if (wall !== first) return wall - monotonic;
    }
    // A wall clock that never ticks (a test's, frozen): the best we know.
    return first - this.#sources.monotonic();
  }
}

const processClock = new PreciseClock();

/** Epoch ms with sub-ms precision, comparable across the processes of a run. */
export function preciseNow(): number {
  return processClock.now();
}
