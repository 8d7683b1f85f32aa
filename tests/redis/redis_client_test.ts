/**
 * server/redis/client.ts against the real Redis: releasing a MULTI's arguments once it answered.
 */

import assert from "node:assert/strict";
import {
  closeRedisClient,
  createRedisClient,
  releaseArguments,
} from "../../server/redis/client.ts";
import { redisTest, until } from "./support.ts";

redisTest(
  "releaseArguments() empties a MULTI's commands after exec(), keeping its results",
  async ({ url, prefix }) => {
    const redis = createRedisClient(url, { name: "attendance-feed:test-client", log: false });
    try {
      await until(() => redis.status === "ready", 5000, "client ready");
      const big = "x".repeat(64 * 1024);
      const multi = redis.multi().set(`${prefix}big`, big).strlen(`${prefix}big`);
      // The private field this relies on: if ioredis renames it, releaseArguments() does nothing.
      const queue = (multi as unknown as { _queue?: Array<{ name: string; args: unknown[] }> })
        ._queue;
      assert.ok(Array.isArray(queue), "ioredis no longer keeps a pipeline's commands in _queue");
      assert.ok(queue.some((c) => c.args.includes(big)));
      const results = await multi.exec();
      releaseArguments(multi);
      assert.deepEqual(results, [[null, "OK"], [null, big.length]]);
      assert.ok(queue.length >= 2);
      for (const command of queue) assert.deepEqual(command.args, [], command.name);
      // The client goes on working, and so does the value written.
      assert.equal(await redis.strlen(`${prefix}big`), big.length);
    } finally {
      await closeRedisClient(redis);
    }
  },
);
