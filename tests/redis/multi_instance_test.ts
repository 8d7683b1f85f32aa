/**
 * Two real service processes (`deno run server/main.ts`) on one Redis act as one service:
 * cross-instance delivery and broadcast, replay across reconnects to either instance, the rate
 * limit and stream cap across instances, and a Redis restart under open streams.
 */

import assert from "node:assert/strict";
import { classChannel, studentChannel } from "../../server/bus/bus.ts";
import { mintToken } from "../../server/auth/token_verifier.ts";
import { feedEvent } from "../../server/events.ts";
import { createRedisDeps } from "../../server/redis/redis_deps.ts";
import { openStream, type TestStream } from "../support/sse_client.ts";
import { type ServiceProcess, spawnService } from "../support/subprocess.ts";
import { TEST_SECRET } from "../support/test_server.ts";
import { hasRedisServer, redisTest, startPrivateRedis, TEST_TLS, until } from "./support.ts";

const TEST_PATH = "/api/students/notifications/test";

async function startPair(url: string, prefix: string, env: Record<string, string> = {}) {
  const common = {
    REDIS_URL: url,
    REDIS_PREFIX: prefix,
    JWT_SECRET: TEST_SECRET,
    HOST: "127.0.0.1",
    ENABLE_TEST_ENDPOINT: "true",
    SHUTDOWN_GRACE_MS: "200",
    ...env,
  };
  const [a, b] = await Promise.all([spawnService(common), spawnService(common)]);
  await Promise.all([a, b].map((s) => until(() => ready(s), 10_000, `${s.url} ready`)));
  return { a, b, stop: () => Promise.all([a.stop(), b.stop()]) };
}

async function ready(service: ServiceProcess): Promise<boolean> {
  const response = await fetch(`${service.url}/readyz`);
  await response.body?.cancel();
  return response.status === 200;
}

const student = (sub: string, classId: string) =>
  mintToken(TEST_SECRET, { sub, role: "student", classId }, 3600);
const teacher = (sub: string, classIds: string[]) =>
  mintToken(TEST_SECRET, { sub, role: "teacher", classIds }, 3600);
const admin = () => mintToken(TEST_SECRET, { sub: "admin-1", role: "admin" }, 3600);

