/**
 * Serializes marks of the same classes across instances: one Redis lock per class (`SET NX PX`,
 * released only by its holder), taken in sorted order so two marks never wait on each other.
 *
 * @module
 */

import { BusUnavailableError } from "../bus/bus.ts";
import { UnavailableError } from "../errors.ts";
import { describeRedisError, type Redis, type ScriptCommands } from "../redis/client.ts";
import type { RedisKeys } from "../redis/keys.ts";
import { UNLOCK_LUA } from "./redis_store_scripts.ts";

/** Bounds of {@link RedisClassLock}. */
export interface ClassLockOptions {
  /** How long a holder may keep a class (default 10 s): a crashed holder frees it by then. */
  ttlMs?: number;
  /** How long to wait for a class before answering 503 (default 5 s). */
  waitMs?: number;
}

/**
 * The locks one {@link RedisClassLock.run} holds. A caller may release them inside its own
 * transaction (`unlockArgs`, then `released()`), saving the round trip of releasing them after.
 */
export interface HeldLocks {
  /** `[lock key, token]` for each held lock: the arguments of `afUnlock`. */
  readonly unlockArgs: ReadonlyArray<readonly [string, string]>;
  /** Says the locks were released by the caller: `run` then leaves them alone. */
  released(): void;
}

/** The name of the script command that releases one lock (KEYS[1] = lock, ARGV[1] = token). */
export const UNLOCK_COMMAND = "afUnlock";

/**
 * @example
 * ```ts
 * const lock = new RedisClassLock(redis, keys);
 * await lock.run(["c-1"], async () => await readDiffWrite());
 * ```
 */
export class RedisClassLock {
  #redis: Redis;
  #keys: RedisKeys;
  #ttlMs: number;
  #waitMs: number;

  constructor(redis: Redis, keys: RedisKeys, options: ClassLockOptions = {}) {
    this.#redis = redis;
    this.#keys = keys;
    this.#ttlMs = options.ttlMs ?? 10_000;
    this.#waitMs = options.waitMs ?? 5_000;
    if (!(UNLOCK_COMMAND in redis)) {
      redis.defineCommand(UNLOCK_COMMAND, { numberOfKeys: 1, lua: UNLOCK_LUA });
    }
  }

  /**
   * Runs `fn` holding every class's lock; throws UnavailableError (503) when one stays busy.
   * `acquireLast`, when given, takes the last lock instead of a plain `SET NX PX` (resolving true
   * when it did), so that a caller can read what it needs in the same round trip.
   */
  async run<T>(
    classIds: string[],
    fn: (held: HeldLocks) => Promise<T>,
    acquireLast?: (key: string, token: string, ttlMs: number) => Promise<boolean>,
  ): Promise<T> {
    const token = crypto.randomUUID();
    let held: string[] = [];
    try {
      const sorted = [...new Set(classIds)].sort();
      for (const classId of sorted) {
        const key = this.#keys.attendanceLock(classId);
        const acquire = acquireLast && classId === sorted.at(-1)
          ? () => acquireLast(key, token, this.#ttlMs)
          : () => this.#redis.set(key, token, "PX", this.#ttlMs, "NX").then((r) => r === "OK");
        const started = Date.now();
        let attempts = 0;
        while (!(await this.#acquire(acquire))) {
          if (Date.now() > started + this.#waitMs) {
            throw new UnavailableError(`Cannot mark attendance: class ${classId} is busy`, 1);
          }
          // A mark holds a class for a few ms: retry soon, then back off (jittered) to 10-30 ms.
          const spread = Math.min(2 ** attempts, 20);
          await new Promise((resolve) => setTimeout(resolve, spread / 2 + Math.random() * spread));
          attempts++;
        }
        // Sequential marks never wait here (the release is awaited before the answer); a wait
        // means another mark of the class ran at the same time, on this instance or another.
        if (attempts > 0) {
          console.warn(
            `marking: class ${classId} was busy, waited ${
              Date.now() - started
            } ms (${attempts} retries)`,
          );
        }
        held.push(key);
      }
      const heldLocks: HeldLocks = {
        unlockArgs: held.map((key) => [key, token] as const),
        released: () => held = [],
      };
      return await fn(heldLocks);
    } finally {
      const unlock = (this.#redis as unknown as ScriptCommands)[UNLOCK_COMMAND];
      await Promise.all(held.map((key) => unlock.call(this.#redis, key, token).catch(() => {})));
    }
  }

  async #acquire(attempt: () => Promise<boolean>): Promise<boolean> {
    try {
      return await attempt();
    } catch (error) {
      throw new BusUnavailableError(
        `Cannot mark attendance: Redis is unavailable (${describeRedisError(error)})`,
        { cause: error },
      );
    }
  }
}
