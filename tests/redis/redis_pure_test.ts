import assert from "node:assert/strict";
import { describeRedisError, reconnectDelay } from "../../server/redis/client.ts";
import { RedisKeys } from "../../server/redis/keys.ts";
import { packLines } from "../../server/redis/packed_lines.ts";
import { parseLiveBatch } from "../../server/redis/scripts.ts";
import { trimmedBefore } from "../../server/redis/stream_history.ts";

Deno.test("reconnectDelay() doubles from 100 ms and caps, with up to 20 % jitter below", () => {
  assert.equal(reconnectDelay(1, 5000, () => 1), 100);
  assert.equal(reconnectDelay(1, 5000, () => 0), 80);
  assert.equal(reconnectDelay(4, 5000, () => 1), 800);
  assert.equal(reconnectDelay(30, 5000, () => 1), 5000);
  assert.equal(reconnectDelay(1000, 5000, () => 0), 4000);
});

Deno.test("describeRedisError() never repeats a Redis URL (it may hold a password)", () => {
  const error = new Error("connect to redis://user:s3cret@db:6379 failed; rediss://x:y@h");
  assert.equal(describeRedisError(error), "connect to redis://… failed; redis://…");
  assert.equal(describeRedisError("plain"), "plain");
});

Deno.test("RedisKeys puts every name under its prefix", () => {
  const keys = new RedisKeys("app1:");
  const names = [
    keys.history("student:s-1"),
    keys.lastEventId,
    keys.historyOrigin,
    keys.liveFeed,
    keys.control("host-1"),
    keys.connection("abc"),
    keys.student("s-1"),
    keys.class("c-1"),
    keys.connections,
    keys.connectionSeq,
    keys.connectRate("s-1"),
  ];
  assert.ok(names.every((n) => n.startsWith("app1:")));
  assert.equal(new Set(names).size, names.length);
  assert.equal(keys.connection("abc"), "app1:connection:abc");
  assert.equal(keys.student("s-1"), "app1:student:s-1");
  assert.equal(keys.class("c-1"), "app1:class:c-1");
  assert.equal(keys.liveFeed, "app1:live");
  assert.equal(new RedisKeys().history("class:c-1"), "sse:history:class:c-1");
  assert.equal(new RedisKeys("a*b:").pattern, "a\\*b:*");
});

Deno.test("trimmedBefore() reads a gap from XINFO STREAM counts", () => {
  const info = (length: number, added: number | undefined, first: string | null, last = "9-0") => [
    "length",
    length,
    ...(added === undefined ? [] : ["entries-added", added]),
    "last-generated-id",
    last,
    "first-entry",
    first ? [first, ["t", "notification", "d", "{}"]] : null,
  ];
  assert.equal(trimmedBefore(info(3, 3, "5-0"), 1000), null, "nothing trimmed");
  assert.equal(trimmedBefore(info(3, 10, "5-0"), 1000), "5-0");
  assert.equal(trimmedBefore(info(0, 10, null), 1000), "9-0", "everything trimmed");
  // Redis 6.2 has no entries-added: a full stream counts as trimmed.
  assert.equal(trimmedBefore(info(3, undefined, "5-0"), 1000), null);
  assert.equal(trimmedBefore(info(1000, undefined, "5-0"), 1000), "5-0");
});

Deno.test("parseLiveBatch() reads one publish call's events and keeps the wanted channels", () => {
  const j1 = JSON.stringify({ text: "two\nlines", id: "n-1" });
  const j3 = JSON.stringify({ id: "n-3" });
  const message = `17-2 17-3 18-0\n${
    packLines([
      "student:s-1",
      "notification",
      j1,
      "class:c-1",
      "resync",
      "{}",
      "student:s-1",
      "x",
      j3,
    ])
  }`;
  assert.deepEqual(parseLiveBatch(message, (c) => c === "student:s-1"), {
    lastId: "18-0",
    deliveries: [
      { id: "17-2", channel: "student:s-1", type: "notification", json: j1 },
      { id: "18-0", channel: "student:s-1", type: "x", json: j3 },
    ],
  });
  const none = parseLiveBatch(message, () => false);
  assert.deepEqual(none, { lastId: "18-0", deliveries: [] }, "the cursor still advances");
  assert.equal(parseLiveBatch(message, () => true)?.deliveries.length, 3);
  // Fewer events than ids, more than ids, no ids line: malformed.
  assert.equal(parseLiveBatch("17-2 17-3\nstudent:s-1\nnotification\n{}", () => true), null);
  assert.equal(parseLiveBatch("17-2\nstudent:s-1\nx\n{}\nstudent:s-2\nx\n{}", () => true), null);
  assert.equal(parseLiveBatch("\nstudent:s-1\nx\n{}", () => true), null);
  assert.equal(parseLiveBatch("17-4 no newlines", () => true), null);
});

Deno.test("packLines() joins script arguments by newline and refuses one that holds a newline", () => {
  assert.equal(
    packLines(["class:c-1", "resync", JSON.stringify({ text: "a\nb" }), ""]),
    [
      "class:c-1",
      "resync",
      '{"text":"a\\nb"}',
      "",
    ].join("\n"),
  );
  assert.equal(packLines([]), "");
  assert.throws(() => packLines(["ok", "two\nlines"]), /newline/);
});