async function post(service: ServiceProcess, token: string, body: Record<string, unknown>) {
  const response = await fetch(service.url + TEST_PATH, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

async function connected(url: string, token: string, lastEventId?: string): Promise<TestStream> {
  const stream = await openStream(url, { token, lastEventId });
  assert.equal(stream.status, 200);
  await stream.waitFor((e) => e.event === "ping");
  return stream;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor(values.length * p))];

redisTest("two instances: delivery, broadcast, replay, limits across processes", async (ctx) => {
  const pair = await startPair(ctx.url, ctx.prefix);
  const { a, b } = pair;
  const streams: TestStream[] = [];
  try {
    // --- A student on B receives what is sent through A, within 100 ms.
    const adminToken = await admin();
    const onB = await connected(b.url, await student("s-1", "c-1"));
    streams.push(onB);
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const sentAt = performance.now();
      const sent = await post(a, adminToken, { testType: "notification", studentId: "s-1" });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      const got = await onB.waitFor((e) => e.id === sent.body.eventId, 2000);
      latencies.push(got.receivedAt - sentAt);
    }
    const [p50, p90, max] = [
      percentile(latencies, 0.5),
      percentile(latencies, 0.9),
      Math.max(...latencies),
    ];
    console.log(
      `cross-instance latency (POST on A -> event on B), ms: p50 ${p50.toFixed(1)}, p90 ${
        p90.toFixed(1)
      }, max ${max.toFixed(1)}`,
    );
    // Every event must arrive within 100 ms; on a loaded CI machine allow the odd scheduling hiccup.
    assert.ok(p90 < 100, `p90 ${p90} ms`);
    assert.ok(max < 1000, `max ${max} ms`);

    // --- A class broadcast through A reaches all 40 students over A and B, and no other class.
    const classmates = await Promise.all(
      Array.from(
        { length: 40 },
        async (_, i) => connected(i % 2 ? b.url : a.url, await student(`c40-s${i}`, "c-40")),
      ),
    );
    const others = await Promise.all(
      Array.from(
        { length: 6 },
        async (_, i) => connected(i % 2 ? b.url : a.url, await student(`oth-s${i}`, "c-other")),
      ),
    );
    streams.push(...classmates, ...others);
    const teacherToken = await teacher("t-1", ["c-40"]);
    const broadcastAt = performance.now();
    const broadcast = await post(a, teacherToken, {
      testType: "class_broadcast",
      classId: "c-40",
      title: "Trip",
    });
    assert.equal(broadcast.status, 200);
    const arrivals = await Promise.all(
      classmates.map((s) => s.waitFor((e) => e.id === broadcast.body.eventId)),
    );
    const lastArrival = Math.max(...arrivals.map((e) => e.receivedAt)) - broadcastAt;
    console.log(
      `class broadcast through A: all 40 students (A and B) within ${lastArrival.toFixed(1)} ms`,
    );
    const marker = await post(b, await teacher("t-2", ["c-other"]), {
      testType: "class_broadcast",
      classId: "c-other",
    });
    await Promise.all(others.map((s) => s.waitFor((e) => e.id === marker.body.eventId)));
    for (const s of others) assert.ok(!s.events.some((e) => e.id === broadcast.body.eventId));
    const info = await (await fetch(a.url + TEST_PATH, {
      headers: { authorization: `Bearer ${adminToken}` },
    })).json();
    assert.equal(info.total.total, 47);
    assert.equal(Object.keys(info.total.byInstance).length, 2);

    // --- Drop and reconnect (alternating instances) while a few hundred events flow.
    const sender = createRedisDeps({
      url: ctx.url,
      prefix: ctx.prefix,
      instanceId: "sender",
      log: false,
    });
    try {
      await until(() => sender.bus.readiness().ready, 5000, "sender ready");
      const token = await student("s-r", "c-r");
      const sent: string[] = [];
      let sending = true;
      let stream = await connected(a.url, token);
      const flow = (async () => {
        for (let i = 0; i < 300; i++) {
          const channel = i % 3 === 0 ? classChannel("c-r") : studentChannel("s-r");
          const event = feedEvent("notification", {
            id: `n${i}`,
            title: `#${i}`,
            message: "m",
            severity: "info",
          });
          sent.push(...await sender.bus.publish([{ channel, event }]));
          if (i % 5 === 0) await new Promise((r) => setTimeout(r, 3));
        }
        sending = false;
      })();
      const seen: string[] = [];
      let hops = 0;
      while (true) {
        const from = stream.events.length;
        await until(
          () =>
            stream.events.slice(from).filter((e) => e.id).length >= 50 ||
            (!sending && stream.events.some((e) => e.id === sent.at(-1))),
          10_000,
          "events on the current connection",
        );
        await stream.close();
        const ids = stream.events.filter((e) => e.id).map((e) => e.id!);
        assert.ok(!stream.events.some((e) => e.event === "resync"));
        seen.push(...ids);
        if (!sending && seen.at(-1) === sent.at(-1)) break;
        hops++;
        stream = await connected(hops % 2 ? b.url : a.url, token, seen.at(-1) ?? "0");
      }
      await flow;
      console.log(`replay: 300 events over ${hops + 1} connections alternating A and B`);
      assert.ok(hops >= 3, `reconnected ${hops} times while events flowed`);
      assert.equal(seen.length, 300);
      assert.deepEqual(seen, sent, "the union equals what was sent, in order, once each");
    } finally {
      await sender.close();
    }

    // --- The connection rate limit holds across instances.
    const limited = await student("s-rl", "c-1");
    for (let i = 0; i < 10; i++) {
      const s = await connected(i % 2 ? b.url : a.url, limited);
      await s.close();
    }
    for (const service of [a, b]) {
      const refused = await openStream(service.url, { token: limited });
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    }

    // --- The per-student stream cap holds across instances: the oldest, on A, is replaced.
    const capped = await student("s-cap", "c-1");
    const five: TestStream[] = [];
    for (let i = 0; i < 5; i++) five.push(await connected(i % 2 ? b.url : a.url, capped));
    streams.push(...five);
    const sixth = await connected(b.url, capped);
    streams.push(sixth);
    const close = await five[0].waitFor((e) => e.event === "close", 3000);
    assert.deepEqual(close.envelope.data, { reason: "replaced", reconnect: false });
    await five[0].ended;
    for (const s of five.slice(1)) assert.ok(!s.hasEnded());
  } finally {
    await Promise.all(streams.map((s) => s.close()));
    await pair.stop();
  }
});

const privateRedis = hasRedisServer();
const ci = Deno.env.get("CI") === "true";

