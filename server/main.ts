/**
 * Wiring only: config -> dependencies -> Deno.serve(app.fetch). The one file that knows which
 * implementations (memory or Redis) are in use.
 *
 * @module
 */

import { createTokenVerifier } from "./auth/token_verifier.ts";
import { cacheVerifiedTokens } from "./auth/verified_token_cache.ts";
import { createApp } from "./app.ts";
import type { Bus } from "./bus/bus.ts";
import { MemoryBus } from "./bus/memory_bus.ts";
import { type Config, ConfigError, parseConfig } from "./config.ts";
import { type ConnectRateLimiter, MemoryRateLimiter } from "./limits/connect_rate_limiter.ts";
import { type ConnectionTracker, MemoryConnectionTracker } from "./streams/connection_tracker.ts";
import { startHeartbeat } from "./streams/heartbeat.ts";
import { StudentStreams } from "./streams/student_streams.ts";
import type { FeedStore } from "./store/feed_store.ts";
import { MemoryStore } from "./store/memory_store.ts";
import { RedisStore } from "./store/redis_store.ts";
import { createRedisDeps } from "./redis/redis_deps.ts";
import { widgetAssetRoutes } from "./routes/widget_assets.ts";
import { idleGcFromRuntime } from "./runtime/idle_gc.ts";
import { demoPortalRoutes, demoTokens } from "./routes/demo_portal.ts";

/** A running service. */
export interface RunningService {
  url: string;
  /** Drains streams (telling clients to reconnect), stops the server and releases everything. */
  shutdown(): Promise<void>;
  finished: Promise<void>;
  /** The instance's parts, for tests and the benchmark to observe. */
  internals: { bus: Bus; streams: StudentStreams; instanceId: string };
}

interface Backends {
  bus: Bus;
  tracker: ConnectionTracker;
  limiter: ConnectRateLimiter;
  store: FeedStore;
  close(): Promise<void>;
}

function memoryBackends(config: Config): Backends {
  const bus = new MemoryBus({
    maxEvents: config.historyMaxEvents,
    maxAgeMs: config.historyMaxAgeMs,
  });
  return {
    bus,
    tracker: new MemoryConnectionTracker(),
    limiter: new MemoryRateLimiter({ limit: config.connectRateLimit }),
    store: new MemoryStore(bus),
    close: () => bus.close(),
  };
}

function redisBackends(config: Config, redisUrl: string, instanceId: string): Backends {
  const redis = createRedisDeps({
    url: redisUrl,
    prefix: config.redisPrefix,
    instanceId,
    historyMaxEvents: config.historyMaxEvents,
    historyMaxAgeMs: config.historyMaxAgeMs,
    connectRateLimit: config.connectRateLimit,
  });
  return {
    bus: redis.bus,
    tracker: redis.tracker,
    limiter: redis.limiter,
    store: new RedisStore({
      redis: redis.redis,
      bus: redis.bus,
      keys: redis.keys,
      historyMaxAgeMs: config.historyMaxAgeMs,
    }),
    close: () => redis.close(),
  };
}

/**
 * Starts the service with a parsed config.
 *
 * @example
 * ```ts
 * const service = await startService(parseConfig(Deno.env.toObject()));
 * await service.shutdown();
 * ```
 */
