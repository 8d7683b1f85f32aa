import assert from "node:assert/strict";
import { SseConnection } from "../../server/streams/sse_connection.ts";

const frame = new TextEncoder().encode("event: ping\ndata: {}\n\n");

function connection() {
  return new SseConnection({
    id: "conn-1",
    studentId: "s-1",
    classId: "c-1",
    expiresAt: Date.now() + 60_000,
    maxQueuedEvents: 100,
  });
}

Deno.test("isStale(): frames the client never takes make it stale after staleMs, not before", () => {
  const c = connection();
  c.sendEncoded(frame);
  assert.equal(c.isStale(1000, 10_000), false, "the wait starts at the first check");
  assert.equal(c.isStale(1000, 10_999), false);
  assert.equal(c.isStale(1000, 11_000), true);
  c.abort("client_closed");
});

Deno.test("isStale(): a queue seen empty is looked at again once a frame is written", async () => {
  const c = connection();
  const reader = c.body.getReader();
  c.sendEncoded(frame);
  await reader.read();
  assert.equal(c.isStale(1000, 10_000), false, "empty: remembered as such");
  assert.equal(c.isStale(1000, 20_000), false, "still empty, nothing written since");
  reader.releaseLock();
  // The client stops reading; frames pile up from here.
  c.sendEncoded(frame);
  c.sendEncoded(frame);
  assert.equal(c.queuedEvents, 2);
  assert.equal(
    c.isStale(1000, 30_000),
    false,
    "the wait starts at the first check after the write",
  );
  assert.equal(c.isStale(1000, 31_000), true);
  c.abort("client_closed");
});

Deno.test("isStale(): a client that takes frames, however slowly, is not stale", async () => {
  const c = connection();
  const reader = c.body.getReader();
  for (let i = 0; i < 3; i++) c.sendEncoded(frame);
  assert.equal(c.isStale(1000, 10_000), false);
  await reader.read(); // one frame taken: progress
  assert.equal(c.isStale(1000, 10_900), false);
  assert.equal(c.isStale(1000, 11_500), false, "the wait restarted at its progress");
  await reader.read();
  await reader.read(); // caught up
  assert.equal(c.isStale(1000, 50_000), false);
  reader.releaseLock();
  c.abort("client_closed");
});
