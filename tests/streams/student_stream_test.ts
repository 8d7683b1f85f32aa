import assert from "node:assert/strict";
import { openStream } from "../support/sse_client.ts";
import { eventually, getJson, postJson, startTestServer } from "../support/test_server.ts";

const TEST_PATH = "/api/students/notifications/test";

Deno.test("stream: headers, retry, first ping with connectionId, then live events", async () => {
  await using server = await startTestServer();
  const token = await server.student("s-1", "c-1");
  const stream = await openStream(server.url, { token });
  assert.equal(stream.status, 200);
  assert.match(stream.headers.get("content-type")!, /^text\/event-stream/);
  assert.equal(stream.headers.get("cache-control"), "no-cache");
  assert.equal(stream.headers.get("x-accel-buffering"), "no");
  const ping = await stream.waitFor((e) => e.event === "ping");
  assert.equal(stream.events[0].event, "ping");
  assert.equal(stream.retry, 1000);
  assert.equal(ping.id, undefined);
  assert.equal(typeof ping.envelope.data.connectionId, "string");
  assert.equal(ping.envelope.data.heartbeatMs, 15000);

  for (const testType of ["attendance_update", "metrics_update", "notification"]) {
    const sent = await postJson(server.url + TEST_PATH, token, { testType });
    assert.equal(sent.status, 200);
    const event = await stream.waitFor((e) => e.id === sent.body.eventId);
    assert.equal(event.event, testType);
    assert.equal(event.envelope.type, testType);
    assert.ok(!Number.isNaN(Date.parse(event.envelope.timestamp)));
  }
  await stream.close();
});

Deno.test("stream: a class broadcast reaches the class and no other class", async () => {
  await using server = await startTestServer();
  const inClass = await Promise.all(
    ["a", "b", "c"].map(async (s) =>
      openStream(server.url, { token: await server.student(s, "c-1") })
    ),
  );
  const other = await openStream(server.url, { token: await server.student("z", "c-2") });
  for (const stream of [...inClass, other]) await stream.waitFor((e) => e.event === "ping");
  const sent = await postJson(server.url + TEST_PATH, await server.teacher("t-1", ["c-1"]), {
    testType: "class_broadcast",
    classId: "c-1",
  });
  assert.equal(sent.status, 200);
  for (const stream of inClass) await stream.waitFor((e) => e.id === sent.body.eventId);
  // The other class's stream is still live and got nothing but pings.
  const check = await postJson(server.url + TEST_PATH, await server.student("z", "c-2"), {
    testType: "notification",
  });
  await other.waitFor((e) => e.id === check.body.eventId);
  assert.deepEqual(other.events.filter((e) => e.id === sent.body.eventId), []);
  for (const stream of [...inClass, other]) await stream.close();
});

Deno.test("stream: a teacher of another class cannot broadcast (403)", async () => {
  await using server = await startTestServer();
  const sent = await postJson(server.url + TEST_PATH, await server.teacher("t-1", ["c-9"]), {
    testType: "class_broadcast",
    classId: "c-1",
  });
  assert.equal(sent.status, 403);
  assert.match(String(sent.body.error), /teachers and admins/);
  const student = await postJson(server.url + TEST_PATH, await server.student("s", "c-1"), {
    testType: "class_broadcast",
    classId: "c-1",
  });
  assert.equal(student.status, 403);
  const admin = await postJson(server.url + TEST_PATH, await server.admin(), {
    testType: "class_broadcast",
    classId: "c-1",
  });
  assert.equal(admin.status, 200);
});

Deno.test("stream: the connection count returns to 0 within a second of clients aborting", async () => {
  await using server = await startTestServer();
  const streams = await Promise.all(
    Array.from(
      { length: 20 },
      async (_, i) => openStream(server.url, { token: await server.student(`s-${i}`, "c-1") }),
    ),
  );
  for (const stream of streams) await stream.waitFor((e) => e.event === "ping");
  const admin = await server.admin();
  const info = await getJson(server.url + TEST_PATH, admin);
  assert.equal((info.body.instance as { connections: number }).connections, 20);
  const abortedAt = Date.now();
  await Promise.all(streams.map((s) => s.close()));
  await eventually(
    async () => {
      const now = await getJson(server.url + TEST_PATH, admin);
      return (now.body.instance as { connections: number }).connections === 0 &&
        (now.body.total as { total: number }).total === 0;
    },
    1000,
    "connections to drop to 0",
  );
  assert.ok(Date.now() - abortedAt < 1000);
  assert.equal(server.internals.streams.fanout.channelCount, 0);
});

