import assert from "node:assert/strict";
import {
  decodeClaims,
  TokenFetchError,
  TokenSource,
  TokenUnavailableError,
} from "../../widget/token_source.ts";

const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJIUzI1NiJ9.${
    btoa(JSON.stringify(claims)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
  }.sig`;

function tokenPortal(answer: () => Response) {
  let hits = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
    hits++;
    return answer();
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/token`,
    hits: () => hits,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("decodeClaims() reads sub and exp, including base64url characters", () => {
  assert.deepEqual(decodeClaims(jwt({ sub: "s-1", exp: 10, n: "??>>" })), {
    sub: "s-1",
    exp: 10,
    n: "??>>",
  });
  assert.equal(decodeClaims("not-a-jwt"), null);
  assert.equal(decodeClaims("a.%%%.c"), null);
});

Deno.test("TokenSource.get() keeps a fresh token and refetches one about to expire", async () => {
  const now = 1_000_000_000_000;
  const fresh = jwt({ sub: "s-1", exp: now / 1000 + 3600 });
  const expiring = jwt({ sub: "s-1", exp: now / 1000 + 10 });
  await using portal = await tokenPortal(() => Response.json({ token: fresh }));
  const tokens = new TokenSource({ token: expiring, tokenUrl: portal.url, now: () => now });
  assert.equal(await tokens.get(), fresh);
  assert.equal(await tokens.get(), fresh);
  assert.equal(portal.hits(), 1);
});

Deno.test("TokenSource.refresh() shares one fetch between concurrent callers", async () => {
  await using portal = await tokenPortal(() => Response.json({ token: jwt({ sub: "s" }) }));
  const tokens = new TokenSource({ tokenUrl: portal.url });
  await Promise.all([tokens.refresh(), tokens.refresh(), tokens.get()]);
  assert.equal(portal.hits(), 1);
});

Deno.test("TokenSource refuses without a way to renew, and classifies token-url failures", async () => {
  await assert.rejects(new TokenSource({}).get(), TokenUnavailableError);
  await assert.rejects(new TokenSource({ token: "t" }).refresh(), TokenUnavailableError);
  {
    await using portal = await tokenPortal(() => Response.json({ error: "no" }, { status: 401 }));
    await assert.rejects(new TokenSource({ tokenUrl: portal.url }).get(), TokenUnavailableError);
  }
  {
    await using portal = await tokenPortal(() => new Response("down", { status: 502 }));
    await assert.rejects(new TokenSource({ tokenUrl: portal.url }).get(), TokenFetchError);
  }
  {
    await using portal = await tokenPortal(() => Response.json({ nope: 1 }));
    await assert.rejects(new TokenSource({ tokenUrl: portal.url }).get(), TokenUnavailableError);
  }
});
