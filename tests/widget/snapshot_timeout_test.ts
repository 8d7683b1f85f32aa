import assert from "node:assert/strict";
import { loadSnapshot } from "../../widget/snapshot.ts";

Deno.test("loadSnapshot() gives up on a snapshot that hangs, so the feed can retry", async () => {
  const release = Promise.withResolvers<void>();
  // A real server that accepts the request and never answers (a stalled proxy).
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async () => {
    await release.promise;
    return Response.json({});
  });
  try {
    const startedAt = Date.now();
    await assert.rejects(
      loadSnapshot(`http://127.0.0.1:${server.addr.port}`, "t", { timeoutMs: 200 }),
      (error: Error) => error.name === "TimeoutError",
    );
    assert.ok(Date.now() - startedAt < 2000);
  } finally {
    release.resolve();
    await server.shutdown();
  }
});
