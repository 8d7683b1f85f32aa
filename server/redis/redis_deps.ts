/**
 * Builds the Redis-backed bus, connection tracker and rate limiter for one instance: one command
 * connection and one pub/sub connection, both bounded (see client.ts). Returns at once, even while
 * Redis is down: the clients keep reconnecting with backoff, and `bus.readiness()` says why the
 * instance is not ready until they succeed.
 *
 * @module
 */

import { DEFAULT_HISTORY_MAX_AGE_MS } from "../bus/bus.ts";
import { closeRedisClient, createRedisClient, type Redis } from "./client.ts";
import { HistorySweeper } from "./history_sweeper.ts";
import { RedisKeys } from "./keys.ts";
import { RedisBus } from "./redis_bus.ts";
import { RedisConnectionTracker } from "./redis_connection_tracker.ts";
import { RedisRateLimiter } from "./redis_rate_limiter.ts";
import { RedisSubscriber } from "./subscriber.ts";

/** Settings of {@link createRedisDeps}; main.ts passes values from Config. */
export interface RedisDepsOptions {
  /** `redis://` or `rediss://` (TLS) URL, with credentials if needed. */
  url: string;
  /** Key prefix (`REDIS_PREFIX`, default "sse:"). */
  prefix?: string;
  /** This instance's id: tracking entries and close requests name it. */
  instanceId: string;
  historyMaxEvents?: number;
  historyMaxAgeMs?: number;
  /** Connection attempts per student per minute (`CONNECT_RATE_LIMIT`, default 10). */
  connectRateLimit?: number;
  /** Tracking entry lifetime without heartbeat (default 5 minutes). */
  trackingTtlMs?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** Longest wait between reconnect attempts (default 5000 ms). */
  maxBackoffMs?: number;
  /** Log connection state changes (default true). */
  log?: boolean;
}

/** The Redis implementations, plus `close()` that releases both connections. */
export interface RedisDeps {
  /** The shared command connection (for a Redis store: build its keys in keys.ts). */
  redis: Redis;
  /** The pub/sub connection's channels (the bus's live feed, the tracker's control channel). */
  subscriber: RedisSubscriber;
  bus: RedisBus;
  tracker: RedisConnectionTracker;
  limiter: RedisRateLimiter;
  keys: RedisKeys;
  instanceId: string;
  close(): Promise<void>;
}

/**
 * @example
 * ```ts
 * const redis = createRedisDeps({ url: config.redisUrl, prefix: config.redisPrefix, instanceId });
 * // ... new StudentStreams({ bus: redis.bus, tracker: redis.tracker, limiter: redis.limiter, ... })
 * await redis.close();
 * ```
 */
export function createRedisDeps(options: RedisDepsOptions): RedisDeps {
  const bounds = {
    connectTimeoutMs: options.connectTimeoutMs,
    commandTimeoutMs: options.commandTimeoutMs,
    maxBackoffMs: options.maxBackoffMs,
    log: options.log,
  };
  const redis = createRedisClient(options.url, {
    ...bounds,
    name: `attendance-feed:${options.instanceId}`,
  });
  const subscriberClient = createRedisClient(options.url, {
    ...bounds,
    name: `attendance-feed:${options.instanceId}:sub`,
  });
  const subscriber = new RedisSubscriber(subscriberClient);
  const keys = new RedisKeys(options.prefix ?? "sse:");
  // The bus replays, and the sweeper keeps, the same age of history.
  const historyMaxAgeMs = options.historyMaxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS;
  const bus = new RedisBus({
    redis,
    subscriber,
    keys,
    historyMaxEvents: options.historyMaxEvents,
    historyMaxAgeMs,
  });
  const tracker = new RedisConnectionTracker({
    redis,
    subscriber,
    keys,
    instanceId: options.instanceId,
    ttlMs: options.trackingTtlMs,
  });
  const limiter = new RedisRateLimiter({ redis, keys, limit: options.connectRateLimit ?? 10 });
  const sweeper = new HistorySweeper({
    redis,
    keys,
    instanceId: options.instanceId,
    maxAgeMs: historyMaxAgeMs,
    log: options.log,
  });
  // Stopped by close().
  sweeper.start();
  let closing: Promise<void> | undefined;
  return {
    redis,
    subscriber,
    bus,
    tracker,
    limiter,
    keys,
    instanceId: options.instanceId,
    close: () =>
      closing ??= (async () => {
        await sweeper.stop();
        await bus.close();
        tracker.dispose();
        subscriber.close();
        await Promise.all([closeRedisClient(redis), closeRedisClient(subscriberClient)]);
      })(),
  };
}
