/**
 * Keeps the channels' history streams within the retention age, away from the publish path: every
 * few minutes one instance (whichever takes the turn first) trims each stream's entries older than
 * `HISTORY_MAX_AGE_MS` and deletes the streams that hold nothing younger. The event script used to
 * trim and set an expiry on every stream it appended to: two more commands per event, ~15 % of
 * Redis's CPU for a class of 40 (docs/performance-log.md). Readers filter by age themselves
 * (stream_history.ts), so an entry that outlives the age until the next sweep is never replayed.
 *
 * @module
 */

import { describeRedisError, type Redis, type ScriptCommands } from "./client.ts";
import type { RedisKeys } from "./keys.ts";
import { SWEEP_HISTORY_LUA } from "./scripts.ts";

/** What a {@link HistorySweeper} needs. */
export interface HistorySweeperOptions {
  redis: Redis;
  keys: RedisKeys;
  /** This instance's id: the holder of the sweep's turn. */
  instanceId: string;
  /** Entries older than this are dropped (`HISTORY_MAX_AGE_MS`). */
  maxAgeMs: number;
  /** Time between sweeps, across all instances (default 5 minutes). */
  intervalMs?: number;
  /** Log failed sweeps (default true). */
  log?: boolean;
}

/** What one sweep did. */
export interface SweepResult {
  /** History streams looked at. */
  streams: number;
  /** Entries trimmed from streams that keep younger ones. */
  trimmed: number;
  /** Streams deleted: nothing in them was younger than the age. */
  deleted: number;
}

const SWEEP = "sseSweepHistory";
/** Streams per script call: bounds how long one call holds Redis (~1 ms). */
const SWEEP_BATCH = 200;

/**
 * @example
 * ```ts
 * const sweeper = new HistorySweeper({ redis, keys, instanceId, maxAgeMs: 86_400_000 });
 * sweeper.start();
 * // ... on shutdown
 * sweeper.stop();
 * ```
 */
export class HistorySweeper {
  #redis: Redis;
  #keys: RedisKeys;
  #instanceId: string;
  #maxAgeMs: number;
  #intervalMs: number;
  #log: boolean;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<unknown> | null = null;
  #stopped = false;

  constructor(options: HistorySweeperOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#instanceId = options.instanceId;
    this.#maxAgeMs = options.maxAgeMs;
    this.#intervalMs = options.intervalMs ?? 5 * 60_000;
    this.#log = options.log ?? true;
    if (!(SWEEP in this.#redis)) this.#redis.defineCommand(SWEEP, { lua: SWEEP_HISTORY_LUA });
  }

  /** Sweeps every interval (the first after one interval, ±10 %) until {@link stop}. */
  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const next = () => {
      const delay = this.#intervalMs * (0.9 + 0.2 * Math.random());
      this.#timer = setTimeout(() => {
        this.#running = this.sweep().catch((error) => {
          if (this.#log) console.error(`history sweep failed: ${describeRedisError(error)}`);
        }).finally(() => {
          this.#running = null;
          if (!this.#stopped) next();
        });
      }, delay);
    };
    next();
  }

  /** No further sweeps; resolves once one in progress has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /**
   * Sweeps now if this instance takes the turn of the current interval; null when another
   * instance (or this one) already swept within it. Rejects when Redis fails.
   */
  async sweep(): Promise<SweepResult | null> {
    const turn = await this.#redis.set(
      this.#keys.historySweep,
      this.#instanceId,
      "PX",
      // A little under the interval, so that the next turn is free when the next timer fires.
      Math.max(1, Math.floor(this.#intervalMs * 0.8)),
      "NX",
    );
    if (turn !== "OK") return null;
    const result: SweepResult = { streams: 0, trimmed: 0, deleted: 0 };
    const scripts = this.#redis as unknown as ScriptCommands;
    let cursor = "0";
    do {
      const [next, found] = await this.#redis.scan(
        cursor,
        "MATCH",
        this.#keys.historyPattern,
        "COUNT",
        SWEEP_BATCH,
      );
      cursor = next;
      if (found.length === 0) continue;
      const reply = await scripts[SWEEP](found.length, ...found, this.#maxAgeMs);
      const [trimmed, deleted] = reply as number[];
      result.streams += found.length;
      result.trimmed += trimmed;
      result.deleted += deleted;
    } while (cursor !== "0" && !this.#stopped);
    return result;
  }
}
