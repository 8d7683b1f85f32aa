import assert from "node:assert/strict";
import { studentChannel } from "../../server/bus/bus.ts";
import { feedEvent } from "../../server/events.ts";
import { openStream } from "../support/sse_client.ts";
import { eventually, startTestServer, type TestServer } from "../support/test_server.ts";

/** A client that sends the request and then never reads: its socket buffers fill up. */
async function connectWithoutReading(server: TestServer, token: string): Promise<Deno.TcpConn> {
  const port = Number(new URL(server.url).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(
    `GET /api/students/notifications/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`,
  ));
  return conn;
}

const big = feedEvent("notification", {
  id: "big",
  title: "t",
  message: "x".repeat(8000),
  severity: "info",
});

/** Publishes until `done()` or a byte budget is spent; returns how many bytes were sent. */
async function flood(server: TestServer, studentId: string, done: () => boolean): Promise<number> {
  let bytes = 0;
  while (!done() && bytes < 200 * 1024 * 1024) {
    await server.internals.bus.publish(
      Array.from({ length: 20 }, () => ({ channel: studentChannel(studentId), event: big })),
    );
    bytes += 20 * 8000;
    await new Promise((r) => setTimeout(r, 0));
  }
  return bytes;
}

Deno.test("slow client: a client whose queue exceeds the bound is disconnected; others are not", async () => {
  await using server = await startTestServer({ MAX_QUEUED_EVENTS: "64", STALE_MS: "600000" });
  const registry = server.internals.streams.registry;
  const slow = await connectWithoutReading(server, await server.student("slow", "c-1"));
  const healthy = await openStream(server.url, { token: await server.student("ok", "c-1") });
  await eventually(() => registry.forStudent("slow").length === 1, 2000, "slow client registered");
  await flood(server, "slow", () => registry.forStudent("slow").length === 0);
  assert.equal(registry.forStudent("slow").length, 0, "slow client was cut off");
  const [id] = await server.internals.bus.publish([{ channel: studentChannel("ok"), event: big }]);
  await healthy.waitFor((e) => e.id === id);
  assert.equal(healthy.hasEnded(), false);
  await healthy.close();
  slow.close();
});

Deno.test("stale client: no successful write for STALE_MS removes the client", async () => {
  await using server = await startTestServer({ STALE_MS: "300", HEARTBEAT_MS: "60000" });
  const registry = server.internals.streams.registry;
  const stale = await connectWithoutReading(server, await server.student("stale", "c-1"));
  await eventually(
    () => registry.forStudent("stale").length === 1,
    2000,
    "stale client registered",
  );
  const connection = registry.forStudent("stale")[0];
  // Keep the queue from ever draining, as live traffic to a dead client would: top it up whenever
  // the kernel's socket buffers have absorbed it, staying under MAX_QUEUED_EVENTS. Once the kernel
  // buffers are full, no write succeeds any more and the stale timer runs out.
  const startedAt = Date.now();
  let queuedAt = Infinity;
  while (!connection.ended && Date.now() - startedAt < 15_000) {
    if (connection.queuedEvents < 25) {
      await server.internals.bus.publish(
        Array.from({ length: 20 }, () => ({ channel: studentChannel("stale"), event: big })),
      );
    }
    if (connection.queuedEvents > 0) queuedAt = Math.min(queuedAt, Date.now());
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(connection.ended, "stale client removed");
  assert.ok(Date.now() - queuedAt >= 250, "not removed before STALE_MS");
  assert.ok(Date.now() - queuedAt < 10_000, "removed once no write succeeded for STALE_MS");
  assert.equal(registry.forStudent("stale").length, 0);
  stale.close();
});
