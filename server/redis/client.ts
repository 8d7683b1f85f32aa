/**
 * The only module that imports ioredis. Every client it makes is bounded: a connect attempt gives
 * up after `connectTimeoutMs`, a command after `commandTimeoutMs`, commands fail at once while the
 * connection is down (no offline queue, no silent resend), and reconnects back off with jitter up
 * to a cap and go on for as long as the process runs, so the service starts and keeps serving
 * while Redis is away and recovers by itself when it returns.
 *
 * @module
 */

import { type ChainableCommander, Redis } from "ioredis";

export type { ChainableCommander, Redis } from "ioredis";

/** A client (or MULTI) seen through the script commands registered on it with `defineCommand`. */
export type ScriptCommands = Record<string, (...args: (string | number)[]) => Promise<unknown>>;

/** Bounds of one client. */
export interface RedisClientOptions {
  /** Shown in `CLIENT LIST` and in logs, e.g. "attendance-feed:bus:host-1". */
  name: string;
  /** Per connection attempt (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Per command (default 2000 ms). */
  commandTimeoutMs?: number;
  /** Longest wait between reconnect attempts (default 5000 ms). */
  maxBackoffMs?: number;
  /** Log connection state changes (default true). */
  log?: boolean;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): doubling from 100 ms, capped, ±20 % jitter.
 *
 * @example
 * ```ts
 * reconnectDelay(1, 5000); // ~100-120 ms
 * reconnectDelay(20, 5000); // ~4000-5000 ms
 * ```
 */
export function reconnectDelay(attempt: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, 100 * 2 ** Math.min(attempt - 1, 16));
  return Math.round(base * (0.8 + 0.2 * random()));
}

/**
 * Creates a client that starts connecting at once (in the background).
 *
 * @example
 * ```ts
 * const redis = createRedisClient("redis://127.0.0.1:6379", { name: "attendance-feed:bus" });
 * await closeRedisClient(redis);
 * ```
 */
export function createRedisClient(url: string, options: RedisClientOptions): Redis {
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  // `rediss://` URLs switch TLS on inside ioredis.
  const client = new Redis(url, {
    connectionName: options.name,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    // A command written before the connection dropped is not resent: a publish might already have
    // been recorded, and a resend would record it twice under a new id.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    // RedisBus restores its own subscriptions (and catches up on what it missed) on `ready`.
    autoResubscribe: false,
    retryStrategy: (attempt) => reconnectDelay(attempt, maxBackoffMs),
    // Error replies such as READONLY (a failover) are answered by reconnecting.
    reconnectOnError: (error) => error.message.startsWith("READONLY"),
  });
  let lastLogged = "";
  const log = (line: string) => {
    if (options.log === false || line === lastLogged) return;
    lastLogged = line;
    console.error(`[redis ${options.name}] ${line}`);
  };
  // Without an error listener ioredis prints every failed reconnect; log each new state once.
  client.on("error", (error: Error) => log(`unavailable: ${describeRedisError(error)}`));
  let up = false;
  client.on("ready", () => {
    up = true;
    if (lastLogged !== "") log("ready");
  });
  client.on("close", () => {
    if (up && !closing.has(client)) log("connection lost, reconnecting");
    up = false;
  });
  return client;
}

/**
 * Lets go of the arguments of a MULTI's or pipeline's commands once `exec()` has answered (ioredis
 * needs them no more). With ioredis 5.9 on Deno 2.9, a command's arguments outlive its reply by
 * one young-generation GC: each scavenge copied, and the next promoted, every argument sent since
 * the previous one. A class of 40's mark sends ~60 KB; in its benchmark this promoted 1.4–2 MB per
 * scavenge, made scavenges 2.5–6 ms long and, promoted, fed the old generation's collections. With
 * the arguments released: 0.5 MB promoted and pauses of 1.9–3.1 ms (docs/performance-log.md). The
 * commands sit in a private field; if a later ioredis renames it, this does nothing, and
 * tests/redis/redis_client_test.ts says so.
 */
export function releaseArguments(pipeline: ChainableCommander): void {
  const queue = (pipeline as unknown as { _queue?: Array<{ args?: unknown[] }> })._queue;
  if (!Array.isArray(queue)) return;
  for (const command of queue) {
    if (Array.isArray(command.args)) command.args = [];
  }
}

/** Clients being closed on purpose: their connection loss is not news. */
const closing = new WeakSet<Redis>();

/**
 * Closes a client whatever its state and resolves once its socket is gone (tests' resource
 * sanitizers see no leftover socket or timer).
 */
export async function closeRedisClient(client: Redis, timeoutMs = 2000): Promise<void> {
  if (client.status === "end") return;
  closing.add(client);
  const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
  if (client.status === "ready") {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      client.quit().catch(() => {}),
      new Promise((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }
  client.disconnect(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([ended, new Promise((resolve) => timer = setTimeout(resolve, timeoutMs))]);
  clearTimeout(timer);
}

/** A short description of a connection or command error, without credentials. */
export function describeRedisError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Never echo a URL that may carry a password.
  return message.replace(/rediss?:\/\/[^\s]*/g, "redis://…");
}
