/**
 * Reconnect delays: exponential from a base (1 s, or the server's `retry:`), doubling per failed
 * attempt, capped at 30 s, with ±20 % jitter so that a classroom of widgets that lost the same
 * server does not come back in one synchronized wave.
 *
 * @module
 */

/** Options of {@link nextDelay}. */
export interface BackoffOptions {
  /** Delay before the first retry; the server's `retry:` value when it sent one. Default 1000. */
  baseMs?: number;
  /** Upper bound of the un-jittered delay. Default 30 000. */
  maxMs?: number;
  /** Jitter as a fraction of the delay: the result lies in [d·(1−j), d·(1+j)]. Default 0.2. */
  jitter?: number;
  /** A number in [0, 1); injected by tests. Default `Math.random`. */
  random?: () => number;
}

/** Default cap of a reconnect delay, in ms. */
export const MAX_DELAY_MS = 30_000;

/**
 * Delay before reconnect attempt `attempt` (0 = the first retry after a drop).
 * The un-jittered delays are base·2ⁿ capped at `maxMs` (1, 2, 4, 8, 16, 30, 30 … s); jitter then
 * spreads each by ±20 %, and the result never exceeds `maxMs`.
 *
 * @example
 * ```ts
 * nextDelay(0, { random: () => 0.5 }); // 1000
 * nextDelay(4, { random: () => 0.5 }); // 16000
 * nextDelay(9, { random: () => 0.5 }); // 30000
 * ```
 */
export function nextDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = Math.max(0, options.baseMs ?? 1000);
  const max = options.maxMs ?? MAX_DELAY_MS;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
  const random = options.random ?? Math.random;
  const n = Math.max(0, Math.floor(attempt));
  // 2 ** 31 already exceeds any sane cap; clamping the exponent keeps the arithmetic finite.
  const raw = Math.min(max, base * 2 ** Math.min(n, 31));
  const spread = raw * jitter * (2 * random() - 1);
  return Math.round(Math.min(max, Math.max(0, raw + spread)));
}
