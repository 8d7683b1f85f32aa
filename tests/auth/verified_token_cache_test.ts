import assert from "node:assert/strict";
import type { Principal } from "../../server/auth/claims.ts";
import { createTokenVerifier, mintToken } from "../../server/auth/token_verifier.ts";
import { cacheVerifiedTokens } from "../../server/auth/verified_token_cache.ts";
import { AuthenticationError } from "../../server/errors.ts";

const SECRET = "verified-token-cache-test-secret-0123456789";

/** A verifier that counts its calls and accepts tokens "ok:<sub>:<expiresAt>". */
function countingVerifier() {
  const calls: string[] = [];
  const verify = (token: string): Promise<Principal> => {
    calls.push(token);
    const [verdict, sub, expiresAt] = token.split(":");
    if (verdict !== "ok") {
      return Promise.reject(new AuthenticationError("Token is malformed", true));
    }
    return Promise.resolve({ sub, role: "teacher", classIds: ["c-1"], expiresAt: +expiresAt });
  };
  return { calls, verify };
}

Deno.test("cacheVerifiedTokens() verifies a token once, then answers from memory", async () => {
  const { calls, verify } = countingVerifier();
  const cached = cacheVerifiedTokens(verify, { now: () => 1_000 });
  const first = await cached("ok:t-1:90000");
  const second = await cached("ok:t-1:90000");
  assert.equal(calls.length, 1);
  assert.equal(second, first);
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.classIds), "shared, so frozen");
  await cached("ok:t-2:90000");
  assert.equal(calls.length, 2, "another token string is verified on its own");
});

Deno.test("cacheVerifiedTokens() never caches a failure", async () => {
  const { calls, verify } = countingVerifier();
  const cached = cacheVerifiedTokens(verify, { now: () => 1_000 });
  await assert.rejects(cached("bad:x:1"), AuthenticationError);
  await assert.rejects(cached("bad:x:1"), AuthenticationError);
  assert.equal(calls.length, 2);
});

Deno.test("cacheVerifiedTokens() verifies again at the token's expiry or the age bound", async () => {
  const { calls, verify } = countingVerifier();
  let now = 1_000;
  const cached = cacheVerifiedTokens(verify, { now: () => now, maxAgeMs: 60_000 });
  await cached("ok:t-1:5000"); // expires at 5 s
  now = 4_999;
  await cached("ok:t-1:5000");
  assert.equal(calls.length, 1);
  now = 5_000;
  await cached("ok:t-1:5000");
  assert.equal(calls.length, 2, "at its exp the token is checked again (and would be refused)");

  await cached("ok:t-2:999999999"); // long-lived: trusted for maxAgeMs only
  now += 59_999;
  await cached("ok:t-2:999999999");
  assert.equal(calls.length, 3);
  now += 1;
  await cached("ok:t-2:999999999");
  assert.equal(calls.length, 4);
});

Deno.test("cacheVerifiedTokens() keeps at most maxEntries, dropping the least recently used", async () => {
  const { calls, verify } = countingVerifier();
  const cached = cacheVerifiedTokens(verify, { now: () => 1_000, maxEntries: 2 });
  await cached("ok:a:90000");
  await cached("ok:b:90000");
  await cached("ok:a:90000"); // a is now the most recently used
  await cached("ok:c:90000"); // evicts b
  assert.equal(calls.length, 3);
  await cached("ok:a:90000");
  await cached("ok:c:90000");
  assert.equal(calls.length, 3);
  await cached("ok:b:90000");
  assert.equal(calls.length, 4);
});

Deno.test("cacheVerifiedTokens() over jose: a forged copy of a cached token is still refused", async () => {
  const cached = cacheVerifiedTokens(createTokenVerifier({ secret: SECRET }));
  const token = await mintToken(SECRET, { sub: "t-1", role: "teacher", classIds: ["c-1"] }, 60);
  assert.equal((await cached(token)).sub, "t-1");
  const [header, payload] = token.split(".");
  const forged = `${header}.${payload}.${"A".repeat(43)}`;
  await assert.rejects(cached(forged), /signature/);
  assert.equal((await cached(token)).sub, "t-1");
});
