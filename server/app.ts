/**
 * createApp(deps): every route mounted per area, CORS, body limits, and the one place that maps
 * domain errors to HTTP.
 *
 * @module
 */

import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { TokenVerifier } from "./auth/token_verifier.ts";
import type { Bus, BusReadiness } from "./bus/bus.ts";
import { BusUnavailableError } from "./bus/bus.ts";
import type { Config } from "./config.ts";
import { HttpError } from "./errors.ts";
import { attendanceRoutes } from "./routes/attendance.ts";
import { classRoutes } from "./routes/classes.ts";
import { cors } from "./routes/cors.ts";
import { healthRoutes } from "./routes/health.ts";
import { notificationRoutes } from "./routes/notifications.ts";
import { summaryRoutes } from "./routes/summary.ts";
import { studentStreamRoutes } from "./routes/student_stream.ts";
import { testEndpointRoutes } from "./routes/test_endpoint.ts";
import type { FeedStore } from "./store/feed_store.ts";
import type { StudentStreams } from "./streams/student_streams.ts";

/** What the routes need; main.ts decides which implementations. */
export interface AppDeps {
  config: Config;
  verifyToken: TokenVerifier;
  bus: Bus;
  /** Attendance, rosters, notifications, snapshots: MemoryStore with MemoryBus, RedisStore with RedisBus. */
  store: FeedStore;
  streams: StudentStreams;
  instanceId: string;
  /** Readiness beyond the bus (e.g. draining); defaults to the bus's. */
  readiness?: () => BusReadiness;
  /** Extra route groups (widget assets, demo portal) mounted at the root, last. */
  extraRoutes?: Hono[];
}

/** Default body limit; the attendance endpoint (bulk marks) allows more. */
export const BODY_LIMIT_BYTES = 64 * 1024;
/** Body limit of `POST /api/attendance`. */
export const ATTENDANCE_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Builds the Hono app.
 *
 * @example
 * ```ts
 * const app = createApp(deps);
 * Deno.serve({ port: 0 }, app.fetch);
 * ```
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(
    "/api/*",
    cors({
      allowedOrigins: new Set(deps.config.allowedOrigins),
      allowMethods: ["GET", "POST", "PUT", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "Last-Event-ID"],
      exposeHeaders: ["Retry-After"],
      maxAgeS: 600,
    }),
  );
  const tooLarge = (limit: number) => () => {
    throw new HttpError(413, `Request body too large: the limit is ${limit / 1024} KiB`);
  };
  const attendanceLimit = bodyLimit({
    maxSize: ATTENDANCE_BODY_LIMIT_BYTES,
    onError: tooLarge(ATTENDANCE_BODY_LIMIT_BYTES),
  });
  const defaultLimit = bodyLimit({
    maxSize: BODY_LIMIT_BYTES,
    onError: tooLarge(BODY_LIMIT_BYTES),
  });
  app.use(
    "/api/*",
    (c, next) =>
      c.req.path === "/api/attendance" ? attendanceLimit(c, next) : defaultLimit(c, next),
  );

  app.route("/", healthRoutes(deps.readiness ?? (() => deps.bus.readiness())));
  app.route("/", studentStreamRoutes(deps));
  if (deps.config.enableTestEndpoint) app.route("/", testEndpointRoutes(deps));
  const feature = {
    verifyToken: deps.verifyToken,
    store: deps.store,
    excusedAbsences: deps.config.excusedAbsences,
  };
  app.route("/", attendanceRoutes(feature));
  app.route("/", notificationRoutes(feature));
  app.route("/", summaryRoutes(feature));
  app.route("/", classRoutes(feature));
  for (const routes of deps.extraRoutes ?? []) app.route("/", routes);

  app.notFound((c) => c.json({ error: `Not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    if (error instanceof HttpError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      return c.json(
        { error: error.message, ...error.details },
        error.status as 400,
      );
    }
    if (error instanceof BusUnavailableError) {
      c.header("Retry-After", "5");
      return c.json({ error: `Service unavailable: ${error.message}`, retryAfterS: 5 }, 503);
    }
    if (error instanceof HTTPException) {
      return c.json({ error: error.message || "Bad request" }, error.status);
    }
    console.error(`unhandled error on ${c.req.method} ${c.req.path}:`, error);
    return c.json({ error: "Internal server error" }, 500);
  });
  return app;
}
