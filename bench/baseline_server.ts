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

function broadcast(classId: string, message: string): number {
  const members = classes.get(classId);
  if (!members) return 0;
  const at = new Date().toISOString();
  const json = JSON.stringify({
    type: "notification",
    data: { id: crypto.randomUUID(), title: "Broadcast", message, severity: "info", createdAt: at },
    timestamp: at,
  });
  // Encoded once; the same bytes go into every stream.
  const frame = encoder.encode(`id: ${nextId()}\nevent: notification\ndata: ${json}\n\n`);
  for (const controller of members) {
    try {
      controller.enqueue(frame);
    } catch {
      members.delete(controller);
    }
  }
  return members.size;
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
      return json({ sent: true, streams: broadcast(String(body.classId), String(body.message)) });
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
