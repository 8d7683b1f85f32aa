/**
 * Runs one HTTP test against every storage mode: memory, and Redis (REDIS_URL or
 * 127.0.0.1:6379, under a random prefix that is deleted afterwards). Without Redis the Redis
 * variant prints why and is ignored, but fails when CI=true.
 *
 * @module
 */

import { classChannel, type Delivery, studentChannel } from "../../server/bus/bus.ts";
import { deleteKeys, REDIS_URL, redisAnswers } from "../redis/support.ts";
import { eventually, getJson, postJson, startTestServer, type TestServer } from "./test_server.ts";

const redisAvailable = await redisAnswers();

/** The storage modes a feature test runs in. */
export type FeatureMode = "memory" | "redis";

/**
 * Registers `fn` once per mode, each with a fresh server.
 *
 * @example
 * ```ts
 * featureTest("POST /api/attendance is idempotent", async (server) => { ... });
 * ```
 */
export function featureTest(
  name: string,
  fn: (server: TestServer, mode: FeatureMode) => Promise<void>,
  env: Record<string, string> = {},
): void {
  Deno.test(`${name} [memory]`, async () => {
    await using server = await startTestServer(env);
    await fn(server, "memory");
  });
  const ci = Deno.env.get("CI") === "true";
  if (!redisAvailable && !ci) {
    console.log(`skipping "${name} [redis]": no Redis answers at ${REDIS_URL} (set REDIS_URL)`);
  }
  Deno.test({
    name: `${name} [redis]`,
    ignore: !redisAvailable && !ci,
    async fn() {
      if (!redisAvailable) throw new Error(`CI=true but no Redis answers at ${REDIS_URL}`);
      const prefix = `test-${crypto.randomUUID().slice(0, 12)}:`;
      try {
        await using server = await startTestServer({
          ...env,
          REDIS_URL,
          REDIS_PREFIX: prefix,
        });
        if (server.internals.bus.constructor.name !== "RedisBus") {
          throw new Error("REDIS_URL is set but the service did not start in Redis mode");
        }
        await eventually(() => server.internals.bus.readiness().ready, 5000, "Redis ready");
        await fn(server, "redis");
      } finally {
        await deleteKeys(REDIS_URL, prefix);
      }
    },
  });
}

/** POST /api/attendance. */
export function mark(server: TestServer, token: string, body: unknown) {
  return postJson(`${server.url}/api/attendance`, token, body);
}

/** Every retained event of these students' channels (and optionally classes), in id order. */
export async function eventsOf(
  server: TestServer,
  studentIds: string[],
  classIds: string[] = [],
  afterId = "0",
): Promise<Delivery[]> {
  const slice = await server.internals.bus.history(
    [...studentIds.map(studentChannel), ...classIds.map(classChannel)],
    afterId,
  );
  return slice.events;
}

/** The envelope of a recorded event. */
export function envelope(delivery: Delivery): { type: string; data: Record<string, unknown> } {
  return JSON.parse(delivery.json);
}

/** GET with a bearer token, returning status and JSON body. */
export { getJson, postJson };

/** A record body with defaults. */
export function record(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    studentId: "s-1",
    classId: "c-1",
    date: "2026-11-02",
    period: 1,
    status: "PRESENT",
    subject: "Maths",
    ...overrides,
  };
}
