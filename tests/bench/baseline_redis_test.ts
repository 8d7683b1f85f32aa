/**
 * The baseline through Redis (`BASELINE_REDIS_URL`, the benchmark's `baseline-redis`): a class
 * broadcast is appended to the class's history stream and reaches the streams when it comes back
 * on pub/sub, with the stream entry's id. Over real sockets, with the real Redis, the baseline
 * started as the benchmark starts it.
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { startServer } from "../../bench/server_process.ts";
import { redisTest } from "../redis/support.ts";

/** Reads `reader` until `count` notification frames arrived (at most `ms`). */
async function notifications(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
  ms = 5000,
): Promise<Array<{ id: string; message: string }>> {
  const decoder = new TextDecoder();
  const found: Array<{ id: string; message: string }> = [];
  let text = "";
  const until = Date.now() + ms;
  while (found.length < count && Date.now() < until) {
    const timer = new Promise<null>((r) => setTimeout(() => r(null), until - Date.now()));
    const chunk = await Promise.race([reader.read(), timer]);
    if (chunk === null || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
    const frames = text.split("\n\n");
    text = frames.pop()!;
    for (const frame of frames) {
      if (!/^event: notification$/m.test(frame)) continue;
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]);
      found.push({ id: /^id: (\S+)$/m.exec(frame)![1], message: data.data.message });
    }
  }
  return found;
}

redisTest(
  "baseline-redis: a class broadcast is recorded in Redis and delivered from pub/sub with its entry's id",
  async ({ url, prefix }) => {
    const server = await startServer({
      kind: "baseline",
      env: { BASELINE_REDIS_URL: url, BASELINE_REDIS_PREFIX: prefix },
    });
    const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
    try {
      // Without a secret every stream joins class "all".
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${server.url}/api/students/notifications/sse`);
        assert.equal(response.status, 200);
        readers.push(response.body!.getReader());
      }
      for (const message of ["first", "second"]) {
        const sent = await fetch(`${server.url}/api/students/notifications/test`, {
          method: "POST",
          body: JSON.stringify({ classId: "all", message }),
        });
        assert.deepEqual(await sent.json(), { sent: true, streams: 2 });
      }
      const history = await redis.xrange(`${prefix}history:all`, "-", "+");
      assert.deepEqual(
        history.map(([, fields]) => JSON.parse(fields[1]).data.message),
        ["first", "second"],
      );
      const expected = history.map(([id], i) => ({ id, message: ["first", "second"][i] }));
      for (const reader of readers) assert.deepEqual(await notifications(reader, 2), expected);
    } finally {
      for (const reader of readers) await reader.cancel().catch(() => {});
      await server.stop();
      redis.disconnect();
    }
  },
);
