import assert from "node:assert/strict";
import { startTaskV8Flags, v8FlagsArgument } from "../../bench/server_process.ts";
import { mintToken } from "../../server/auth/token_verifier.ts";
import { openStream } from "../support/sse_client.ts";
import { spawnService } from "../support/subprocess.ts";
import { TEST_SECRET } from "../support/test_server.ts";

Deno.test("shutdown: SIGTERM tells every client to reconnect soon, closes streams and exits 0", async () => {
  const service = await spawnService({ JWT_SECRET: TEST_SECRET, SHUTDOWN_GRACE_MS: "1500" });
  const streams = await Promise.all(
    ["a", "b", "c"].map(async (sub) =>
      openStream(service.url, {
        token: await mintToken(TEST_SECRET, { sub, role: "student", classId: "c-1" }, 600),
      })
    ),
  );
  for (const stream of streams) await stream.waitFor((e) => e.event === "ping");
  const startedAt = Date.now();
  service.child.kill("SIGTERM");
  for (const stream of streams) {
    const close = await stream.waitFor((e) => e.event === "close", 5000);
    assert.deepEqual(close.envelope.data, {
      reason: "shutdown",
      reconnect: true,
      retryAfterMs: 1500,
    });
    await stream.ended;
  }
  const status = await service.status;
  assert.equal(status.code, 0, service.output());
  assert.ok(Date.now() - startedAt < 5000, "exits within Deno Deploy's 5 s");
  // Refuses new connections once stopped.
  await assert.rejects(fetch(service.url + "/healthz"));
});

Deno.test("demo mode: no secret needed, loopback only, demo tokens printed and working", async () => {
  const service = await spawnService({ JWT_SECRET: "", JWKS_URL: "", HOST: "" });
  try {
    assert.match(service.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await new Promise((r) => setTimeout(r, 200));
    const token = /Student token:\s+(\S+)/.exec(service.output())?.[1];
    assert.ok(token, service.output());
    assert.match(service.output(), /Teacher token:\s+\S+/);
    const stream = await openStream(service.url, { token });
    assert.equal(stream.status, 200);
    const response = await fetch(service.url + "/api/students/notifications/test", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ testType: "notification" }),
    });
    const { eventId } = await response.json();
    await stream.waitFor((e) => e.id === eventId);
    await stream.close();
    assert.doesNotMatch(service.output(), /listening on http:\/\/0\.0\.0\.0/);
  } finally {
    await service.stop();
  }
});

Deno.test("config: a bad value stops the process with a message naming the variable", async () => {
  for (
    const [env, expected] of [
      [{ JWT_SECRET: "short" }, /JWT_SECRET must be at least 32 bytes/],
      [{ JWT_SECRET: TEST_SECRET, HEARTBEAT_MS: "soon" }, /HEARTBEAT_MS must be an integer/],
      [{ JWT_SECRET: TEST_SECRET, ALLOWED_ORIGINS: "portal.example" }, /ALLOWED_ORIGINS/],
    ] as const
  ) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", new URL("../../server/main.ts", import.meta.url).pathname],
      env: { PORT: "0", NO_COLOR: "1", ...env },
      stdin: "null",
    }).output();
    assert.equal(output.code, 1);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.match(stderr, expected);
    assert.doesNotMatch(stderr, /at .*\.ts:\d+/, "no stack trace");
  }
});

Deno.test("token task: mints a token the service accepts", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-env",
      new URL("../../server/mint_token.ts", import.meta.url).pathname,
      "--role",
      "student",
      "--sub",
      "s-1",
      "--class",
      "c-1",
    ],
    env: { JWT_SECRET: TEST_SECRET },
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const token = new TextDecoder().decode(output.stdout).trim();
  const service = await spawnService({ JWT_SECRET: TEST_SECRET });
  try {
    const stream = await openStream(service.url, { token });
    assert.equal(stream.status, 200);
    await stream.waitFor((e) => e.event === "ping");
    await stream.close();
  } finally {
    await service.stop();
  }
});

Deno.test("logs: tokens and the secret never appear in the service's output", async () => {
  const service = await spawnService({ JWT_SECRET: TEST_SECRET, ENABLE_TEST_ENDPOINT: "true" });
  const token = await mintToken(TEST_SECRET, { sub: "s-1", role: "student", classId: "c-1" }, 600);
  try {
    const viaQuery = await openStream(service.url, { query: `access_token=${token}` });
    await viaQuery.waitFor((e) => e.event === "ping");
    await viaQuery.close();
    const bad = await fetch(`${service.url}/api/students/notifications/sse?access_token=${token}x`);
    await bad.body?.cancel();
    const junk = await fetch(`${service.url}/api/students/notifications/test`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{oops",
    });
    await junk.body?.cancel();
  } finally {
    await service.stop();
  }
  assert.doesNotMatch(service.output(), new RegExp(token.split(".")[2]));
  assert.ok(!service.output().includes(TEST_SECRET));
});

Deno.test("idle GC: started as by `deno task start`, the service scavenges between requests", async () => {
  const v8Flags = await startTaskV8Flags();
  assert.ok(v8Flags.includes("--expose-gc"), "the start task exposes gc() to the server");
  // --trace-gc names each scavenge's cause: "testing" for a gc() call, never V8's own. V8 prints
  // to a pipe through a buffer, so its lines are read once the process has exited.
  const service = await spawnService(
    { JWT_SECRET: TEST_SECRET },
    20_000,
    v8FlagsArgument([...v8Flags, "--trace-gc"]),
  );
  const teacher = await mintToken(
    TEST_SECRET,
    { sub: "t-1", role: "teacher", classIds: ["c-1"] },
    600,
  );
  try {
    // Marks of a class of 40 fill the young generation; after each the loop is quiet for 20 ms.
    for (let k = 0; k < 60; k++) {
      const records = Array.from({ length: 40 }, (_, i) => ({
        studentId: `s-${i}`,
        classId: "c-1",
        date: "2026-12-01",
        period: 1,
        status: k % 2 === 0 ? "ABSENT" : "PRESENT",
        subject: "Mathematics",
      }));
      const response = await fetch(service.url + "/api/attendance", {
        method: "POST",
        headers: { Authorization: `Bearer ${teacher}`, "Content-Type": "application/json" },
        body: JSON.stringify({ records }),
      });
      assert.equal(response.status, 200, await response.text());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await service.stop();
  }
  assert.match(service.output(), /Scavenge[^\n]*testing/);
});
