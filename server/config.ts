/**
 * Configuration: environment variables parsed and validated once, at start, into a typed Config.
 * A bad value stops the process with a message naming the variable and what is expected.
 *
 * @module
 */

import { DEFAULT_HISTORY_MAX_AGE_MS } from "./bus/bus.ts";

const DAY_MS = 86_400_000;

/** How tokens are verified. */
export type JwtConfig = { secret: string } | { jwksUrl: string };

/** The service's whole configuration. */
export interface Config {
  port: number;
  host: string;
  jwt: JwtConfig;
  jwtIssuer?: string;
  jwtAudience?: string;
  /** Demo mode: a throw-away secret, loopback only, test endpoint on, demo tokens printed. */
  demo: boolean;
  allowedOrigins: string[];
  heartbeatMs: number;
  staleMs: number;
  /** Connection attempts per student per minute. */
  connectRateLimit: number;
  maxStreamsPerStudent: number;
  maxConnections: number;
  /** Unsent frames a stream may queue before its client counts as too slow. */
  maxQueuedEvents: number;
  enableTestEndpoint: boolean;
  redisUrl?: string;
  redisPrefix: string;
  historyMaxEvents: number;
  historyMaxAgeMs: number;
  /** How SICK and LEAVE count in the attendance rate. */
  excusedAbsences: "absent" | "excluded";
  /** Grace given to clients on shutdown before the process exits. */
  shutdownGraceMs: number;
}

/** A configuration problem; its message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  }
  return value;
}

function flag(env: Env, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got '${raw}'`);
}

function origins(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw.split(",").map((s) => s.trim()).filter(Boolean).map((origin) => {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(
        `ALLOWED_ORIGINS must list origins like https://portal.example, got '${origin}'`,
      );
    }
    if (!/^https?:$/.test(url.protocol) || url.origin !== origin.replace(/\/$/, "")) {
      throw new ConfigError(
        `ALLOWED_ORIGINS must list origins like https://portal.example, got '${origin}'`,
      );
    }
    return url.origin;
  });
}

/**
 * Parses the environment. Throws {@link ConfigError} on the first bad value.
 *
 * @example
 * ```ts
 * const config = parseConfig(Deno.env.toObject());
 * ```
 */
export function parseConfig(env: Env): Config {
  const secret = env.JWT_SECRET || undefined;
  const jwksUrl = env.JWKS_URL || undefined;
  if (secret !== undefined && new TextEncoder().encode(secret).length < 32) {
    throw new ConfigError("JWT_SECRET must be at least 32 bytes (HS256)");
  }
  if (secret && jwksUrl) throw new ConfigError("Set JWT_SECRET or JWKS_URL, not both");
  if (jwksUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(jwksUrl)) {
    throw new ConfigError(`JWKS_URL must be an http(s) URL, got '${jwksUrl}'`);
  }
  const demo = !secret && !jwksUrl;
  const jwt: JwtConfig = secret
    ? { secret }
    : jwksUrl
    ? { jwksUrl }
    : { secret: crypto.randomUUID() + crypto.randomUUID() };

  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\/\S+$/.test(redisUrl)) {
    throw new ConfigError("REDIS_URL must be a redis:// or rediss:// URL");
  }
  const excused = env.EXCUSED_ABSENCES || "absent";
  if (excused !== "absent" && excused !== "excluded") {
    throw new ConfigError(`EXCUSED_ABSENCES must be 'absent' or 'excluded', got '${excused}'`);
  }
  const redisPrefix = env.REDIS_PREFIX ?? "sse:";
  if (!/^[A-Za-z0-9_:.-]{0,64}$/.test(redisPrefix)) {
    throw new ConfigError("REDIS_PREFIX must be up to 64 letters, digits or _:.-");
  }
  const host = env.HOST || (demo ? "127.0.0.1" : "0.0.0.0");
  if (demo && host !== "127.0.0.1" && host !== "localhost" && host !== "::1") {
    throw new ConfigError(
      "HOST must be a loopback address in demo mode (set JWT_SECRET or JWKS_URL to serve others)",
    );
  }
  const heartbeatMs = integer(env, "HEARTBEAT_MS", 15_000, 10, 3_600_000);
  const staleMs = integer(env, "STALE_MS", 30_000, 10, 3_600_000);

  return {
    port: integer(env, "PORT", 8000, 0, 65535),
    host,
    jwt,
    jwtIssuer: env.JWT_ISSUER || undefined,
    jwtAudience: env.JWT_AUDIENCE || undefined,
    demo,
    allowedOrigins: origins(env.ALLOWED_ORIGINS),
    heartbeatMs,
    staleMs,
    connectRateLimit: integer(env, "CONNECT_RATE_LIMIT", 10, 1, 1_000_000),
    maxStreamsPerStudent: integer(env, "MAX_STREAMS_PER_STUDENT", 5, 1, 10_000),
    maxConnections: integer(env, "MAX_CONNECTIONS", 10_000, 1, 1_000_000),
    maxQueuedEvents: integer(env, "MAX_QUEUED_EVENTS", 2048, 16, 1_000_000),
    enableTestEndpoint: flag(env, "ENABLE_TEST_ENDPOINT") ?? demo,
    redisUrl,
    redisPrefix,
    historyMaxEvents: integer(env, "HISTORY_MAX_EVENTS", 1000, 1, 1_000_000),
    historyMaxAgeMs: integer(
      env,
      "HISTORY_MAX_AGE_MS",
      DEFAULT_HISTORY_MAX_AGE_MS,
      1000,
      365 * DAY_MS,
    ),
    excusedAbsences: excused,
    shutdownGraceMs: integer(env, "SHUTDOWN_GRACE_MS", 3000, 0, 60_000),
  };
}
