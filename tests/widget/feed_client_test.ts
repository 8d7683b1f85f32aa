/**
 * createFeedClient against the real service on a real socket; timers on a manual clock.
 */
import assert from "node:assert/strict";
import { createFeedClient, type StateChange } from "../../widget/feed_client.ts";
import type { FeedMessage } from "../../widget/feed_stream.ts";
import type { FeedSnapshot } from "../../widget/snapshot.ts";
import { eventually, postJson, startTestServer } from "../support/test_server.ts";
import { ManualClock } from "./support/manual_clock.ts";

function recorder() {
  const events: FeedMessage[] = [];
  const states: StateChange[] = [];
  return {
    events,
    states,
    onEvent: (m: FeedMessage) => events.push(m),
    onStateChange: (s: StateChange) => states.push(s),
  };
}

async function sendTest(url: string, token: string, testType = "notification") {
  const res = await postJson(`${url}/api/students/notifications/test`, token, { testType });
  assert.equal(res.status, 200);
  return res.body.eventId as string;
}

Deno.test("createFeedClient() goes live, receives events, and close() ends the server stream", async () => {
  await using server = await startTestServer();
  const token = await server.student("s-1", "c-1");
  const rec = recorder();
  const clock = new ManualClock();
  const feed = createFeedClient({ endpoint: server.url, token, clock, ...rec });
  feed.connect();
  await eventually(() => feed.status.state === "live", 3000, "live");
  const id = await sendTest(server.url, token);
  await eventually(() => rec.events.length === 1, 3000, "event");
  assert.equal(rec.events[0].type, "notification");
  assert.equal(rec.events[0].id, id);
  assert.equal(feed.lastEventId, id);
  assert.equal(server.internals.streams.registry.size, 1);
  feed.close();
  await eventually(() => server.internals.streams.registry.size === 0, 2000, "stream closed");
  assert.deepEqual(clock.pending(), [], "no timer left behind");
  assert.deepEqual(rec.states.map((s) => s.state), ["live", "offline"]);
});

Deno.test("createFeedClient() resumes with Last-Event-ID after a restart: nothing missed", async () => {
  let server = await startTestServer();
  const port = new URL(server.url).port;
  const token = await server.student("s-2", "c-1");
  const rec = recorder();
  const clock = new ManualClock();
  const feed = createFeedClient({ endpoint: server.url, token, clock, ...rec });
  try {
    feed.connect();
    await eventually(() => feed.status.state === "live", 3000, "live");
    await sendTest(server.url, token);
    await eventually(() => rec.events.length === 1, 3000, "first event");
    await server.shutdown();
    await eventually(() => feed.status.state === "reconnecting", 3000, "reconnecting");
    assert.ok(feed.status.retryInMs! >= 1000, "waits at least the server's retryAfterMs");
    server = await startTestServer({ PORT: port });
    const missed = await sendTest(server.url, token, "attendance_update");
    clock.advance(feed.status.retryInMs!);
    await eventually(() => rec.events.length === 2, 3000, "replayed event");
    assert.equal(rec.events[1].id, missed);
    assert.equal(rec.events[1].type, "attendance_update");
    assert.equal(feed.status.state, "live");
  } finally {
    feed.close();
    await server.shutdown();
  }
});

Deno.test("createFeedClient() renews a refused token through tokenUrl", async () => {
  await using server = await startTestServer();
  const good = await server.student("s-3", "c-1");
  const [h, , s] = good.split(".");
  const forged = `${h}.${
    btoa(JSON.stringify({ sub: "s-3", role: "student", classId: "c-1" }))
      .replace(/=+$/, "")
  }.${s}`;
  let served = 0;
  await using portal = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
    served++;
    return Response.json({ token: good });
  });
  const rec = recorder();
  const feed = createFeedClient({
    endpoint: server.url,
    token: forged,
    tokenUrl: `http://127.0.0.1:${portal.addr.port}/token`,
    clock: new ManualClock(),
    ...rec,
  });
  feed.connect();
  try {
    await eventually(() => feed.status.state === "live", 3000, "live with the renewed token");
    assert.equal(served, 1);
  } finally {
    feed.close();
  }
});

Deno.test("createFeedClient() stops at unauthorized without token-url, until setToken()", async () => {
  await using server = await startTestServer();
  const good = await server.student("s-4", "c-1");
  const rec = recorder();
  const clock = new ManualClock();
  const feed = createFeedClient({ endpoint: server.url, token: good + "x", clock, ...rec });
  feed.connect();
  try {
    await eventually(() => feed.status.state === "unauthorized", 3000, "unauthorized");
    assert.deepEqual(clock.pending(), [], "no retry is scheduled");
    feed.setToken(good);
    await eventually(() => feed.status.state === "live", 3000, "live after setToken");
  } finally {
    feed.close();
  }
});

