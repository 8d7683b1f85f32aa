/**
 * {@link ConnectRateLimiter} over Redis: one sliding window per student, decided by a Lua script,
 * so attempts on every instance count against one limit. Attempts made together (a connect wave)
 * are decided by one script call.
 *
 * @module
 */

import type { ConnectRateLimiter, RateDecision } from "../limits/connect_rate_limiter.ts";
import type { Redis, ScriptCommands } from "./client.ts";
import type { RedisKeys } from "./keys.ts";
import { TurnBatch } from "./turn_batch.ts";
import { RATE_LIMIT_LUA } from "./scripts.ts";

/** What a RedisRateLimiter needs. */
export interface RedisRateLimiterOptions {
  redis: Redis;
  keys: RedisKeys;
  /** Attempts allowed per window. */
  limit: number;
  /** Default 60 000 ms. */
  windowMs?: number;
  /** Clock for tests; by default Redis's own clock decides (one clock for every instance). */
  now?: () => number;
}

const RATE = "sseConnectRates";
/** Most attempts per script call: each holds Redis a few µs, and keys travel as arguments. */
const MAX_BATCH = 200;

/**
 * @example
 * ```ts
 * const limiter = new RedisRateLimiter({ redis, keys, limit: 10 });
 * (await limiter.hit("s-1")).allowed; // true
 * ```
 */
export class RedisRateLimiter implements ConnectRateLimiter {
  #redis: Redis;
  #keys: RedisKeys;
  #limit: number;
  #windowMs: number;
  #now?: () => number;
  #attempts: TurnBatch<string, RateDecision>;

  constructor(options: RedisRateLimiterOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#limit = options.limit;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#now = options.now;
    if (!(RATE in this.#redis)) {
      // Key count first (numberOfKeys unset): a batch names as many windows as it has attempts.
      this.#redis.defineCommand(RATE, { lua: RATE_LIMIT_LUA });
    }
    this.#attempts = new TurnBatch((keys) => this.#decide(keys), MAX_BATCH);
  }

  hit(key: string): Promise<RateDecision> {
    return this.#attempts.add(key);
  }

  async #decide(keys: string[]): Promise<RateDecision[]> {
    const flat = await (this.#redis as unknown as ScriptCommands)[RATE](
      keys.length,
      ...keys.map((key) => this.#keys.connectRate(key)),
      this.#now ? this.#now() : -1,
      this.#windowMs,
      this.#limit,
      ...keys.map(() => crypto.randomUUID()),
    ) as number[];
    return keys.map((_, i) => ({ allowed: flat[2 * i] === 1, retryAfterS: flat[2 * i + 1] }));
  }
}
