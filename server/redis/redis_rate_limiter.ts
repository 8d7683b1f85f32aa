/**
 * {@link ConnectRateLimiter} over Redis: one sliding window per student, decided by a Lua script,
 * so attempts on every instance count against one limit.
 *
 * @module
 */

import type { ConnectRateLimiter, RateDecision } from "../limits/connect_rate_limiter.ts";
import type { Redis } from "./client.ts";
import type { RedisKeys } from "./keys.ts";
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

type RateCommand = (key: string, ...args: (string | number)[]) => Promise<[number, number]>;

const RATE = "sseConnectRate";

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

  constructor(options: RedisRateLimiterOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#limit = options.limit;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#now = options.now;
    if (!(RATE in this.#redis)) {
      this.#redis.defineCommand(RATE, { lua: RATE_LIMIT_LUA, numberOfKeys: 1 });
    }
  }

  async hit(key: string): Promise<RateDecision> {
    const command = (this.#redis as unknown as Record<string, RateCommand>)[RATE];
    const [allowed, retryAfterS] = await command.call(
      this.#redis,
      this.#keys.connectRate(key),
      this.#now ? this.#now() : -1,
      this.#windowMs,
      this.#limit,
      crypto.randomUUID(),
    );
    return { allowed: allowed === 1, retryAfterS };
  }
}
