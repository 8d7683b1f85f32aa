/**
 * The benchmark's baseline: the least a Deno SSE server can do. Each broadcast is serialized and
 * encoded once and the same bytes are enqueued into every stream; per connection it keeps only a
 * stream controller. Same paths and request shapes as the product so the load generator drives
 * both alike. With `BASELINE_SECRET` set it checks HS256 bearer tokens with WebCrypto (no jose),
 * the raw cost of authentication for the connection-rate comparison.
 *
 * Heartbeats only when asked (`POST /bench/heartbeat` `{"periodMs": 15000}`, 0 to stop): the
 * mark-to-screen scenario measures one student "while 10,000 others are connected and
 * heartbeating", so there the baseline pings as often as the product, the least way (every 25 ms
 * the next streams in turn, one frame encoded per tick). The other scenarios measure it silent, as
 * the figures for a raw server were.
 *
 * With `BASELINE_REDIS_URL` set, a class broadcast goes through Redis the least way that still
 * records it for replay and reaches every instance: one script call appends the event to the
 * class's history stream and publishes it, and the server delivers it when it comes back on its
 * pub/sub connection (`deno task bench --servers baseline-redis --class-of-40 N`). It measures what
 * one Redis round trip costs a raw server on the benchmark's machine, against which the product's
 * class of 40 through Redis can be read.
 *
 * Run: `PORT=0 deno run --allow-net --allow-env bench/baseline_server.ts`
 * It prints `baseline listening on http://127.0.0.1:<port>`.
 *
 * @module
 */

const encoder = new TextEncoder();
const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
};
const RETRY = encoder.encode("retry: 1000\n\n");

/** Live streams by class: the whole per-connection state. */
const classes = new Map<string, Set<ReadableStreamDefaultController<Uint8Array>>>();
/** Every live stream, for the heartbeat's turns. */
const everyStream = new Set<ReadableStreamDefaultController<Uint8Array>>();
let lastMs = 0;
let seq = 0;

function nextId(): string {
  const now = Date.now();
  if (now > lastMs) [lastMs, seq] = [now, 0];
  else seq++;
  return `${lastMs}-${seq}`;
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(
    atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)),
    (c) => c.charCodeAt(0),
  );
}

type Claims = { sub?: string; role?: string; classId?: string; exp?: number };

/** Verifies an HS256 JWT; null when missing, malformed, badly signed or expired. */
async function verify(request: Request, key: CryptoKey | null): Promise<Claims | null> {
  const token = request.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
  const parts = token.split(".");
  if (parts.length !== 3) return key ? null : { role: "student", classId: "all" };
  try {
    const claims = JSON.parse(new TextDecoder().decode(fromBase64Url(parts[1]))) as Claims;
    if (!key) return claims;
    const signed = encoder.encode(`${parts[0]}.${parts[1]}`);
    const ok = await crypto.subtle.verify("HMAC", key, fromBase64Url(parts[2]), signed);
    return ok && typeof claims.exp === "number" && claims.exp * 1000 > Date.now() ? claims : null;
  } catch {
    return null;
  }
}

/**
 * `BASELINE_PULL=1` gives each stream a `pull` callback and a byte-size strategy, like the
 * product's SseConnection: an A/B switch to measure what those cost per delivery.
 */
const PULL_VARIANT = Deno.env.get("BASELINE_PULL") === "1";

function openStream(classId: string): Response {
  let members = classes.get(classId);
  if (!members) classes.set(classId, members = new Set());
  const set = members;
  let self: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      self = controller;
      set.add(controller);
      everyStream.add(controller);
      const at = new Date().toISOString();
      controller.enqueue(RETRY);
      controller.enqueue(encoder.encode(
        `event: ping\ndata: {"type":"ping","data":{"timestamp":"${at}","connectionId":"${crypto.randomUUID()}"},"timestamp":"${at}"}\n\n`,
      ));
    },
    cancel() {
      set.delete(self);
      everyStream.delete(self);
    },
    ...(PULL_VARIANT ? { pull() {} } : {}),
  }, PULL_VARIANT ? { highWaterMark: 1, size: (chunk) => chunk.byteLength } : undefined);
  return new Response(body, { headers: SSE_HEADERS });
}

function notificationJson(message: string): string {
  const at = new Date().toISOString();
  return JSON.stringify({
    type: "notification",
    data: { id: crypto.randomUUID(), title: "Broadcast", message, severity: "info", createdAt: at },
    timestamp: at,
  });
}

function broadcast(classId: string, message: string): number {
  if (!classes.get(classId)) return 0;
  return deliver(classId, nextId(), notificationJson(message));
}

function deliver(classId: string, id: string, json: string): number {
  const members = classes.get(classId);
  if (!members) return 0;
  // Encoded once; the same bytes go into every stream.
  const frame = encoder.encode(`id: ${id}\nevent: notification\ndata: ${json}\n\n`);
  for (const controller of members) {
    try {
      controller.enqueue(frame);
    } catch {
      members.delete(controller);
    }
  }
  return members.size;
}