export async function startService(config: Config): Promise<RunningService> {
  const instanceId = `${Deno.hostname()}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const backends = config.redisUrl
    ? redisBackends(config, config.redisUrl, instanceId)
    : memoryBackends(config);
  const verifyToken = cacheVerifiedTokens(createTokenVerifier({
    ...config.jwt,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
  }));
  // Young-generation collections between requests rather than inside them (with --expose-gc).
  const idleGc = idleGcFromRuntime();
  const streams = new StudentStreams({
    // Events marked through another instance arrive without a request here.
    onDeliver: idleGc ? () => idleGc.touch() : undefined,
    bus: backends.bus,
    tracker: backends.tracker,
    limiter: backends.limiter,
    settings: {
      instanceId,
      heartbeatMs: config.heartbeatMs,
      maxConnections: config.maxConnections,
      maxStreamsPerStudent: config.maxStreamsPerStudent,
      maxQueuedEvents: config.maxQueuedEvents,
    },
  });
  const stopHeartbeat = startHeartbeat(streams, {
    heartbeatMs: config.heartbeatMs,
    staleMs: config.staleMs,
  });
  const extraRoutes = [widgetAssetRoutes()];
  if (config.demo && "secret" in config.jwt) {
    extraRoutes.push(demoPortalRoutes(demoTokens(config.jwt.secret)));
  }
  const app = createApp({
    config,
    extraRoutes,
    verifyToken,
    bus: backends.bus,
    store: backends.store,
    streams,
    instanceId,
    readiness: () =>
      streams.draining ? { ready: false, reason: "shutting down" } : backends.bus.readiness(),
  });

  const handler: Deno.ServeHandler = idleGc
    ? async (request, info) => {
      const end = idleGc.begin();
      try {
        return await app.fetch(request, info);
      } finally {
        end();
      }
    }
    : app.fetch;
  const listening = Promise.withResolvers<string>();
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: ({ hostname, port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      listening.resolve(`http://${host}:${port}`);
    },
  }, handler);
  const url = await listening.promise;

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    stopping ??= (async () => {
      stopHeartbeat();
      idleGc?.close();
      streams.drain(Math.max(1000, config.shutdownGraceMs));
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        server.shutdown(),
        new Promise((r) => timer = setTimeout(r, config.shutdownGraceMs + 500)),
      ]);
      clearTimeout(timer);
      await backends.close();
    })();
  return {
    url,
    shutdown,
    finished: server.finished,
    internals: { bus: backends.bus, streams, instanceId },
  };
}

async function printDemo(config: Config, url: string): Promise<void> {
  if (!("secret" in config.jwt)) return;
  const tokens = demoTokens(config.jwt.secret, 86_400);
  const [student, teacher] = await Promise.all([tokens.studentToken(), tokens.teacherToken()]);
  console.log(`
Demo mode (no JWT_SECRET or JWKS_URL): throw-away secret, loopback only, test endpoint on.
  Demo portal:    ${url}/
  Student token:  ${student}
  Teacher token:  ${teacher}
Try:
  curl -N -H "Authorization: Bearer ${student}" ${url}/api/students/notifications/sse
  curl -X POST -H "Authorization: Bearer ${student}" -H "Content-Type: application/json" \\
       -d '{"testType":"notification"}' ${url}/api/students/notifications/test
`);
}

/**
 * Builds `dist/widget.js` before serving when it is missing (a fresh clone) or older than the
 * widget's sources, so the first page load
 * does not wait for esbuild. Where esbuild cannot run (Deno Deploy), the bundle must be built before
 * deploying; a failure here is logged and `/widget.js` retries on request.
 */
async function buildWidgetIfMissing(): Promise<void> {
  const bundle = new URL("../dist/widget.js", import.meta.url);
  const sources = new URL("../widget/", import.meta.url);
  const builtAt = await Deno.stat(bundle).then((info) => info.mtime?.getTime() ?? 0, () => null);
  if (builtAt !== null) {
    let newest = 0;
    try {
      for await (const entry of Deno.readDir(sources)) {
        const modified = (await Deno.stat(new URL(entry.name, sources))).mtime?.getTime() ?? 0;
        newest = Math.max(newest, modified);
      }
    } catch {
      return; // A deploy that ships the bundle without the sources.
    }
    if (newest <= builtAt) return;
  }
  try {
    const builder = new URL("../widget/build.ts", import.meta.url).href;
    const { buildWidget } = await import(builder) as typeof import("../widget/build.ts");
    const { gzipBytes } = await buildWidget();
    console.log(`built dist/widget.js (${(gzipBytes / 1024).toFixed(1)} KB gzipped)`);
  } catch (error) {
    console.error(
      `widget build failed, /widget.js will retry on request: ${(error as Error).message}`,
    );
  }
}

if (import.meta.main) {
  let config: Config;
  try {
    config = parseConfig(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    Deno.exit(1);
  }
  await buildWidgetIfMissing();
  const service = await startService(config);
  console.log(
    `attendance-feed listening on ${service.url} (${config.redisUrl ? "redis" : "memory"} mode)`,
  );
  if (config.demo) await printDemo(config, service.url);
  const stop = async (signal: string) => {
    console.log(`${signal}: telling clients to reconnect, shutting down`);
    await service.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}
