/**
 * Redis going away and coming back, on a private `redis-server` that this test starts and stops by
 * its PID (never the shared one).
 */

import assert from "node:assert/strict";
import { BusUnavailableError, classChannel, type Delivery } from "../../server/bus/bus.ts";
import { feedEvent } from "../../server/events.ts";
import { closeRedisClient, createRedisClient } from "../../server/redis/client.ts";
import { createRedisDeps, type RedisDeps } from "../../server/redis/redis_deps.ts";
import { hasRedisServer, type PrivateRedis, startPrivateRedis, until } from "./support.ts";

const available = hasRedisServer();
const ci = Deno.env.get("CI") === "true";
if (!available && !ci) console.log("skipping Redis fault tests: redis-server is not installed");

function faultTest(name: string, fn: (redis: PrivateRedis) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !available && !ci,
    async fn() {
      if (!available) throw new Error("CI=true but redis-server is not installed");
      const redis = await startPrivateRedis();
      try {
        await fn(redis);
      } finally {
        await redis.stop();
      }
    },
  });
}

function deps(url: string, instanceId: string): RedisDeps {
  return createRedisDeps({
    url,
    prefix: "sse:",
    instanceId,
    connectTimeoutMs: 500,
    commandTimeoutMs: 500,
    maxBackoffMs: 200,
    log: false,
  });
}

const event = (title: string) => ({
  channel: classChannel("c-1"),
  event: feedEvent("notification", { id: title, title, message: "m", severity: "info" }),
});

faultTest(
  "RedisBus fails fast while Redis is down and restores subscriptions after",
  async (server) => {
    const a = deps(server.url, "A");
    const b = deps(server.url, "B");
    try {
      await until(() => a.bus.readiness().ready && b.bus.readiness().ready, 5000, "ready");
      const got: Delivery[] = [];
      const stop = await a.bus.subscribe(classChannel("c-1"), (d) => got.push(d));
      const [before] = await b.bus.publish([event("before")]);
      await until(() => got.length === 1, 3000, "delivery before the outage");

      await server.stop();
      await until(() => !a.bus.readiness().ready, 3000, "readiness to drop");
      assert.match(a.bus.readiness().reason ?? "", /Redis unavailable/);
      const started = Date.now();
      await assert.rejects(b.bus.publish([event("during")]), BusUnavailableError);
      await assert.rejects(a.bus.history([classChannel("c-1")], "0"), BusUnavailableError);
      await assert.rejects(a.bus.subscribe(classChannel("c-2"), () => {}), BusUnavailableError);
      assert.ok(Date.now() - started < 1500, `failed within ${Date.now() - started} ms`);

      await server.start();
      await until(() => a.bus.readiness().ready && b.bus.readiness().ready, 10_000, "ready again");
      // The subscription made before the outage works again, without a restart.
      await until(
        async () => {
          await b.bus.publish([event("after")]);
          return got.some((d) => JSON.parse(d.json).data.title === "after");
        },
        5000,
        "delivery after the restart",
      );
      assert.equal(got.filter((d) => JSON.parse(d.json).data.title === "during").length, 0);
      // This Redis keeps nothing across a restart: a cursor from before cannot be replayed.
      const slice = await a.bus.history([classChannel("c-1")], before);
      assert.equal(slice.complete, false);
      assert.ok((await a.bus.history([classChannel("c-1")], "0")).complete);
      stop();
    } finally {
      await a.close();
      await b.close();
    }
  },
);

faultTest(
  "createRedisDeps() starts while Redis is down and becomes ready when it comes",
  async (server) => {
    await server.stop();
    const a = deps(server.url, "A");
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(a.bus.readiness().ready, false);
      await assert.rejects(a.bus.publish([event("x")]), BusUnavailableError);
      await assert.rejects(a.limiter.hit("s-1"));
      await server.start();
      await until(() => a.bus.readiness().ready, 10_000, "ready");
      const [id] = await a.bus.publish([event("x")]);
      assert.match(id, /^\d+-\d+$/);
      assert.equal((await a.limiter.hit("s-1")).allowed, true);
    } finally {
      await a.close();
    }
  },
);

faultTest(
  "RedisBus catches up on events published while its pub/sub connection was away",
  async (server) => {
    const a = deps(server.url, "A");
    const b = deps(server.url, "B");
    const admin = createRedisClient(server.url, { name: "test:admin", log: false });
    try {
      await until(
        () => a.bus.readiness().ready && b.bus.readiness().ready && admin.status === "ready",
        5000,
        "ready",
      );
      const got: Delivery[] = [];
      const stop = await a.bus.subscribe(classChannel("c-1"), (d) => got.push(d));
      const first = await b.bus.publish([event("e0")]);
      await until(() => got.length === 1, 3000, "first delivery");
      // Cut A's pub/sub connection; B publishes while A reconnects (its backoff is >= 80 ms).
      const clients = (await admin.client("LIST")) as string;
      const line = clients.split("\n").find((l) => l.includes("name=attendance-feed:A:sub"))!;
      await admin.client("KILL", "ID", /id=(\d+)/.exec(line)![1]);
      const missed = await b.bus.publish([event("e1"), event("e2")]);
      const live = await b.bus.publish([event("e3")]);
      await until(() => got.length === 4, 5000, "catch-up");
      assert.deepEqual(got.map((d) => d.id), [...first, ...missed, ...live]);
      stop();
    } finally {
      await closeRedisClient(admin);
      await a.close();
      await b.close();
    }
  },
);

faultTest(
  "RedisBus.publish() gives up after its command timeout when Redis hangs",
  async (server) => {
    const a = deps(server.url, "A");
    const admin = createRedisClient(server.url, { name: "test:admin", log: false });
    try {
      await until(() => a.bus.readiness().ready && admin.status === "ready", 5000, "ready");
      // Redis accepts the connection but answers nothing for a second.
      await admin.client("PAUSE", 1000, "ALL");
      const started = Date.now();
      await assert.rejects(a.bus.publish([event("hung")]), BusUnavailableError);
      const waited = Date.now() - started;
      assert.ok(waited >= 400 && waited < 900, `gave up after ${waited} ms (timeout 500 ms)`);
      await until(
        async () => {
          try {
            return (await a.bus.publish([event("later")])).length === 1;
          } catch {
            return false;
          }
        },
        5000,
        "publishing again",
      );
    } finally {
      await closeRedisClient(admin);
      await a.close();
    }
  },
);
