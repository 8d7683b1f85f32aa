/**
 * How steadily this machine runs a fixed piece of CPU work: measured before each server's suite,
 * while nothing else of the benchmark runs. On a shared or nested VM the same half millisecond of
 * work sometimes takes ten times longer (the host runs something else on the vCPU, and the guest's
 * steal counter does not see it); every process of a round is slowed alike, so a latency p99 cannot
 * be better than the machine's. This makes that visible beside the figures it bounds.
 *
 * @module
 */

/** The spread of one fixed unit of work's duration. */
export interface Steadiness {
  /** Units measured. */
  units: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of units that took more than twice the median, 0..1. */
  slowShare: number;
}

/**
 * The spread of `durationsMs` (one unit of work each).
 *
 * @example
 * ```ts
 * summarizeSteadiness([0.5, 0.5, 0.6, 3]); // { units: 4, p50Ms: 0.5, p99Ms: 0.6, maxMs: 3, slowShare: 0.25 }
 * ```
 */
export function summarizeSteadiness(durationsMs: readonly number[]): Steadiness {
  if (durationsMs.length === 0) throw new Error("Cannot summarize no durations");
  const sorted = [...durationsMs].sort((a, b) => a - b);
  // Nearest rank below: with few units the p99 is not simply the maximum.
  const at = (q: number) => sorted[Math.floor(q * (sorted.length - 1))];
  const p50Ms = at(0.5);
  return {
    units: sorted.length,
    p50Ms,
    p99Ms: at(0.99),
    maxMs: sorted[sorted.length - 1],
    slowShare: sorted.filter((d) => d > 2 * p50Ms).length / sorted.length,
  };
}

/** Integer arithmetic the JIT cannot drop (its result is kept in {@link sink}). */
function spin(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0;
  return x;
}

let sink = 0;

/**
 * One unit of work, timed. Calibration and measurement both call this one function: timed from
 * two call sites, V8 compiled them differently, and a unit calibrated at 0.5 ms ran for 3 ms.
 */
function timedUnit(iterations: number): number {
  const t = performance.now();
  sink ^= spin(iterations);
  return performance.now() - t;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs ~`workMs` of CPU every `gapMs` for `seconds` and summarizes how long each unit took. The
 * gap lets the vCPU go idle between units, as it does between a benchmark's rounds.
 *
 * @example
 * ```ts
 * const steadiness = await probeSteadiness(5);
 * console.log(`0.5 ms of work: p99 ${steadiness.p99Ms} ms`);
 * ```
 */
export async function probeSteadiness(
  seconds: number,
  workMs = 0.5,
  gapMs = 10,
): Promise<Steadiness> {
  // Calibrated until the quickest of a few back-to-back units is within 10 % of `workMs` (the
  // quickest, because the slow ones are what is being measured).
  let iterations = 100_000;
  const warm = performance.now() + 300;
  while (performance.now() < warm) timedUnit(iterations);
  for (let round = 0; round < 5; round++) {
    let best = Infinity;
    for (let k = 0; k < 20; k++) best = Math.min(best, timedUnit(iterations));
    const scale = workMs / Math.max(best, 1e-3);
    iterations = Math.max(1, Math.round(iterations * scale));
    if (Math.abs(scale - 1) < 0.1) break;
  }
  const durations: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    durations.push(timedUnit(iterations));
    await sleep(gapMs);
  }
  // Keeps `sink` alive so the loop is not optimized away.
  if (sink === 0.5) console.log("");
  return summarizeSteadiness(durations);
}

/** One line for a run's log, e.g. "0.5 ms of work: p50 0.52, p99 6.30, max 7.4 ms; 6.5 % over 2x". */
export function describeSteadiness(s: Steadiness): string {
  return `0.5 ms of work: p50 ${s.p50Ms.toFixed(2)}, p99 ${s.p99Ms.toFixed(2)}, max ${
    s.maxMs.toFixed(1)
  } ms; ${(s.slowShare * 100).toFixed(1)} % over 2x the median (${s.units} units)`;
}
