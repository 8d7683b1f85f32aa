import assert from "node:assert/strict";
import { parseConfig } from "../server/config.ts";

const SECRET = "a-secret-of-at-least-thirty-two-bytes";

Deno.test("parseConfig() fills the documented defaults", () => {
  const config = parseConfig({ JWT_SECRET: SECRET });
  assert.equal(config.port, 8000);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.demo, false);
  assert.equal(config.heartbeatMs, 15_000);
  assert.equal(config.staleMs, 30_000);
  assert.equal(config.connectRateLimit, 10);
  assert.equal(config.maxStreamsPerStudent, 5);
  assert.equal(config.enableTestEndpoint, false);
  assert.equal(config.redisPrefix, "sse:");
  assert.equal(config.historyMaxEvents, 1000);
  assert.equal(config.historyMaxAgeMs, 86_400_000);
  assert.deepEqual(config.allowedOrigins, []);
});

Deno.test("parseConfig() without secrets is demo mode: loopback, test endpoint on", () => {
  const config = parseConfig({});
  assert.equal(config.demo, true);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.enableTestEndpoint, true);
  assert.ok("secret" in config.jwt && config.jwt.secret.length >= 32);
  assert.throws(
    () => parseConfig({ HOST: "0.0.0.0" }),
    /HOST must be a loopback address in demo mode/,
  );
});

Deno.test("parseConfig() names the variable and what it expects", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ JWT_SECRET: "short" }, /JWT_SECRET must be at least 32 bytes/],
    [{ JWT_SECRET: SECRET, JWKS_URL: "https://idp/jwks" }, /not both/],
    [{ JWKS_URL: "ftp://x" }, /JWKS_URL must be an http\(s\) URL/],
    [{ JWT_SECRET: SECRET, PORT: "70000" }, /PORT must be an integer from 0 to 65535/],
    [{ JWT_SECRET: SECRET, STALE_MS: "-5" }, /STALE_MS/],
    [{ JWT_SECRET: SECRET, MAX_CONNECTIONS: "1e3" }, /MAX_CONNECTIONS/],
    [
      { JWT_SECRET: SECRET, ENABLE_TEST_ENDPOINT: "maybe" },
      /ENABLE_TEST_ENDPOINT must be true or false/,
    ],
    [{ JWT_SECRET: SECRET, ALLOWED_ORIGINS: "https://a.example/path" }, /ALLOWED_ORIGINS/],
    [
      { JWT_SECRET: SECRET, REDIS_URL: "localhost:6379" },
      /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/,
    ],
    [{ JWT_SECRET: SECRET, EXCUSED_ABSENCES: "ignored" }, /EXCUSED_ABSENCES/],
  ];
  for (const [env, message] of cases) assert.throws(() => parseConfig(env), message);
  assert.deepEqual(
    parseConfig({
      JWT_SECRET: SECRET,
      ALLOWED_ORIGINS: " https://a.example , http://localhost:3000 ",
    }).allowedOrigins,
    ["https://a.example", "http://localhost:3000"],
  );
});