Deno.test("createFeedClient() honours Retry-After on 503", async () => {
  await using server = await startTestServer({ MAX_CONNECTIONS: "1" });
  const first = await server.student("s-5", "c-1");
  const second = await server.student("s-6", "c-1");
  const clock = new ManualClock();
  const a = createFeedClient({ endpoint: server.url, token: first, clock: new ManualClock() });
  const b = createFeedClient({ endpoint: server.url, token: second, clock });
  a.connect();
  try {
    await eventually(() => a.status.state === "live", 3000, "first live");
    b.connect();
    await eventually(() => b.status.state === "reconnecting", 3000, "second refused");
    assert.ok(b.status.retryInMs! >= 1000);
    a.close();
    await eventually(() => server.internals.streams.registry.size === 0, 2000, "first closed");
    clock.advance(b.status.retryInMs!);
    await eventually(() => b.status.state === "live", 3000, "second live after retry");
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("createFeedClient() reconnects when the watchdog sees two silent heartbeats", async () => {
  await using server = await startTestServer({ HEARTBEAT_MS: "60000" });
  const token = await server.student("s-7", "c-1");
  const clock = new ManualClock();
  const rec = recorder();
  const feed = createFeedClient({ endpoint: server.url, token, clock, ...rec });
  feed.connect();
  try {
    await eventually(() => feed.status.state === "live", 3000, "live");
    assert.deepEqual(clock.pending(), [120_000], "watchdog armed for 2 × heartbeatMs");
    clock.advance(120_000);
    await eventually(() => feed.status.state === "reconnecting", 3000, "reconnecting");
  } finally {
    feed.close();
  }
});

Deno.test("createFeedClient() renews an expired token via tokenUrl when the server closes the stream", async () => {
  await using server = await startTestServer();
  let issued = 0;
  // First a token that expires in a second (the server then sends close/token_expired), then a
  // long one.
  await using portal = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async () => {
    issued++;
    return Response.json({ token: await server.student("s-8", "c-1", issued === 1 ? 1 : 3600) });
  });
  const rec = recorder();
  const feed = createFeedClient({
    endpoint: server.url,
    tokenUrl: `http://127.0.0.1:${portal.addr.port}/`,
    clock: new ManualClock(), // its epoch-era "now" keeps the short token looking valid
    ...rec,
  });
  feed.connect();
  try {
    await eventually(() => issued === 2 && feed.status.state === "live", 5000, "renewed");
    assert.ok(!rec.states.some((s) => s.state === "unauthorized"));
  } finally {
    feed.close();
  }
});

Deno.test("createFeedClient() goes offline, without retrying, when its stream is replaced", async () => {
  await using server = await startTestServer({ MAX_STREAMS_PER_STUDENT: "1" });
  const token = await server.student("s-10", "c-1");
  const clock = new ManualClock();
  // Two devices of one student: no tab sharing between them.
  const feed = createFeedClient({ endpoint: server.url, token, clock, shareTabs: false });
  feed.connect();
  const other = createFeedClient({
    endpoint: server.url,
    token,
    clock: new ManualClock(),
    shareTabs: false,
  });
  try {
    await eventually(() => feed.status.state === "live", 3000, "live");
    other.connect();
    await eventually(() => feed.status.state === "offline", 3000, "replaced");
    assert.equal(feed.status.reason, "replaced");
    assert.deepEqual(clock.pending(), [], "no retry scheduled");
  } finally {
    feed.close();
    other.close();
  }
});

Deno.test("createFeedClient() streams from the snapshot's lastEventId: nothing missed or doubled", async () => {
  await using server = await startTestServer();
  const token = await server.student("s-13", "c-13");
  const teacher = await server.teacher("t-13", ["c-13"]);
  const notify = (title: string) =>
    postJson(`${server.url}/api/notifications`, teacher, {
      classId: "c-13",
      title,
      message: "m",
      severity: "info",
    });
  assert.equal((await notify("before")).status, 201);
  const rec = recorder();
  const snapshots: FeedSnapshot[] = [];
  const feed = createFeedClient({
    endpoint: server.url,
    token,
    clock: new ManualClock(),
    onSnapshot: (s) => snapshots.push(s),
    ...rec,
  });
  feed.connect();
  try {
    await eventually(() => feed.status.state === "live", 3000, "live");
    assert.equal(snapshots.length, 1);
    assert.deepEqual(snapshots[0].notifications.map((n) => n.title), ["before"]);
    assert.equal(feed.lastEventId, snapshots[0].lastEventId);
    assert.equal((await notify("after")).status, 201);
    await eventually(() => rec.events.length >= 1, 3000, "the later notification");
    assert.deepEqual(
      rec.events.map((e) => (e.data as { title: string }).title),
      ["after"],
      "the snapshot's notification is not delivered again",
    );
  } finally {
    feed.close();
  }
});

Deno.test("createFeedClient() reloads the snapshot on resync (cursor unknown to the server)", async () => {
  let server = await startTestServer();
  const port = new URL(server.url).port;
  const token = await server.student("s-14", "c-14");
  const rec = recorder();
  let snapshots = 0;
  const clock = new ManualClock();
  const feed = createFeedClient({
    endpoint: server.url,
    token,
    clock,
    onSnapshot: () => snapshots++,
    ...rec,
  });
  try {
    feed.connect();
    await eventually(() => feed.status.state === "live", 3000, "live");
    await sendTest(server.url, token);
    await eventually(() => rec.events.length === 1, 3000, "first event");
    await server.shutdown();
    await eventually(() => feed.status.state === "reconnecting", 3000, "reconnecting");
    // A fresh memory instance has never seen the client's cursor: it answers with a resync.
    server = await startTestServer({ PORT: port });
    clock.advance(feed.status.retryInMs!);
    await eventually(() => rec.events.some((e) => e.type === "resync"), 3000, "resync");
    await eventually(() => snapshots === 2, 3000, "snapshot reloaded");
    const id = await sendTest(server.url, token, "metrics_update");
    await eventually(() => rec.events.at(-1)?.id === id, 3000, "live events after the resync");
  } finally {
    feed.close();
    await server.shutdown();
  }
});
