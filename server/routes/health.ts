/**
 * Liveness and readiness.
 *
 * @module
 */

import { Hono } from "hono";
import type { BusReadiness } from "../bus/bus.ts";

/**
 * `GET /healthz` answers 200 while the process runs; `GET /readyz` answers 503 with the reason
 * while a dependency (Redis) is unreachable or the instance is draining.
 */
export function healthRoutes(readiness: () => BusReadiness): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const state = readiness();
    return state.ready
      ? c.json({ status: "ready" })
      : c.json({ status: "unavailable", error: state.reason ?? "not ready" }, 503);
  });
  return app;
}