Deno.test("stream: heartbeats arrive every HEARTBEAT_MS", async () => {
  await using server = await startTestServer({ HEARTBEAT_MS: "100" });
  const stream = await openStream(server.url, { token: await server.student("s-1", "c-1") });
  await stream.waitFor((e) => e.event === "ping");
  await stream.waitFor((e) => e.event === "ping", 2000, 1);
  await stream.waitFor((e) => e.event === "ping", 2000, 2);
  const pings = stream.events.filter((e) => e.event === "ping");
  assert.equal(new Set(pings.map((p) => p.envelope.data.connectionId)).size, 1);
  assert.equal(pings[0].envelope.data.heartbeatMs, 100);
  await stream.close();
});

Deno.test("stream: closes itself when the token expires, telling the client to reconnect", async () => {
  await using server = await startTestServer({ HEARTBEAT_MS: "100" });
  const stream = await openStream(server.url, { token: await server.student("s-1", "c-1", 1) });
  const close = await stream.waitFor((e) => e.event === "close", 3000);
  assert.deepEqual(close.envelope.data, { reason: "token_expired", reconnect: true });
  assert.equal(close.id, undefined);
  await stream.ended;
  await eventually(() => server.internals.streams.registry.size === 0, 1000, "cleanup");
});

Deno.test("stream: the 11th attempt within a minute gets 429 with Retry-After", async () => {
  await using server = await startTestServer();
  const token = await server.student("s-1", "c-1");
  for (let i = 0; i < 10; i++) {
    const stream = await openStream(server.url, { token });
    assert.equal(stream.status, 200, `attempt ${i + 1}`);
    await stream.close();
  }
  const refused = await fetch(server.url + "/api/students/notifications/sse", {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  assert.match((await refused.json()).error, /too many connection attempts/);
  // Another student is not affected.
  const other = await openStream(server.url, { token: await server.student("s-2", "c-1") });
  assert.equal(other.status, 200);
  await other.close();
});

Deno.test("stream: beyond MAX_STREAMS_PER_STUDENT the oldest stream is closed with a reason", async () => {
  await using server = await startTestServer({ MAX_STREAMS_PER_STUDENT: "2" });
  const token = await server.student("s-1", "c-1");
  const first = await openStream(server.url, { token });
  await first.waitFor((e) => e.event === "ping");
  const second = await openStream(server.url, { token });
  await second.waitFor((e) => e.event === "ping");
  const third = await openStream(server.url, { token });
  await third.waitFor((e) => e.event === "ping");
  const close = await first.waitFor((e) => e.event === "close");
  assert.deepEqual(close.envelope.data, { reason: "replaced", reconnect: false });
  await first.ended;
  assert.equal(second.hasEnded(), false);
  assert.equal(third.hasEnded(), false);
  await eventually(() => server.internals.streams.registry.size === 2, 1000, "2 streams");
  await second.close();
  await third.close();
});

Deno.test("stream: above MAX_CONNECTIONS the instance answers 503 with Retry-After", async () => {
  await using server = await startTestServer({ MAX_CONNECTIONS: "2" });
  const a = await openStream(server.url, { token: await server.student("a", "c-1") });
  const b = await openStream(server.url, { token: await server.student("b", "c-1") });
  const refused = await fetch(server.url + "/api/students/notifications/sse", {
    headers: { authorization: `Bearer ${await server.student("c", "c-1")}` },
  });
  assert.equal(refused.status, 503);
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  assert.match((await refused.json()).error, /connection limit/);
  await a.close();
  await b.close();
});

Deno.test("stream: only student tokens get a stream (403 for teachers)", async () => {
  await using server = await startTestServer();
  const response = await fetch(server.url + "/api/students/notifications/sse", {
    headers: { authorization: `Bearer ${await server.teacher("t", ["c-1"])}` },
  });
  assert.equal(response.status, 403);
  assert.match((await response.json()).error, /only student tokens/);
});

Deno.test("stream: a student's stream token teaches the roster its class", async () => {
  await using server = await startTestServer();
  const stream = await openStream(server.url, { token: await server.student("s-new", "c-7") });
  await stream.waitFor((e) => e.event === "ping");
  await eventually(
    async () => {
      const roster = await getJson(server.url + "/api/classes/c-7/roster", await server.admin());
      return (roster.body.studentIds as string[]).includes("s-new");
    },
    2000,
    "roster to include the student",
  );
  await stream.close();
});
