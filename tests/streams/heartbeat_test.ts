import assert from "node:assert/strict";
import { MemoryBus } from "../../server/bus/memory_bus.ts";
import { MemoryRateLimiter } from "../../server/limits/connect_rate_limiter.ts";
import { MemoryConnectionTracker } from "../../server/streams/connection_tracker.ts";
import {
  StreamSweep,
  sweepPeriodMs,
  sweepSliceSize,
  sweepStreams,
} from "../../server/streams/heartbeat.ts";
import type { SseConnection } from "../../server/streams/sse_connection.ts";
import { pingsPerTake, StudentStreams } from "../../server/streams/student_streams.ts";

function streamsUnderTest(maxConnections = 20) {
  return new StudentStreams({
    bus: new MemoryBus(),
    tracker: new MemoryConnectionTracker(),
    limiter: new MemoryRateLimiter({ limit: 1000 }),
    settings: {
      instanceId: "i-1",
      heartbeatMs: 1000,
      maxConnections,
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

Deno.test("sweepStreams() pings a stream only when the schedule missed its ping", async () => {
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
  const dueAt = connection.nextPingAt;
  sweepStreams(streams, { heartbeatMs: 1000, staleMs: 5000 }, dueAt + 500);
  assert.equal(connection.queuedEvents, 0, "due, but the schedule's to send (it may be behind)");
  sweepStreams(streams, { heartbeatMs: 1000, staleMs: 5000 }, dueAt + 501);
  assert.match(await readText(connection.body, reader), /event: ping/);
  assert.ok(connection.nextPingAt > dueAt + 501, "more than half a period late: a new phase");
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
  const dueAt = due.nextPingAt;
  const at = Math.max(dueAt, expiring.nextPingAt);
  streams.pingDue(at);
  assert.match(new TextDecoder().decode((await readers[0].read()).value), /event: ping/);
  assert.equal(expiring.queuedEvents, 0, "an expired stream gets no ping; the sweep ends it");
  assert.equal(due.nextPingAt, dueAt + 1000, "the next ping is a period after this one was due");
  streams.pingDue(at);
  assert.equal(due.queuedEvents, 0, "pinged once per due slot");
  for (const reader of readers) reader.releaseLock();
  for (const connection of [due, expiring]) connection.abort("client_closed");
});

Deno.test("StudentStreams.pingDue() spreads a backlog over several ticks and keeps each phase", async () => {
  const streams = streamsUnderTest(300);
  const expiresAt = Date.now() + 60_000;
  const opened: SseConnection[] = [];
  for (let i = 0; i < 200; i++) {
    opened.push(await streams.open({ studentId: `s-${i}`, classId: "c-1", expiresAt }));
  }
  // The event loop was held past every stream's ping (a school-wide broadcast, a GC): all due.
  const dueAt = new Map(opened.map((c) => [c, c.nextPingAt]));
  const at = Math.max(...dueAt.values()) + 100;
  const pinged = () => opened.filter((c) => c.nextPingAt !== dueAt.get(c)).length;
  const perTake = pingsPerTake(200, 1000);
  assert.equal(perTake, 64);
  streams.pingDue(at);
  assert.equal(pinged(), perTake, "one take sends at most its share");
  streams.pingDue(at + 25);
  assert.equal(pinged(), 2 * perTake);
  streams.pingDue(at + 50);
  streams.pingDue(at + 75);
  assert.equal(pinged(), 200, "the backlog is drained");
  // First pings fall due over half a period (50-100 % of it after opening), so the earliest are
  // now more than half a period late: those start a new phase. The others keep their own.
  let kept = 0;
  for (const c of opened) {
    const due = dueAt.get(c)!;
    if (c.nextPingAt === due + 1000) kept++;
    else assert.ok(at - due > 400 && c.nextPingAt >= at + 500, "a new phase only when late");
  }
  assert.ok(kept >= opened.filter((c) => dueAt.get(c)! > at - 400).length);
  for (const c of opened) c.abort("client_closed");
});

const options = { heartbeatMs: 1000, staleMs: 5000 };

Deno.test("StreamSweep checks every stream once per pass, a slice per step", async () => {
  const streams = streamsUnderTest();
  const expiresAt = Date.now() + 60_000;
  const opened: SseConnection[] = [];
  for (let i = 0; i < 5; i++) {
    opened.push(await streams.open({ studentId: `s-${i}`, classId: "c-1", expiresAt }));
  }
  const sweep = new StreamSweep(streams, options);
  const endedCount = () => opened.filter((c) => c.ended).length;
  assert.equal(sweep.step(2, expiresAt), false);
  assert.equal(endedCount(), 2, "the first slice only");
  assert.equal(sweep.step(2, expiresAt), false);
  assert.equal(endedCount(), 4, "the next slice, no stream twice or skipped");
  assert.equal(sweep.step(2, expiresAt), true, "the end of the pass");
  assert.equal(endedCount(), 5);
  assert.equal(streams.registry.size, 0);
  assert.equal(sweep.step(2, expiresAt), true, "an empty registry is a pass in itself");
});

Deno.test("StreamSweep reaches streams opened during a pass, then starts over", async () => {
  const streams = streamsUnderTest();
  const start = Date.now();
  const early: SseConnection[] = [];
  for (let i = 0; i < 3; i++) {
    early.push(
      await streams.open({ studentId: `s-${i}`, classId: "c-1", expiresAt: start + 60_000 }),
    );
  }
  const sweep = new StreamSweep(streams, options);
  assert.equal(sweep.step(1, start), false);
  early[1].abort("client_closed"); // leaves mid-pass: skipped, not a failure
  const late = await streams.open({ studentId: "s-late", classId: "c-1", expiresAt: start + 100 });
  assert.equal(sweep.step(10, start + 100), true);
  assert.equal(late.ended, true, "a stream opened mid-pass is checked in that pass");
  assert.equal(early[0].ended || early[2].ended, false);
  assert.equal(sweep.step(10, start + 60_000), true, "a new pass from the first stream");
  assert.equal(early[0].ended && early[2].ended, true);
  assert.equal(streams.registry.size, 0);
});

Deno.test("sweepPeriodMs() and sweepSliceSize(): every stream checked about every period", () => {
  assert.equal(sweepPeriodMs({ heartbeatMs: 15_000, staleMs: 30_000 }), 250);
  assert.equal(sweepPeriodMs({ heartbeatMs: 1000, staleMs: 5000 }), 125);
  assert.equal(sweepPeriodMs({ heartbeatMs: 100, staleMs: 100 }), 25);
  assert.equal(sweepSliceSize(10_000, 250), 1000);
  assert.equal(sweepSliceSize(10_001, 250), 1001);
  assert.equal(sweepSliceSize(3, 250), 1, "at least one per tick while there are any");
  assert.equal(sweepSliceSize(0, 250), 0);
  assert.equal(sweepSliceSize(40, 25), 40, "a 25 ms period: all of them every tick");
});
