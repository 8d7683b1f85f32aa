import assert from "node:assert/strict";
import { describeRedisError, reconnectDelay } from "../../server/redis/client.ts";
import { RedisKeys } from "../../server/redis/keys.ts";
import { packLines } from "../../server/redis/packed_lines.ts";
import { parseLiveMessage } from "../../server/redis/scripts.ts";
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
    keys.live("class:c-1"),
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
  assert.equal(keys.channelOfLive(keys.live("class:c-1")), "class:c-1");
  assert.equal(keys.channelOfLive("other:live:class:c-1"), null);
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

Deno.test("parseLiveMessage() reads '<id>\\n<type>\\n<json>' and the older JSON envelope", () => {
  const json = JSON.stringify({ text: "two\nlines", id: "n-1" });
  assert.deepEqual(parseLiveMessage("student:s-1", `17-2\nnotification\n${json}`), {
    id: "17-2",
    channel: "student:s-1",
    type: "notification",
    json,
  });
  const envelope = JSON.stringify({ id: "17-3", channel: "x", type: "resync", json: "{}" });
  assert.deepEqual(parseLiveMessage("class:c-1", envelope), {
    id: "17-3",
    channel: "class:c-1",
    type: "resync",
    json: "{}",
  });
  assert.equal(parseLiveMessage("class:c-1", "17-4 no newlines"), null);
  assert.equal(parseLiveMessage("class:c-1", "{not json"), null);
  assert.equal(parseLiveMessage("class:c-1", JSON.stringify({ id: 5 })), null);
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
