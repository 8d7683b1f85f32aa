import assert from "node:assert/strict";
import { closeRedisClient, createRedisClient } from "../../server/redis/client.ts";
import { RedisKeys } from "../../server/redis/keys.ts";
import { RedisConnectionTracker } from "../../server/redis/redis_connection_tracker.ts";
import { RedisSubscriber } from "../../server/redis/subscriber.ts";
import type { TrackedConnection } from "../../server/streams/connection_tracker.ts";
import { redisTest, until, watchCommands } from "./support.ts";

/** A tracker with its own connections, as one instance has. */
async function trackerOn(
  url: string,
  prefix: string,
  instanceId: string,
  now: () => number = Date.now,
) {
  const redis = createRedisClient(url, { name: `test:${instanceId}`, log: false });
  const sub = createRedisClient(url, { name: `test:${instanceId}:sub`, log: false });
  const subscriber = new RedisSubscriber(sub);
  const tracker = new RedisConnectionTracker({
    redis,
    subscriber,
    keys: new RedisKeys(prefix),
    instanceId,
    ttlMs: 300_000,
    now,
  });
  await until(() => redis.status === "ready" && sub.status === "ready", 5000, "clients ready");
  // Its control channel subscribed: a test watching MONITOR sees no SUBSCRIBE of this start.
  await subscriber.whenActive(new RedisKeys(prefix).control(instanceId));
  return {
    tracker,
    redis,
    async close() {
      tracker.dispose();
      subscriber.close();
      await Promise.all([closeRedisClient(redis), closeRedisClient(sub)]);
    },
  };
}

const conn = (id: string, instanceId: string, connectedAt: number, studentId = "s-1") => ({
  id,
  studentId,
  classId: "c-1",
  instanceId,
  connectedAt,
});

redisTest(
  "RedisConnectionTracker.open() caps a student's streams across two instances",
  async ({ url, prefix }) => {
    const a = await trackerOn(url, prefix, "A");
    const b = await trackerOn(url, prefix, "B");
    try {
      const closedOnA: string[] = [];
      const closedOnB: string[] = [];
      a.tracker.onCloseRequest((id) => closedOnA.push(id));
      b.tracker.onCloseRequest((id) => closedOnB.push(id));
      const t0 = Date.now();
      for (let i = 0; i < 5; i++) {
        const side = i % 2 === 0 ? a : b;
        assert.deepEqual(await side.tracker.open(conn(`c${i}`, i % 2 ? "B" : "A", t0 + i), 5), []);
      }
      // The sixth stream (on B) pushes out the oldest (on A), which A is asked to close.
      const evict = await b.tracker.open(conn("c5", "B", t0 + 5), 5);
      assert.deepEqual(evict, ["c0"]);
      await b.tracker.requestClose("c0");
      await until(() => closedOnA.length === 1, 3000, "close request on A");
      assert.deepEqual(closedOnA, ["c0"]);
      assert.deepEqual(closedOnB, []);
      // Same-millisecond streams keep their opening order.
      assert.deepEqual(await a.tracker.open(conn("c6", "A", t0 + 5), 5), ["c1"]);
      const live = (await a.tracker.studentConnections("s-1")).map((c) => c.id).sort();
      assert.deepEqual(live, ["c0", "c2", "c3", "c4", "c5", "c6"].filter((id) => id !== "c0"));
      const totals = await b.tracker.totals();
      assert.equal(totals.total, 7, "evicted streams count until their instance closes them");
      await a.tracker.close(conn("c0", "A", t0));
      await b.tracker.close(conn("c1", "B", t0 + 1));
      await b.tracker.close(conn("c1", "B", t0 + 1)); // idempotent
      assert.deepEqual(await a.tracker.totals(), { total: 5, byInstance: { A: 3, B: 2 } });
    } finally {
      await a.close();
      await b.close();
    }
  },
);

redisTest(
  "RedisConnectionTracker.open() is atomic under concurrent opens on two instances",
  async ({ url, prefix }) => {
    const a = await trackerOn(url, prefix, "A");
    const b = await trackerOn(url, prefix, "B");
    try {
      const t0 = Date.now();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const side = i % 2 ? b : a;
          return side.tracker.open(conn(`c${i}`, i % 2 ? "B" : "A", t0), 5);
        }),
      );
      const evicted = results.flat();
      assert.equal(evicted.length, 15, "each excess stream is evicted exactly once");
      assert.equal(new Set(evicted).size, 15);
      const kept = (await a.tracker.studentConnections("s-1")).map((c) => c.id);
      assert.equal(kept.length, 5);
      assert.ok(kept.every((id) => !evicted.includes(id)));
    } finally {
      await a.close();
      await b.close();
    }
  },
);

