/**
 * Connection-attempt rate limiting per student (a sliding window of one minute).
 *
 * @module
 */

/** Outcome of one attempt. */
export interface RateDecision {
  allowed: boolean;
  /** Seconds until an attempt would be allowed again (0 when allowed). */
  retryAfterS: number;
}

/**
 * Contract: `hit` counts the attempt (allowed or not) and decides atomically, so concurrent
 * attempts on any number of instances never exceed `limit` per window in total.
 */
export interface ConnectRateLimiter {
  hit(key: string): Promise<RateDecision>;
}

/** Window arithmetic shared by the implementations: pure. */
export function decide(
  attempts: number[],
  nowMs: number,
  limit: number,
  windowMs: number,
): RateDecision {
  const inWindow = attempts.filter((t) => t > nowMs - windowMs);
  if (inWindow.length < limit) return { allowed: true, retryAfterS: 0 };
  const oldest = inWindow[inWindow.length - limit];
  return {
    allowed: false,
    retryAfterS: Math.max(1, Math.ceil((oldest + windowMs - nowMs) / 1000)),
  };
}

/**
 * In-process limiter: a bounded log of attempt times per key.
 *
 * @example
 * ```ts
 * const limiter = new MemoryRateLimiter({ limit: 10, windowMs: 60_000 });
 * (await limiter.hit("s-1")).allowed; // true
 * ```
 */
export class MemoryRateLimiter implements ConnectRateLimiter {
  #log = new Map<string, number[]>();
  #limit: number;
  #windowMs: number;
  #now: () => number;
  #sweptAt = 0;

  constructor(options: { limit: number; windowMs?: number; now?: () => number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  hit(key: string): Promise<RateDecision> {
    const now = this.#now();
    this.#sweep(now);
    const attempts = (this.#log.get(key) ?? []).filter((t) => t > now - this.#windowMs);
    const decision = decide(attempts, now, this.#limit, this.#windowMs);
    attempts.push(now);
    // Keep only what a decision can look at: the log never grows past the limit.
    this.#log.set(key, attempts.slice(-this.#limit));
    return Promise.resolve(decision);
  }

  /** Forgets keys idle for a whole window, at most once per window. */
  #sweep(now: number): void {
    if (now - this.#sweptAt < this.#windowMs) return;
    this.#sweptAt = now;
    for (const [key, attempts] of this.#log) {
      if (attempts[attempts.length - 1] <= now - this.#windowMs) this.#log.delete(key);
    }
  }
}
