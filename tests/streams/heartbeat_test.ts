import assert from "node:assert/strict";
import { MemoryBus } from "../../server/bus/memory_bus.ts";
import { MemoryRateLimiter } from "../../server/limits/connect_rate_limiter.ts";
import { MemoryConnectionTracker } from "../../server/streams/connection_tracker.ts";
import { sweepStreams } from "../../server/streams/heartbeat.ts";
import { StudentStreams } from "../../server/streams/student_streams.ts";

function streamsUnderTest() {
  return new StudentStreams({
    bus: new MemoryBus(),
    tracker: new MemoryConnectionTracker(),
    limiter: new MemoryRateLimiter({ limit: 100 }),
    settings: {
      instanceId: "i-1",
      heartbeatMs: 1000,
      maxConnections: 10,
      maxStreamsPerStudent: 5,
      maxQueuedEvents: 1000,
    },
  });
}

async function readText(
  stream: ReadableStream<Uint8Array>,
  reader = stream.getReader(),
): Promise<string> {
  const { value } = await reader.read();
  return new TextDecoder().decode(value);
}

Deno.test("sweepStreams() pings only the streams that are due", async () => {
  const streams = streamsUnderTest();
  const start = Date.now();
  const connection = await streams.open({
    studentId: "s-1",
    classId: "c-1",
    expiresAt: start + 60_000,
  });
  const reader = connection.body.getReader();
  assert.match(await readText(connection.body, reader), /^retry: 1000/);
  assert.match(await readText(connection.body, reader), /event: ping/);
  sweepStreams(streams, { heartbeatMs: 1000, staleMs: 5000 }, connection.nextPingAt - 1);
  assert.equal(connection.queuedEvents, 0);
  sweepStreams(streams, { heartbeatMs: 1000, staleMs: 5000 }, connection.nextPingAt);
  assert.match(await readText(connection.body, reader), /event: ping/);
  reader.releaseLock();
  connection.abort("client_closed");
  assert.equal(streams.registry.size, 0);
});

Deno.test("sweepStreams() ends a stream whose token expired with a close event", async () => {
  const streams = streamsUnderTest();
  const expiresAt = Date.now() + 60_000;
  const connection = await streams.open({ studentId: "s-1", classId: "c-1", expiresAt });
  sweepStreams(streams, { heartbeatMs: 1000, staleMs: 5000 }, expiresAt);
  const text = await new Response(connection.body).text();
  assert.match(
    text,
    /event: close\ndata: \{"type":"close","data":\{"reason":"token_expired","reconnect":true\}/,
  );
  assert.equal(connection.ended, true);
  assert.equal(streams.registry.size, 0);
  assert.equal(streams.fanout.channelCount, 0);
});

Deno.test("StudentStreams.pingDue() pings the due streams only, and leaves expired ones to the sweep", async () => {
  const streams = streamsUnderTest();
  const start = Date.now();
  const due = await streams.open({ studentId: "s-1", classId: "c-1", expiresAt: start + 60_000 });
  const ended = await streams.open({ studentId: "s-2", classId: "c-1", expiresAt: start + 60_000 });
  const expiring = await streams.open({
    studentId: "s-3",
    classId: "c-1",
    expiresAt: start + 100,
  });
  const readers = [due, ended, expiring].map((c) => c.body.getReader());
  for (const reader of readers) {
    await reader.read(); // retry:
    await reader.read(); // first ping
  }
  ended.abort("client_closed");
  // Every first-ping schedule is 50-100 % of the 1 s period: nothing is due half a period early.
  streams.pingDue(start + 400);
  assert.equal(due.queuedEvents, 0);
  const at = Math.max(due.nextPingAt, expiring.nextPingAt);
  streams.pingDue(at);
  assert.match(new TextDecoder().decode((await readers[0].read()).value), /event: ping/);
  assert.equal(expiring.queuedEvents, 0, "an expired stream gets no ping; the sweep ends it");
  assert.ok(due.nextPingAt >= at + 1000, "the next ping is a period later");
  streams.pingDue(at);
  assert.equal(due.queuedEvents, 0, "pinged once per due slot");
  for (const reader of readers) reader.releaseLock();
  for (const connection of [due, expiring]) connection.abort("client_closed");
});
