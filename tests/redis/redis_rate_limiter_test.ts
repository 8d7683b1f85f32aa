import assert from "node:assert/strict";
import { closeRedisClient, createRedisClient } from "../../server/redis/client.ts";
import { RedisKeys } from "../../server/redis/keys.ts";
import { RedisRateLimiter } from "../../server/redis/redis_rate_limiter.ts";
import { redisTest, until, watchCommands } from "./support.ts";

async function limiterOn(url: string, prefix: string, now?: () => number) {
  const redis = createRedisClient(url, { name: "test:limiter", log: false });
  await until(() => redis.status === "ready", 5000, "client ready");
  const limiter = new RedisRateLimiter({ redis, keys: new RedisKeys(prefix), limit: 10, now });
  return { limiter, close: () => closeRedisClient(redis) };
}

redisTest(
  "RedisRateLimiter.hit() holds one limit across two instances",
  async ({ url, prefix }) => {
    const a = await limiterOn(url, prefix);
    const b = await limiterOn(url, prefix);
    try {
      const decisions = [];
      for (let i = 0; i < 12; i++) decisions.push(await (i % 2 ? b : a).limiter.hit("s-1"));
      assert.deepEqual(decisions.map((d) => d.allowed), [...Array(10).fill(true), false, false]);
      assert.ok(decisions[10].retryAfterS >= 1 && decisions[10].retryAfterS <= 60);
      assert.equal((await a.limiter.hit("s-2")).allowed, true, "other students are not affected");
    } finally {
      await a.close();
      await b.close();
    }
  },
);

redisTest("RedisRateLimiter.hit() is atomic under concurrent attempts", async ({ url, prefix }) => {
  const a = await limiterOn(url, prefix);
  const b = await limiterOn(url, prefix);
  try {
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? b : a).limiter.hit("s-1")),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 10);
  } finally {
    await a.close();
    await b.close();
  }
});

redisTest("RedisRateLimiter.hit() slides its window with the clock", async ({ url, prefix }) => {
  let now = 1_000_000;
  const a = await limiterOn(url, prefix, () => now);
  const b = await limiterOn(url, prefix, () => now);
  try {
    for (let i = 0; i < 10; i++) {
      assert.equal((await (i % 2 ? b : a).limiter.hit("s-1")).allowed, true);
      now += 1000;
    }
    // The first attempt (at 1 000 000) leaves the window at 1 060 000; the refused attempt counts
    // too (as in MemoryRateLimiter), so the second one must also have left it.
    assert.deepEqual(await a.limiter.hit("s-1"), { allowed: false, retryAfterS: 50 });
    now = 1_060_001;
    assert.equal((await b.limiter.hit("s-1")).allowed, false);
    now = 1_062_001;
    assert.equal((await b.limiter.hit("s-1")).allowed, true);
  } finally {
    await a.close();
    await b.close();
  }
});

redisTest(
  "RedisRateLimiter.hit(): attempts made together take one script call, decided in order",
  async ({ url, prefix }) => {
    const monitor = await watchCommands(url, prefix);
    const a = await limiterOn(url, prefix);
    try {
      await a.limiter.hit("warm-up");
      await monitor.clearAfterScript();
      // As after one socket read: every request continues from the same resolution.
      const woken = Promise.resolve();
      const decisions = await Promise.all([
        ...Array.from({ length: 12 }, () => woken.then(() => a.limiter.hit("s-1"))),
        woken.then(() => a.limiter.hit("s-2")),
      ]);
      assert.deepEqual(await monitor.settled(), ["evalsha"]);
      // In call order: the first 10 of s-1 fit its window, the last 2 do not; s-2 has its own.
      assert.deepEqual(decisions.map((d) => d.allowed), [
        ...Array(10).fill(true),
        false,
        false,
        true,
      ]);
      assert.ok(decisions[11].retryAfterS >= 1 && decisions[11].retryAfterS <= 60);
    } finally {
      await a.close();
      await monitor.close();
    }
  },
);
