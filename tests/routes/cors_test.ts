/** corsHeaders(): which headers a request gets, by origin and kind (the socket test is in bad_input_test.ts). */
import assert from "node:assert/strict";
import { corsHeaders, type CorsPolicy } from "../../server/routes/cors.ts";

const policy: CorsPolicy = {
  allowedOrigins: new Set(["https://portal.example"]),
  allowMethods: ["GET", "POST"],
  allowHeaders: ["Authorization", "Last-Event-ID"],
  exposeHeaders: ["Retry-After"],
  maxAgeS: 600,
};

Deno.test("corsHeaders(): an allowed origin gets credentials and exposed headers; a preflight gets more", () => {
  assert.deepEqual(corsHeaders(policy, "https://portal.example", false), [
    ["Access-Control-Allow-Origin", "https://portal.example"],
    ["Access-Control-Allow-Credentials", "true"],
    ["Access-Control-Expose-Headers", "Retry-After"],
    ["Vary", "Origin"],
  ]);
  assert.deepEqual(corsHeaders(policy, "https://portal.example", true), [
    ["Access-Control-Allow-Origin", "https://portal.example"],
    ["Access-Control-Allow-Credentials", "true"],
    ["Access-Control-Expose-Headers", "Retry-After"],
    ["Access-Control-Max-Age", "600"],
    ["Access-Control-Allow-Methods", "GET,POST"],
    ["Access-Control-Allow-Headers", "Authorization,Last-Event-ID"],
    ["Vary", "Origin, Access-Control-Request-Headers"],
  ]);
});

Deno.test("corsHeaders(): other origins, near misses and no origin get only Vary", () => {
  for (const origin of [undefined, "", "https://evil.example", "https://portal.example/", "null"]) {
    assert.deepEqual(corsHeaders(policy, origin, false), [["Vary", "Origin"]], String(origin));
    assert.deepEqual(
      corsHeaders(policy, origin, true),
      [["Vary", "Origin, Access-Control-Request-Headers"]],
      String(origin),
    );
  }
});
