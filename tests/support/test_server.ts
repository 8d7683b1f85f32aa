/**
 * Starts the real service on a free loopback port for a test, with config overrides.
 *
 * @module
 */

import { mintToken } from "../../server/auth/token_verifier.ts";
import { type Config, parseConfig } from "../../server/config.ts";
import { type RunningService, startService } from "../../server/main.ts";

/** A shared secret for tests (never a real one). */
export const TEST_SECRET = "test-secret-that-is-at-least-32-bytes-long!";

/** A service under test plus token helpers. */
export interface TestServer extends RunningService {
  config: Config;
  student(sub: string, classId: string, ttlSeconds?: number): Promise<string>;
  teacher(sub: string, classIds: string[]): Promise<string>;
  admin(sub?: string): Promise<string>;
}

/**
 * Starts a service with `JWT_SECRET` = {@link TEST_SECRET}, port 0 and the test endpoint on.
 *
 * @example
 * ```ts
 * await using server = await startTestServer({ HEARTBEAT_MS: "100" });
 * ```
 */
export async function startTestServer(
  env: Record<string, string> = {},
): Promise<TestServer & AsyncDisposable> {
  const config = parseConfig({
    JWT_SECRET: TEST_SECRET,
    PORT: "0",
    HOST: "127.0.0.1",
    ENABLE_TEST_ENDPOINT: "true",
    SHUTDOWN_GRACE_MS: "200",
    ...env,
  });
  const service = await startService(config);
  const secret = "secret" in config.jwt ? config.jwt.secret : TEST_SECRET;
  return {
    ...service,
    config,
    student: (sub, classId, ttl = 3600) =>
      mintToken(secret, { sub, role: "student", classId }, ttl),
    teacher: (sub, classIds) => mintToken(secret, { sub, role: "teacher", classIds }, 3600),
    admin: (sub = "admin-1") => mintToken(secret, { sub, role: "admin" }, 3600),
    [Symbol.asyncDispose]: () => service.shutdown(),
  };
}

/** POSTs JSON with a bearer token and returns status, headers and parsed body. */
export async function postJson(
  url: string,
  token: string | undefined,
  body: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, {
    method: "POST",
    headers,
    // A string or a stream (sent chunked) goes as it is; anything else as its JSON.
    body: typeof body === "string" || body instanceof ReadableStream ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** GETs JSON with a bearer token. */
export async function getJson(
  url: string,
  token?: string,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** Polls `check` until it returns true or the deadline passes. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 2000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
