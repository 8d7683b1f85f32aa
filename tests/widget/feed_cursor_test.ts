import assert from "node:assert/strict";
import { FeedCursor } from "../../widget/feed_cursor.ts";
import type { FeedMessage } from "../../widget/feed_stream.ts";
import type { FeedSnapshot } from "../../widget/snapshot.ts";

const event = (id: string, type = "notification"): FeedMessage => ({
  id,
  type,
  data: { id },
  timestamp: "2026-11-27T08:00:00.000Z",
});
const snapshot = (lastEventId: string): FeedSnapshot => ({
  records: [],
  metrics: null,
  notifications: [],
  lastEventId,
});

function collect(): { cursor: FeedCursor; seen: string[] } {
  const seen: string[] = [];
  return { cursor: new FeedCursor((m) => seen.push(m.id ?? m.type)), seen };
}

Deno.test("FeedCursor.accept() drops duplicates and older ids, comparing numerically", () => {
  const { cursor, seen } = collect();
  for (const id of ["5-1", "5-2", "5-2", "5-10", "5-9", "4-99", "6-0"]) cursor.accept(event(id));
  assert.deepEqual(seen, ["5-1", "5-2", "5-10", "6-0"]);
  assert.equal(cursor.lastEventId, "6-0");
});

Deno.test("FeedCursor.release() emits only held events newer than the snapshot", () => {
  const { cursor, seen } = collect();
  cursor.hold();
  cursor.accept(event("10-0"));
  cursor.accept(event("12-0"));
  assert.deepEqual(seen, []);
  let applied: FeedSnapshot | undefined;
  cursor.release(snapshot("11-0"), (s) => applied = s);
  assert.equal(applied?.lastEventId, "11-0");
  assert.deepEqual(seen, ["12-0"]);
  assert.equal(cursor.lastEventId, "12-0", "a newer event keeps the cursor ahead of the snapshot");
  assert.equal(cursor.holding, false);
});

Deno.test("FeedCursor.release() moves the cursor to a newer snapshot", () => {
  const { cursor, seen } = collect();
  cursor.accept(event("3-0"));
  cursor.hold();
  cursor.release(snapshot("9-0"));
  assert.equal(cursor.lastEventId, "9-0");
  cursor.accept(event("8-0"));
  assert.deepEqual(seen, ["3-0"], "events the snapshot already reflects are not counted twice");
});

Deno.test("FeedCursor.release(null) passes every held event on", () => {
  const { cursor, seen } = collect();
  cursor.hold();
  cursor.accept(event("1-0"));
  cursor.release(null);
  assert.deepEqual(seen, ["1-0"]);
});

Deno.test("FeedCursor.accept() lets a resync move the cursor back", () => {
  const { cursor, seen } = collect();
  cursor.accept(event("50-0"));
  cursor.accept(event("20-0", "resync"));
  cursor.accept(event("21-0"));
  assert.deepEqual(seen, ["50-0", "20-0", "21-0"]);
});

Deno.test("FeedCursor keeps going when a handler throws", () => {
  const seen: string[] = [];
  const cursor = new FeedCursor((m) => {
    seen.push(m.id!);
    if (m.id === "1-0") throw new Error("page bug");
  });
  const log = console.error;
  console.error = () => {};
  try {
    cursor.accept(event("1-0"));
    cursor.accept(event("2-0"));
  } finally {
    console.error = log;
  }
  assert.deepEqual(seen, ["1-0", "2-0"]);
});
