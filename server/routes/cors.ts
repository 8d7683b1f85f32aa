/**
 * CORS for `/api/*`: the headers of `hono/cors` with `credentials: true`, added to the response
 * the route returns instead of to a placeholder response made before it.
 *
 * Hono's middleware sets its headers on `c.res` before the route runs. That creates an empty
 * Response, and Hono then copies the route's Response into a second one to merge the two header
 * sets: three Response objects per request. On a stream connect that was 40–50 µs of the server's
 * CPU (docs/performance-log.md, "Made in the third session of 2026-11-30"). What a browser sees
 * is the same, except that `Access-Control-Allow-Credentials` and `Access-Control-Expose-Headers`
 * now come only with an allowed origin: without `Access-Control-Allow-Origin`, a browser ignores
 * them.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";

/** What a portal's browser may do. */
export interface CorsPolicy {
  /** Exact origins (`https://portal.example`) that may call the API with credentials. */
  allowedOrigins: ReadonlySet<string>;
  allowMethods: readonly string[];
  allowHeaders: readonly string[];
  exposeHeaders: readonly string[];
  /** How long a browser may cache a preflight's answer. */
  maxAgeS: number;
}

/**
 * The CORS headers of a request from `origin` (or none), for a preflight or an actual request.
 * Pure: the middleware below and the tests call it.
 *
 * @example
 * ```ts
 * corsHeaders(policy, "https://portal.example", false);
 * // [["Access-Control-Allow-Origin", "https://portal.example"], ..., ["Vary", "Origin"]]
 * ```
 */
export function corsHeaders(
  policy: CorsPolicy,
  origin: string | undefined,
  preflight: boolean,
): [string, string][] {
  const headers: [string, string][] = [];
  if (origin !== undefined && policy.allowedOrigins.has(origin)) {
    headers.push(
      ["Access-Control-Allow-Origin", origin],
      ["Access-Control-Allow-Credentials", "true"],
    );
    if (policy.exposeHeaders.length) {
      headers.push(["Access-Control-Expose-Headers", policy.exposeHeaders.join(",")]);
    }
    if (preflight) {
      headers.push(
        ["Access-Control-Max-Age", String(policy.maxAgeS)],
        ["Access-Control-Allow-Methods", policy.allowMethods.join(",")],
        ["Access-Control-Allow-Headers", policy.allowHeaders.join(",")],
      );
    }
  }
  // The answer depends on the origin (and, for a preflight, on what it asks): caches must know.
  headers.push(["Vary", preflight ? "Origin, Access-Control-Request-Headers" : "Origin"]);
  return headers;
}

/**
 * Answers preflights (`OPTIONS`, 204) and adds CORS headers to every other response.
 *
 * @example
 * ```ts
 * app.use("/api/*", cors({ allowedOrigins: new Set(["https://portal.example"]), ... }));
 * ```
 */
export function cors(policy: CorsPolicy): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (c.req.method === "OPTIONS") {
      return new Response(null, { status: 204, headers: corsHeaders(policy, origin, true) });
    }
    await next();
    // The route's own Response (or the error handler's), whose headers are mutable: Hono's own
    // `c.header()` after `next()` does the same.
    const headers = c.res.headers;
    for (const [name, value] of corsHeaders(policy, origin, false)) {
      if (name === "Vary") headers.append(name, value);
      else headers.set(name, value);
    }
  };
}
