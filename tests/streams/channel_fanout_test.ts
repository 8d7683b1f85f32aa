import assert from "node:assert/strict";
import { studentChannel } from "../../server/bus/bus.ts";
import { MemoryBus } from "../../server/bus/memory_bus.ts";
import { feedEvent } from "../../server/events.ts";
import { MemoryRateLimiter } from "../../server/limits/connect_rate_limiter.ts";
import { MemoryConnectionTracker } from "../../server/streams/connection_tracker.ts";
import { StudentStreams } from "../../server/streams/student_streams.ts";

Deno.test("ChannelFanout calls onDeliver after each delivery reached the local streams", async () => {
  const bus = new MemoryBus();
  const queuedAtCall: number[] = [];
  let connection: Awaited<ReturnType<StudentStreams["open"]>> | undefined;
  const streams = new StudentStreams({
    bus,
    tracker: new MemoryConnectionTracker(),
    limiter: new MemoryRateLimiter({ limit: 1000 }),
    settings: {
      instanceId: "i-1",
      heartbeatMs: 60_000,
      maxConnections: 10,
      maxStreamsPerStudent: 5,
      maxQueuedEvents: 1000,
    },
    onDeliver: () => queuedAtCall.push(connection?.queuedEvents ?? -1),
  });
  try {
    connection = await streams.open({
      studentId: "s-1",
      classId: "c-1",
      expiresAt: Date.now() + 60_000,
    });
    const queuedBefore = connection.queuedEvents;
    const event = (n: number) => feedEvent("notification", { message: `n${n}` }, "2026-12-01");
    await bus.publish([{ channel: studentChannel("s-1"), event: event(1) }]);
    await bus.publish([
      { channel: studentChannel("s-1"), event: event(2) },
      { channel: studentChannel("s-2"), event: event(3) }, // nobody here listens to s-2
    ]);
    assert.deepEqual(queuedAtCall, [queuedBefore + 1, queuedBefore + 2]);
  } finally {
    connection?.abort("client_closed");
    await bus.close();
  }
});
