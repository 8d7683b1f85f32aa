import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { studentChannel } from "../../server/bus/bus.ts";
import { feedEvent } from "../../server/events.ts";
import { RedisKeys } from "../../server/redis/keys.ts";
import { createRedisDeps } from "../../server/redis/redis_deps.ts";
import { redisTest, until } from "./support.ts";

const note = (n: number) =>
  feedEvent("notification", { id: `n${n}`, title: `T${n}`, message: "m", severity: "info" });

redisTest(
  "RedisBus publish(): several events on one channel in one call are all kept, each stream expires",
  async ({ url, prefix }) => {
    const maxAgeMs = 60_000;
    const deps = createRedisDeps({
      url,
      prefix,
      instanceId: "record-test",
      historyMaxAgeMs: maxAgeMs,
      log: false,
    });
    const redis = new Redis(url, {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 2000,
    });
    try {
      await until(() => deps.bus.readiness().ready, 5000, "RedisBus ready");
      const s1 = studentChannel("s-1");
      const s2 = studentChannel("s-2");
      const ids = await deps.bus.publish([
        { channel: s1, event: note(1) },
        { channel: s2, event: note(2) },
        { channel: s1, event: note(3) },
      ]);
      assert.equal(ids.length, 3);
      const keys = new RedisKeys(prefix);
      assert.equal(await redis.xlen(keys.history(s1)), 2);
      assert.equal(await redis.xlen(keys.history(s2)), 1);
      // Maintenance (trim by age, expiry) runs once per stream and call: both streams expire.
      for (const channel of [s1, s2]) {
        const ttl = await redis.pttl(keys.history(channel));
        assert.ok(ttl > maxAgeMs && ttl <= maxAgeMs + 60_000, `${channel} TTL ${ttl}`);
      }
      const slice = await deps.bus.history([s1, s2], "0");
      assert.deepEqual(slice.events.map((e) => e.id), ids);
    } finally {
      redis.disconnect();
      await deps.close();
    }
  },
);
