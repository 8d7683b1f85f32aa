import assert from "node:assert/strict";
import { postJson, startTestServer } from "../support/test_server.ts";

const TEST_PATH = "/api/students/notifications/test";

/** A body sent chunked (no Content-Length): `parts` pieces of `part`. */
function chunked(part: string, parts: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(part);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < parts) controller.enqueue(bytes);
      else controller.close();
    },
  });
}

Deno.test("body limits: by Content-Length, and by counting a chunked body's bytes", async () => {
  await using server = await startTestServer();
  const token = await server.student("s-1", "c-1");
  const url = server.url + TEST_PATH;

  const small = await postJson(url, token, JSON.stringify({ testType: "ping" }));
  assert.equal(small.status, 200, "a body with a Content-Length within the limit passes");

  const padded = JSON.stringify({ testType: "ping", pad: "x".repeat(70 * 1024) });
  const large = await postJson(url, token, padded);
  assert.equal(large.status, 413);
  assert.match(String(large.body.error), /64 KiB/);

  // Chunked: no Content-Length, so the bytes are counted as they arrive.
  const streamedSmall = await postJson(
    url,
    token,
    chunked(JSON.stringify({ testType: "ping" }), 1),
  );
  assert.equal(streamedSmall.status, 200, "a chunked body within the limit is read whole");

  const streamedLarge = await postJson(url, token, chunked(" ".repeat(16 * 1024), 5));
  assert.equal(streamedLarge.status, 413, "a chunked body over the limit is refused");
  assert.match(String(streamedLarge.body.error), /64 KiB/);

  // The attendance route's own limit (1 MiB) applies to chunked bodies too.
  const teacher = await server.teacher("t-1", ["c-1"]);
  const marks = await postJson(
    server.url + "/api/attendance",
    teacher,
    chunked(" ".repeat(256 * 1024), 5),
  );
  assert.equal(marks.status, 413);
  assert.match(String(marks.body.error), /1024 KiB/);
});
