/**
 * Redis for tests: the shared server (REDIS_URL or 127.0.0.1:6379) under a random key prefix that
 * is deleted afterwards, and private `redis-server` processes for fault tests (stopped by PID only).
 * A test that finds no Redis prints why and is ignored, but fails when CI=true.
 *
 * @module
 */

import { eventually } from "../support/test_server.ts";
import { closeRedisClient, createRedisClient } from "../../server/redis/client.ts";
import { RedisKeys } from "../../server/redis/keys.ts";
import { createRedisDeps } from "../../server/redis/redis_deps.ts";
import { RedisStore } from "../../server/store/redis_store.ts";

/** The shared Redis of the test run. */
export const REDIS_URL = Deno.env.get("REDIS_URL") || "redis://127.0.0.1:6379";

/** Answers PING within `timeoutMs` (plain TCP, so no client library retries in the way). */
export async function redisAnswers(url = REDIS_URL, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port, protocol } = new URL(url);
  if (protocol !== "redis:") return true; // TLS or auth: let the client find out.
  let conn: Deno.Conn | undefined;
  const timer = setTimeout(() => conn?.close(), timeoutMs);
  try {
    conn = await Deno.connect({ hostname: hostname || "127.0.0.1", port: Number(port || 6379) });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer);
    return n !== null && new TextDecoder().decode(buffer.subarray(0, n)).includes("PONG");
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* already closed */ }
  }
}

const sharedAvailable = await redisAnswers();

/** Context handed to a Redis test. */
export interface RedisTestContext {
  url: string;
  /** A fresh prefix ("test-<uuid>:"), deleted after the test. */
  prefix: string;
}

/**
 * Registers a test that needs the shared Redis.
 *
 * @example
 * ```ts
 * redisTest("RedisBus publish() records", async ({ url, prefix }) => { ... });
 * ```
 */
export function redisTest(name: string, fn: (ctx: RedisTestContext) => Promise<void>): void {
  const ci = Deno.env.get("CI") === "true";
  if (!sharedAvailable && !ci) {
    console.log(`skipping "${name}": no Redis answers at ${REDIS_URL} (set REDIS_URL)`);
  }
  Deno.test({
    name,
    ignore: !sharedAvailable && !ci,
    async fn() {
      if (!sharedAvailable) throw new Error(`CI=true but no Redis answers at ${REDIS_URL}`);
      const prefix = `test-${crypto.randomUUID().slice(0, 12)}:`;
      try {
        await fn({ url: REDIS_URL, prefix });
      } finally {
        await deleteKeys(REDIS_URL, prefix);
      }
    },
  });
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = createRedisClient(url, { name: "attendance-feed:test-cleanup", log: false });
  try {
    await waitReady(redis.status === "ready" ? null : redis);
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(
        cursor,
        "MATCH",
        new RedisKeys(prefix).pattern,
        "COUNT",
        500,
      );
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    await closeRedisClient(redis);
  }
}

function waitReady(
  redis: { once(event: string, cb: () => void): unknown } | null,
  timeoutMs = 3000,
): Promise<void> {
  if (!redis) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Redis not ready")), timeoutMs);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Polls `check` every 10 ms until it is true, failing after `timeoutMs`. */
export function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
  what = "condition",
): Promise<void> {
  return eventually(check, timeoutMs, what);
}

/** A `redis-server` started by a test, on a free port, stopped by its PID. */
export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM to its PID) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/** Options of {@link startPrivateRedis}. */
export interface PrivateRedisOptions {
  /** Serve TLS only (`rediss://`), with this certificate and key. */
  tls?: { certFile: string; keyFile: string };
  /** Require this password (user `default`). */
  password?: string;
}

