import assert from "node:assert/strict";
import * as jose from "jose";
import { principalFromClaims } from "../../server/auth/claims.ts";
import { openStream } from "../support/sse_client.ts";
import { startTestServer, TEST_SECRET } from "../support/test_server.ts";

const SSE = "/api/students/notifications/sse";
const now = () => Math.floor(Date.now() / 1000);
const key = new TextEncoder().encode(TEST_SECRET);
const studentClaims = { sub: "s-1", role: "student", classId: "c-1" };

function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

async function refused(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  const body = await response.json();
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get("www-authenticate"),
    body,
  };
}

Deno.test("principalFromClaims() validates the portal's claims", () => {
  assert.deepEqual(principalFromClaims({ ...studentClaims, exp: 2_000_000_000 }), {
    sub: "s-1",
    role: "student",
    classId: "c-1",
    classIds: [],
    expiresAt: 2_000_000_000_000,
  });
  assert.match(principalFromClaims({ ...studentClaims, role: "parent", exp: 1 }) as string, /role/);
  assert.match(principalFromClaims({ role: "student", classId: "c", exp: 1 }) as string, /sub/);
  assert.match(principalFromClaims({ sub: "s", role: "student", exp: 1 }) as string, /classId/);
  assert.match(
    principalFromClaims({ sub: "t", role: "teacher", classIds: "c-1", exp: 1 }) as string,
    /classIds/,
  );
});

Deno.test("auth: bad tokens get 401 with WWW-Authenticate and our own message", async () => {
  await using server = await startTestServer();
  const url = server.url + SSE;
  const rsa = await jose.generateKeyPair("RS256");
  const cases: Record<string, string> = {
    malformed: "not.a.jwt",
    expired: await new jose.SignJWT(studentClaims).setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() - 60).sign(key),
    "wrong signature": await new jose.SignJWT(studentClaims).setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 60).sign(
        new TextEncoder().encode("another-secret-of-at-least-32-bytes!!"),
      ),
    "alg none": `${b64url({ alg: "none", typ: "JWT" })}.${
      b64url({ ...studentClaims, exp: now() + 60 })
    }.`,
    "unexpected alg HS512": await new jose.SignJWT(studentClaims).setProtectedHeader({
      alg: "HS512",
    })
      .setExpirationTime(now() + 60).sign(key),
    "unexpected alg RS256": await new jose.SignJWT(studentClaims).setProtectedHeader({
      alg: "RS256",
    })
      .setExpirationTime(now() + 60).sign(rsa.privateKey),
    "no exp": await new jose.SignJWT(studentClaims).setProtectedHeader({ alg: "HS256" }).sign(key),
    "bad role": await new jose.SignJWT({ ...studentClaims, role: "parent" }).setProtectedHeader({
      alg: "HS256",
    })
      .setExpirationTime(now() + 60).sign(key),
  };
  for (const [name, token] of Object.entries(cases)) {
    const answer = await refused(url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 401, name);
    assert.match(answer.wwwAuthenticate!, /^Bearer/, name);
    assert.equal(typeof answer.body.error, "string", name);
    assert.doesNotMatch(answer.body.error, /JWS|JWT "|jose|ERR_/, name);
  }
  const missing = await refused(url);
  assert.equal(missing.status, 401);
  assert.equal(missing.wwwAuthenticate, "Bearer");
  assert.match(missing.body.error, /no token/);
  const expired = await refused(url, { headers: { authorization: `Bearer ${cases.expired}` } });
  assert.equal(expired.body.error, "Token expired");
});

Deno.test("auth: the token is accepted from the header, the session-token cookie and access_token", async () => {
  await using server = await startTestServer();
  const token = await server.student("s-1", "c-1");
  const viaHeader = await openStream(server.url, { token });
  const viaCookie = await openStream(server.url, { headers: { cookie: `session-token=${token}` } });
  const viaQuery = await openStream(server.url, { query: `access_token=${token}` });
  for (const stream of [viaHeader, viaCookie, viaQuery]) {
    assert.equal(stream.status, 200);
    await stream.waitFor((e) => e.event === "ping");
    await stream.close();
  }
});

Deno.test("auth: JWKS_URL verifies RS256 tokens from the portal's key set", async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const jwks = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => Response.json({ keys: [jwk] }),
  );
  try {
    await using server = await startTestServer({
      JWT_SECRET: "",
      JWKS_URL: `http://127.0.0.1:${jwks.addr.port}/jwks.json`,
      JWT_ISSUER: "https://portal.example",
      JWT_AUDIENCE: "attendance-feed",
    });
    const sign = (claims: Record<string, unknown>) =>
      new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setExpirationTime(now() + 60).sign(privateKey);
    const good = await sign({
      ...studentClaims,
      iss: "https://portal.example",
      aud: "attendance-feed",
    });
    const stream = await openStream(server.url, { token: good });
    assert.equal(stream.status, 200);
    await stream.waitFor((e) => e.event === "ping");
    await stream.close();
    const wrongAudience = await sign({
      ...studentClaims,
      iss: "https://portal.example",
      aud: "other",
    });
    assert.equal(
      (await refused(server.url + SSE, { headers: { authorization: `Bearer ${wrongAudience}` } }))
        .status,
      401,
    );
    const hs = await new jose.SignJWT(studentClaims).setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(now() + 60).sign(key);
    assert.equal(
      (await refused(server.url + SSE, { headers: { authorization: `Bearer ${hs}` } })).status,
      401,
    );
  } finally {
    await jwks.shutdown();
  }
});
