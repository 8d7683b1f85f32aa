import assert from "node:assert/strict";
import { studentChannel } from "../../server/bus/bus.ts";
import { feedEvent } from "../../server/events.ts";
import { openStream } from "../support/sse_client.ts";
import { startTestServer } from "../support/test_server.ts";

function note(n: number) {
  return feedEvent("notification", {
    id: `n-${n}`,
    title: `#${n}`,
    message: "m",
    severity: "info",
  });
}

Deno.test("replay: Last-Event-ID resumes after the last seen event, then goes live", async () => {
  await using server = await startTestServer();
  const token = await server.student("s-1", "c-1");
  const bus = server.internals.bus;
  const first = await openStream(server.url, { token });
  await first.waitFor((e) => e.event === "ping");
  const [id1, id2] = await bus.publish([
    { channel: studentChannel("s-1"), event: note(1) },
    { channel: studentChannel("s-1"), event: note(2) },
  ]);
  await first.waitFor((e) => e.id === id2);
  await first.close();

  const [id3] = await bus.publish([{ channel: studentChannel("s-1"), event: note(3) }]);
  const [id4] = await bus.publish([{ channel: "class:c-1", event: note(4) }]);
  await bus.publish([{ channel: "class:c-2", event: note(99) }]);

  const second = await openStream(server.url, { token, lastEventId: id2 });
  await second.waitFor((e) => e.id === id4);
  const [id5] = await bus.publish([{ channel: studentChannel("s-1"), event: note(5) }]);
  await second.waitFor((e) => e.id === id5);
  assert.deepEqual(second.events.map((e) => e.id ?? e.event), ["ping", id3, id4, id5]);
  assert.ok(id1 < id2 || id1.length <= id2.length);
  await second.close();
});

Deno.test("replay: Last-Event-ID 0 replays the whole retained history without resync", async () => {
  await using server = await startTestServer();
  const bus = server.internals.bus;
  const ids = await bus.publish(
    [1, 2, 3].map((n) => ({ channel: studentChannel("s-1"), event: note(n) })),
  );
  const stream = await openStream(server.url, {
    token: await server.student("s-1", "c-1"),
    lastEventId: "0",
  });
  await stream.waitFor((e) => e.id === ids[2]);
  assert.deepEqual(stream.events.map((e) => e.id ?? e.event), ["ping", ...ids]);
  await stream.close();
});

Deno.test("replay: the lastEventId query parameter works for a first connect", async () => {
  await using server = await startTestServer();
  const bus = server.internals.bus;
  const ids = await bus.publish(
    [1, 2].map((n) => ({ channel: studentChannel("s-1"), event: note(n) })),
  );
  const stream = await openStream(server.url, {
    token: await server.student("s-1", "c-1"),
    query: `lastEventId=${ids[0]}`,
  });
  await stream.waitFor((e) => e.id === ids[1]);
  assert.deepEqual(stream.events.map((e) => e.id ?? e.event), ["ping", ids[1]]);
  await stream.close();
});

Deno.test("replay: an unknown or malformed id gets resync, then live events", async () => {
  await using server = await startTestServer();
  const bus = server.internals.bus;
  const token = await server.student("s-1", "c-1");
  let [head] = await bus.publish([{ channel: studentChannel("s-1"), event: note(1) }]);
  for (const lastEventId of ["99999999999999-0", "not-an-id"]) {
    const stream = await openStream(server.url, { token, lastEventId });
    const resync = await stream.waitFor((e) => e.event === "resync");
    assert.equal(resync.envelope.data.reason, "unknown_id");
    assert.equal(resync.envelope.data.lastEventId, head);
    assert.equal(resync.id, head);
    const [next] = await bus.publish([{ channel: studentChannel("s-1"), event: note(2) }]);
    await stream.waitFor((e) => e.id === next);
    await stream.close();
    head = next;
  }
});

Deno.test("replay: a cursor older than retention gets resync (history_trimmed), never a gap", async () => {
  await using server = await startTestServer({ HISTORY_MAX_EVENTS: "3" });
  const bus = server.internals.bus;
  const ids = await bus.publish(
    [1, 2, 3, 4, 5].map((n) => ({ channel: studentChannel("s-1"), event: note(n) })),
  );
  const stream = await openStream(server.url, {
    token: await server.student("s-1", "c-1"),
    lastEventId: ids[0],
  });
  const resync = await stream.waitFor((e) => e.event === "resync");
  assert.equal(resync.envelope.data.reason, "history_trimmed");
  assert.equal(resync.envelope.data.lastEventId, ids[4]);
  assert.equal(stream.events.filter((e) => e.event === "notification").length, 0);
  await stream.close();
  // A cursor inside the retained window replays normally.
  const inside = await openStream(server.url, {
    token: await server.student("s-1", "c-1"),
    lastEventId: ids[2],
  });
  await inside.waitFor((e) => e.id === ids[4]);
  assert.deepEqual(inside.events.map((e) => e.id ?? e.event), ["ping", ids[3], ids[4]]);
  await inside.close();
});

Deno.test("replay: drop and reconnect while events keep flowing loses and repeats nothing", async () => {
  await using server = await startTestServer({ CONNECT_RATE_LIMIT: "1000" });
  const bus = server.internals.bus;
  const token = await server.student("s-1", "c-1");
  const sent: string[] = [];
  let publishing = true;
  const publisher = (async () => {
    for (let n = 0; n < 300 && publishing; n++) {
      const channel = n % 3 === 0 ? "class:c-1" : studentChannel("s-1");
      sent.push(...await bus.publish([{ channel, event: note(n) }]));
      if (n % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const seen: string[] = [];
  let lastEventId = "0";
  for (let round = 0; round < 6; round++) {
    const stream = await openStream(server.url, { token, lastEventId });
    await new Promise((r) => setTimeout(r, 15));
    await stream.close();
    for (const e of stream.events) if (e.id) seen.push(e.id);
    lastEventId = seen.at(-1) ?? lastEventId;
  }
  await publisher;
  publishing = false;
  const final = await openStream(server.url, { token, lastEventId });
  if (sent.at(-1) !== lastEventId) await final.waitFor((e) => e.id === sent.at(-1));
  await final.close();
  for (const e of final.events) if (e.id) seen.push(e.id);
  assert.equal(sent.length, 300);
  assert.deepEqual(seen, sent);
});