/** True when `redis-server` can be run here. */
export function hasRedisServer(): boolean {
  try {
    return new Deno.Command("redis-server", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function portOpen(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a private, memory-only `redis-server` on a free loopback port.
 *
 * @example
 * ```ts
 * const redis = await startPrivateRedis();
 * await redis.stop();
 * ```
 */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  let child: Deno.ChildProcess | null = null;
  const auth = options.password ? `default:${encodeURIComponent(options.password)}@` : "";
  const url = `${options.tls ? "rediss" : "redis"}://${auth}127.0.0.1:${port}`;
  const args = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (options.tls) {
    args.push("--port", "0", "--tls-port", String(port), "--tls-auth-clients", "no");
    args.push("--tls-cert-file", options.tls.certFile, "--tls-key-file", options.tls.keyFile);
  } else {
    args.push("--port", String(port));
  }
  if (options.password) args.push("--requirepass", options.password);
  const start = async () => {
    child = new Deno.Command("redis-server", {
      args,
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    await until(
      () => options.tls || options.password ? portOpen(port) : redisAnswers(url, 200),
      5000,
      `redis-server on port ${port}`,
    );
  };
  const stop = async () => {
    if (!child) return;
    const running = child;
    child = null;
    try {
      Deno.kill(running.pid, "SIGTERM");
    } catch { /* already gone */ }
    await running.status;
  };
  await start();
  return { url, port, start, stop };
}

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/**
 * Test-only TLS material (tests/redis/fixtures): a server certificate for 127.0.0.1 and the CA
 * that signed it; processes trust the CA with `DENO_CERT=<caFile>`.
 */
export const TEST_TLS = {
  caFile: fixture("ca.pem"),
  certFile: fixture("server.pem"),
  keyFile: fixture("server.key"),
};

/**
 * Commands sent to Redis by the clients that use keys under `prefix` (not by scripts), read from MONITOR
 * over a plain socket: each line reads `+<time> [<db> <source>] "<command>" "<arg>" ...`.
 */
export async function watchCommands(url: string, prefix: string) {
  const { hostname, port, password } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port || 6379) });
  const encoder = new TextEncoder();
  if (password) await conn.write(encoder.encode(`AUTH ${decodeURIComponent(password)}\r\n`));
  await conn.write(encoder.encode("MONITOR\r\n"));
  const sent: string[] = [];
  const ours = new Set<string>();
  // Markers sent by caughtUp() on a connection of their own.
  const marker = `${prefix}monitor-caught-up:`;
  const seenMarkers = new Set<string>();
  let markers = 0;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of conn.readable) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\r\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const match = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"(.*)$/.exec(line);
        if (!match || match[1] === "lua") continue;
        if (match[2] === "EXISTS" && match[3].includes(marker)) {
          seenMarkers.add(match[3]);
          continue;
        }
        // A connection is ours once it names a key of ours (MULTI and EXEC name none).
        if (match[3].includes(prefix)) ours.add(match[1]);
        if (ours.has(match[1])) sent.push(match[2].toLowerCase());
      }
    }
  })().catch(() => {});
  return {
    sent,
    /** Waits until a script run of ours showed (a warm-up's), then forgets everything seen. */
    async clearAfterScript(): Promise<void> {
      // The first run of a script on a connection is an EVAL, later ones EVALSHA.
      await until(() => sent.some((c) => c.startsWith("eval")), 2000, "a script run in MONITOR");
      sent.splice(0);
    },
    /**
     * Waits until MONITOR has shown every command Redis ran before this call (its lines trail the
     * replies, and arrive in the order Redis ran the commands): a marker command goes out on a
     * connection of its own and is awaited.
     */
    async caughtUp(): Promise<void> {
      const key = `${marker}${++markers}`;
      const probe = await Deno.connect({ hostname, port: Number(port || 6379) });
      try {
        const auth = password ? `AUTH ${decodeURIComponent(password)}\r\n` : "";
        await probe.write(encoder.encode(`${auth}EXISTS ${key}\r\n`));
        await until(() => [...seenMarkers].some((m) => m.includes(`"${key}"`)), 2000, "marker");
      } finally {
        probe.close();
      }
    },
    /** Waits for `count` commands, and 100 ms for any more (MONITOR lines trail), and returns them. */
    async settled(count = 1): Promise<string[]> {
      await until(() => sent.length >= count, 2000, `${count} commands in MONITOR`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return [...sent];
    },
    close: () => {
      conn.close();
      return reading;
    },
  };
}

/**
 * Waits until an instance's pub/sub channels are active (the live feed and its control channel):
 * a test that watches MONITOR then sees no SUBSCRIBE of the instance's start.
 */
export async function subscriptionsActive(deps: ReturnType<typeof createRedisDeps>): Promise<void> {
  await until(() => deps.bus.readiness().ready, 5000, "bus ready");
  await deps.subscriber.whenActive(deps.keys.liveFeed);
  await deps.subscriber.whenActive(deps.keys.control(deps.instanceId));
}

/** A RedisStore on connections of its own, as one instance has (`deps.close()` releases them). */
export function redisStoreOn(url: string, prefix: string, instanceId: string) {
  const deps = createRedisDeps({ url, prefix, instanceId, log: false });
  return { deps, store: new RedisStore({ redis: deps.redis, bus: deps.bus, keys: deps.keys }) };
}