Deno.test({
  name: "two instances: a Redis restart under open streams",
  ignore: !privateRedis && !ci,
  async fn() {
    if (!privateRedis) throw new Error("CI=true but redis-server is not installed");
    const redis = await startPrivateRedis();
    const pair = await startPair(redis.url, "sse:", { HEARTBEAT_MS: "200" });
    const { a, b } = pair;
    const streams: TestStream[] = [];
    try {
      const teacherToken = await teacher("t-1", ["c-1"]);
      const xToken = await student("s-x", "c-1");
      const onA = await connected(a.url, xToken);
      const onB = await connected(b.url, await student("s-y", "c-1"));
      streams.push(onA, onB);

      await redis.stop();
      await until(async () => !(await ready(a)) && !(await ready(b)), 5000, "readyz 503");
      const readyz = await (await fetch(a.url + "/readyz")).json();
      assert.match(readyz.error, /Redis unavailable/);
      assert.equal((await fetch(a.url + "/healthz").then((r) => r.json())).status, "ok");
      const refused = await post(a, xToken, { testType: "notification" });
      assert.equal(refused.status, 503);
      assert.match(refused.body.error, /unavailable/i);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      // Streams stay open and keep their heartbeats while Redis is away.
      for (const s of [onA, onB]) {
        const from = s.events.length;
        await s.waitFor((e) => e.event === "ping", 2000, from);
        await s.waitFor((e) => e.event === "ping", 2000, from + 1);
        assert.ok(!s.hasEnded());
      }

      await redis.start();
      await until(async () => (await ready(a)) && (await ready(b)), 15_000, "readyz 200");
      const sent = await post(a, teacherToken, { testType: "class_broadcast", classId: "c-1" });
      assert.equal(sent.status, 200);
      for (const s of [onA, onB]) await s.waitFor((e) => e.id === sent.body.eventId);

      // A client that reconnects recovers what it missed through replay.
      await onB.close();
      const missed = await post(a, teacherToken, { testType: "class_broadcast", classId: "c-1" });
      const again = await connected(a.url, await student("s-y", "c-1"), sent.body.eventId);
      streams.push(again);
      await again.waitFor((e) => e.id === missed.body.eventId);
      assert.deepEqual(again.events.filter((e) => e.id).map((e) => e.id), [missed.body.eventId]);
    } finally {
      await Promise.all(streams.map((s) => s.close()));
      await pair.stop();
      await redis.stop();
    }
  },
});

Deno.test({
  name: "an instance starts while Redis is down, reports it, and recovers when Redis comes",
  ignore: !privateRedis && !ci,
  async fn() {
    if (!privateRedis) throw new Error("CI=true but redis-server is not installed");
    const redis = await startPrivateRedis();
    await redis.stop();
    const service = await spawnService({
      REDIS_URL: redis.url,
      JWT_SECRET: TEST_SECRET,
      HOST: "127.0.0.1",
      ENABLE_TEST_ENDPOINT: "true",
      SHUTDOWN_GRACE_MS: "200",
    });
    try {
      const readyz = await fetch(service.url + "/readyz");
      assert.equal(readyz.status, 503);
      assert.match((await readyz.json()).error, /Redis unavailable/);
      assert.equal((await fetch(service.url + "/healthz").then((r) => r.json())).status, "ok");
      await until(() => /\[redis .*\] unavailable: .*ECONNREFUSED/.test(service.output()), 5000);
      const token = await student("s-1", "c-1");
      const refused = await openStream(service.url, { token });
      assert.equal(refused.status, 503);

      await redis.start();
      await until(() => ready(service), 15_000, "readyz 200");
      const stream = await connected(service.url, token);
      const sent = await post(service, token, { testType: "notification" });
      assert.equal(sent.status, 200);
      await stream.waitFor((e) => e.id === sent.body.eventId);
      await stream.close();
    } finally {
      await service.stop();
      await redis.stop();
    }
  },
});

Deno.test({
  name: "an instance on rediss:// with a password (as on Deno Deploy) never logs the secret",
  ignore: !privateRedis && !ci,
  async fn() {
    if (!privateRedis) throw new Error("CI=true but redis-server is not installed");
    const password = `pw-${crypto.randomUUID()}`;
    const redis = await startPrivateRedis({ tls: TEST_TLS, password });
    assert.match(redis.url, /^rediss:\/\//);
    const service = await spawnService({
      REDIS_URL: redis.url,
      DENO_CERT: TEST_TLS.caFile,
      JWT_SECRET: TEST_SECRET,
      HOST: "127.0.0.1",
      ENABLE_TEST_ENDPOINT: "true",
      SHUTDOWN_GRACE_MS: "200",
    });
    try {
      await until(() => ready(service), 10_000, "readyz 200 over TLS");
      const token = await student("s-1", "c-1");
      const stream = await connected(service.url, token);
      const sent = await post(service, token, { testType: "notification" });
      assert.equal(sent.status, 200);
      await stream.waitFor((e) => e.id === sent.body.eventId);
      await stream.close();
      // Redis goes away and comes back: the logs name the problem, never the password.
      await redis.stop();
      await until(async () => !(await ready(service)), 5000, "readyz 503");
      await redis.start();
      await until(() => ready(service), 15_000, "readyz 200 again");
    } finally {
      await service.stop();
      await redis.stop();
    }
    assert.match(service.output(), /\[redis .*\] connection lost, reconnecting/);
    assert.ok(!service.output().includes(password), "the password never reaches the logs");
  },
});
