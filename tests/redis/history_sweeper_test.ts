/**
 * The history sweeper on the real Redis: entries older than the age are trimmed, streams with
 * nothing younger are deleted, everything else is left alone; one sweep per interval across
 * instances; a started sweeper sweeps by itself and stops.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { HistorySweeper } from "../../server/redis/history_sweeper.ts";
import { RedisKeys } from "../../server/redis/keys.ts";
import { redisTest, until } from "./support.ts";

const MAX_AGE_MS = 60_000;

function client(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000 });
}

/** Appends entries with ids at `ms`, `ms`+1, ... (explicit ids: ages made to measure). */
async function append(redis: Redis, key: string, ms: number, count: number): Promise<void> {
  const pipeline = redis.pipeline();
  for (let k = 0; k < count; k++) pipeline.xadd(key, `${ms + k}-0`, "t", "notification", "d", "{}");
  await pipeline.exec();
}

/** Redis's clock, in ms: the one event ids and the sweep's age are measured on. */
async function redisNow(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

redisTest(
  "HistorySweeper: trims entries older than the age, deletes streams with nothing younger, leaves the rest",
  async ({ url, prefix }) => {
    const redis = client(url);
    const keys = new RedisKeys(prefix);
    const sweeper = new HistorySweeper({
      redis,
      keys,
      instanceId: "sweep-a",
      maxAgeMs: MAX_AGE_MS,
    });
    try {
      const now = await redisNow(redis);
      const old = now - 2 * MAX_AGE_MS;
      const stale = keys.history("student:stale");
      const mixed = keys.history("class:mixed");
      const fresh = keys.history("student:fresh");
      // 150 old entries: the first 100 fill one stream node, which `MINID ~` drops whole.
      await append(redis, mixed, old, 150);
      await append(redis, mixed, now - 1000, 2);
      await append(redis, stale, old, 3);
      await append(redis, fresh, now - 1000, 1);
      // As versions before the sweeper left it: a TTL from an append, too short for later events.
      await redis.pexpire(fresh, 120_000);
      await redis.set(keys.lastEventId, `${now}-0`);
      // Matches the pattern's shape but is not a stream: not ours to delete.
      const notStream = keys.history("odd");
      await redis.set(notStream, "x");

      const result = await sweeper.sweep();
      assert.ok(result, "took the turn");
      assert.equal(result.streams, 4);
      assert.equal(result.deleted, 1);
      assert.equal(result.trimmed, 100);

      assert.equal(await redis.exists(stale), 0, "nothing younger than the age: deleted");
      const left = await redis.xrange(mixed, "-", "+");
      assert.equal(left.length, 52);
      assert.equal(left.at(-1)![0], `${now - 1000 + 1}-0`, "the young entries stay");
      assert.equal(await redis.xlen(fresh), 1);
      assert.equal(await redis.pttl(fresh), -1, "a kept stream loses an old version's TTL");
      assert.equal(await redis.get(notStream), "x");
      assert.equal(await redis.get(keys.lastEventId), `${now}-0`);
    } finally {
      await sweeper.stop();
      redis.disconnect();
    }
  },
);

redisTest(
  "HistorySweeper: one sweep per interval across instances; a started sweeper sweeps by itself",
  async ({ url, prefix }) => {
    const redis = client(url);
    const keys = new RedisKeys(prefix);
    const options = { redis, keys, maxAgeMs: MAX_AGE_MS, log: false };
    const a = new HistorySweeper({ ...options, instanceId: "sweep-a", intervalMs: 60_000 });
    const b = new HistorySweeper({ ...options, instanceId: "sweep-b", intervalMs: 60_000 });
    const timed = new HistorySweeper({ ...options, instanceId: "sweep-c", intervalMs: 100 });
    try {
      assert.ok(await a.sweep(), "the first instance takes the turn");
      assert.equal(await b.sweep(), null, "the other instance skips this interval");
      assert.equal(await a.sweep(), null, "so does the first, until the interval has passed");
      assert.equal(await redis.get(keys.historySweep), "sweep-a");

      await redis.del(keys.historySweep);
      const stale = keys.history("student:stale");
      await append(redis, stale, (await redisNow(redis)) - 2 * MAX_AGE_MS, 2);
      timed.start();
      await until(async () => (await redis.exists(stale)) === 0, 5000, "swept by its timer");
    } finally {
      await Promise.all([a.stop(), b.stop(), timed.stop()]);
      redis.disconnect();
    }
  },
);
