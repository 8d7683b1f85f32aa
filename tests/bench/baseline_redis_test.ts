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
import { openStream, type TestStream } from "../support/sse_client.ts";

redisTest(
  "baseline-redis: a class broadcast is recorded in Redis and delivered from pub/sub with its entry's id",
  async ({ url, prefix }) => {
    const server = await startServer({
      kind: "baseline",
      env: { BASELINE_REDIS_URL: url, BASELINE_REDIS_PREFIX: prefix },
    });
    const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    const streams: TestStream[] = [];
    try {
      // Without a secret every stream joins class "all".
      for (let i = 0; i < 2; i++) {
        const stream = await openStream(server.url);
        assert.equal(stream.status, 200);
        streams.push(stream);
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
      for (const stream of streams) {
        await stream.waitFor((e) => e.envelope.data.message === "second", 5000);
        const notifications = stream.events.filter((e) => e.event === "notification")
          .map((e) => ({ id: e.id, message: e.envelope.data.message }));
        assert.deepEqual(notifications, expected);
      }
    } finally {
      for (const stream of streams) await stream.close();
      await server.stop();
      redis.disconnect();
    }
  },
);