redisTest(
  "RedisConnectionTracker entries lapse without heartbeats and stop counting",
  async ({ url, prefix }) => {
    let now = Date.now();
    const a = await trackerOn(url, prefix, "A", () => now);
    const b = await trackerOn(url, prefix, "B", () => now);
    try {
      const keys = new RedisKeys(prefix);
      const c1: TrackedConnection = conn("c1", "A", now);
      const c2: TrackedConnection = conn("c2", "B", now, "s-2");
      await a.tracker.open(c1, 5);
      await b.tracker.open(c2, 5);
      // The operator's view: hash fields, sets, and TTLs of at most 5 minutes.
      const hash = await a.redis.hgetall(keys.connection("c1"));
      assert.equal(hash.who, "s-1");
      assert.equal(hash.class, "c-1");
      assert.equal(hash.instance, "A");
      assert.equal(hash.connectedAt, String(c1.connectedAt));
      assert.ok(Number(hash.lastSeen) > 0);
      assert.deepEqual(await a.redis.smembers(keys.student("s-1")), ["c1"]);
      assert.deepEqual((await a.redis.smembers(keys.class("c-1"))).sort(), ["c1", "c2"]);
      for (const key of [keys.connection("c1"), keys.student("s-1"), keys.class("c-1")]) {
        const ttl = await a.redis.pttl(key);
        assert.ok(ttl > 290_000 && ttl <= 300_000, `${key} ttl ${ttl}`);
      }
      assert.equal((await a.tracker.totals()).total, 2);

      // Four minutes on, only B heartbeats; six minutes on, A's entry has lapsed (A "died").
      now += 240_000;
      await b.tracker.heartbeat([c2]);
      now += 120_000;
      assert.deepEqual(await a.tracker.totals(), { total: 1, byInstance: { B: 1 } });
      assert.deepEqual(await a.tracker.studentConnections("s-1"), []);
      // A lapsed stream does not count against the cap either.
      assert.deepEqual(await b.tracker.open(conn("c3", "B", now), 1), []);

      // A heartbeat re-creates an entry that vanished (e.g. after a long Redis outage).
      await a.redis.del(keys.connection("c2"), keys.student("s-2"));
      await b.tracker.heartbeat([c2]);
      assert.deepEqual((await a.tracker.studentConnections("s-2")).map((c) => c.id), ["c2"]);
    } finally {
      await a.close();
      await b.close();
    }
  },
);

redisTest(
  "RedisConnectionTracker and RedisSubscriber: a connect wave's opens and subscriptions take one command each",
  async ({ url, prefix }) => {
    const monitor = await watchCommands(url, prefix);
    const a = await trackerOn(url, prefix, "A");
    const sub = createRedisClient(url, { name: "test:wave:sub", log: false });
    const subscriber = new RedisSubscriber(sub);
    try {
      await until(() => sub.status === "ready", 5000, "subscriber ready");
      const t0 = Date.now();
      await a.tracker.open(conn("warm-up", "A", t0, "s-0"), 5);
      await monitor.clearAfterScript();
      // As after one socket read: every request continues from the same resolution.
      const woken = Promise.resolve();
      const received: string[] = [];
      const [evictions] = await Promise.all([
        Promise.all(
          Array.from(
            { length: 8 },
            (_, i) => woken.then(() => a.tracker.open(conn(`c${i}`, "A", t0 + i, `s-${i % 2}`), 3)),
          ),
        ),
        Promise.all(
          Array.from(
            { length: 8 },
            (_, i) =>
              woken.then(() => subscriber.subscribe(`${prefix}wave:${i}`, (m) => received.push(m))),
          ),
        ),
      ]);
      assert.deepEqual((await monitor.settled(2)).sort(), ["evalsha", "subscribe"]);
      // In order: s-0 had warm-up + c0, c2, c4, c6 (cap 3), s-1 had c1, c3, c5, c7.
      assert.deepEqual(evictions, [[], [], [], [], ["warm-up"], [], ["c0"], ["c1"]]);
      // Every channel of the batch is live.
      await a.redis.publish(`${prefix}wave:7`, "hello");
      await until(() => received.length === 1, 2000, "message on a batched channel");
    } finally {
      subscriber.close();
      await closeRedisClient(sub);
      await a.close();
      await monitor.close();
    }
  },
);