/**
 * Appends the event to the class's history stream and publishes it with its id, in one script
 * call: the least a server must ask of Redis so that every instance delivers the event and a
 * reconnecting client can be replayed what it missed.
 */
const RECORD_AND_PUBLISH_LUA = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', 1000, '*', 'e', ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[1] .. '\\n' .. id .. '\\n' .. ARGV[2])
return id`;

/** A class broadcast through Redis: delivered when its message comes back on `channel`. */
interface RedisBroadcaster {
  broadcast(classId: string, message: string): Promise<number>;
}

async function connectRedis(url: string, prefix: string): Promise<RedisBroadcaster> {
  const { Redis } = await import("ioredis");
  // Bounded like the product's clients: a failed connect or command gives up, never retries.
  const bounds = {
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  };
  const commands = new Redis(url, { ...bounds, connectionName: "baseline" });
  const subscriber = new Redis(url, { ...bounds, connectionName: "baseline:live" });
  for (const client of [commands, subscriber]) {
    client.on("error", (error: Error) => console.error(`baseline redis: ${error.message}`));
  }
  const channel = `${prefix}live`;
  await Promise.all([
    new Promise((resolve) => commands.once("ready", resolve)),
    new Promise((resolve) => subscriber.once("ready", resolve)),
  ]);
  await subscriber.subscribe(channel);
  subscriber.on("message", (_channel: string, text: string) => {
    const first = text.indexOf("\n");
    const second = text.indexOf("\n", first + 1);
    deliver(text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1));
  });
  commands.defineCommand("baselineRecord", { numberOfKeys: 2, lua: RECORD_AND_PUBLISH_LUA });
  const record = (commands as unknown as {
    baselineRecord(stream: string, live: string, classId: string, json: string): Promise<string>;
  }).baselineRecord.bind(commands);
  return {
    async broadcast(classId, message) {
      await record(`${prefix}history:${classId}`, channel, classId, notificationJson(message));
      return classes.get(classId)?.size ?? 0;
    },
  };
}

const HEARTBEAT_TICK_MS = 25;
let heartbeat: ReturnType<typeof setInterval> | undefined;

/**
 * Pings every stream once per `periodMs` (none when 0): every 25 ms the next `n × 25 / periodMs`
 * streams in turn (fractions carried over) get the same frame, encoded once for the tick.
 */
function startHeartbeat(periodMs: number): void {
  clearInterval(heartbeat);
  if (!(periodMs > 0)) return;
  // A Set's iterator is live: streams opened meanwhile are reached, closed ones skipped.
  let turn = everyStream.values();
  // Streams owed a ping, fractions carried over: n × 25 / period per tick on average.
  let owed = 0;
  heartbeat = setInterval(() => {
    owed += (everyStream.size * HEARTBEAT_TICK_MS) / periodMs;
    const count = Math.floor(owed);
    owed -= count;
    if (count === 0) return;
    const at = new Date().toISOString();
    const frame = encoder.encode(
      `event: ping\ndata: {"type":"ping","data":{"timestamp":"${at}","heartbeatMs":${periodMs}},"timestamp":"${at}"}\n\n`,
    );
    for (let i = 0; i < count; i++) {
      let next = turn.next();
      if (next.done) {
        turn = everyStream.values();
        next = turn.next();
        if (next.done) return;
      }
      try {
        next.value.enqueue(frame);
      } catch {
        everyStream.delete(next.value);
      }
    }
  }, HEARTBEAT_TICK_MS);
}

if (import.meta.main) {
  const secret = Deno.env.get("BASELINE_SECRET");
  const key = secret
    ? await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    )
    : null;
  const redisUrl = Deno.env.get("BASELINE_REDIS_URL");
  const viaRedis = redisUrl
    ? await connectRedis(redisUrl, Deno.env.get("BASELINE_REDIS_PREFIX") ?? "baseline:")
    : null;
  const json = (value: unknown, status = 200) => Response.json(value, { status });
  Deno.serve({
    port: Number(Deno.env.get("PORT") ?? 0),
    hostname: Deno.env.get("HOST") ?? "127.0.0.1",
    onListen: ({ hostname, port }) =>
      console.log(`baseline listening on http://${hostname}:${port}`),
  }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api/students/notifications/sse") {
      const claims = await verify(request, key);
      if (!claims) return json({ error: "Token is invalid" }, 401);
      return openStream(claims.classId ?? "all");
    }
    if (path === "/api/students/notifications/test" && request.method === "POST") {
      if (!await verify(request, key)) return json({ error: "Token is invalid" }, 401);
      const body = await request.json();
      const [classId, message] = [String(body.classId), String(body.message)];
      const streams = viaRedis
        ? await viaRedis.broadcast(classId, message)
        : broadcast(classId, message);
      return json({ sent: true, streams });
    }
    if (path === "/bench/heartbeat" && request.method === "POST") {
      if (!await verify(request, key)) return json({ error: "Token is invalid" }, 401);
      const { periodMs } = await request.json();
      startHeartbeat(Number(periodMs));
      return json({ periodMs: Number(periodMs), streams: everyStream.size });
    }
    return json({ error: "Not found" }, 404);
  });
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}
