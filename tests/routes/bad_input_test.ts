import assert from "node:assert/strict";
import { openStream } from "../support/sse_client.ts";
import { getJson, postJson, startTestServer } from "../support/test_server.ts";

const TEST_PATH = "/api/students/notifications/test";

Deno.test("bad input: 400/413/404 JSON answers while another client's stream stays live", async () => {
  await using server = await startTestServer();
  const token = await server.student("s-1", "c-1");
  const live = await openStream(server.url, { token: await server.student("watcher", "c-1") });
  await live.waitFor((e) => e.event === "ping");
  const url = server.url + TEST_PATH;

  const notJson = await postJson(url, token, "{not json");
  assert.equal(notJson.status, 400);
  assert.match(String(notJson.body.error), /must be a JSON object/);

  const array = await postJson(url, token, [1, 2]);
  assert.equal(array.status, 400);

  const unknown = await postJson(url, token, { testType: "explode" });
  assert.equal(unknown.status, 400);
  assert.match(
    String(unknown.body.error),
    /ping, attendance_update, metrics_update, notification, class_broadcast, connection_info/,
  );

  const wrongType = await postJson(url, token, { testType: 42 });
  assert.equal(wrongType.status, 400);
  assert.deepEqual((wrongType.body.problems as { field: string }[])[0].field, "testType");

  const badClass = await postJson(url, await server.admin(), {
    testType: "class_broadcast",
    classId: { $ne: 1 },
  });
  assert.equal(badClass.status, 400);
  assert.match(String(badClass.body.error), /classId/);

  const huge = await postJson(url, token, { testType: "ping", pad: "x".repeat(70 * 1024) });
  assert.equal(huge.status, 413);
  assert.match(String(huge.body.error), /64 KiB/);

  const missing = await getJson(server.url + "/api/nothing-here", token);
  assert.equal(missing.status, 404);
  assert.match(String(missing.body.error), /Not found: GET \/api\/nothing-here/);

  const badBytes = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: new Uint8Array([0xff, 0xfe, 0x00, 0x7b]),
  });
  assert.equal(badBytes.status, 400);
  await badBytes.body?.cancel();

  // The watcher's stream was not disturbed: it still receives what is sent to it.
  const sent = await postJson(url, await server.student("watcher", "c-1"), {
    testType: "notification",
  });
  await live.waitFor((e) => e.id === sent.body.eventId);
  assert.equal(live.hasEnded(), false);
  await live.close();
});

Deno.test("test endpoint: 404 unless enabled; GET reports the caller's streams and totals", async () => {
  {
    await using server = await startTestServer({ ENABLE_TEST_ENDPOINT: "false" });
    const answer = await getJson(server.url + TEST_PATH, await server.student("s-1", "c-1"));
    assert.equal(answer.status, 404);
  }
  await using server = await startTestServer();
  const token = await server.student("s-1", "c-1");
  const stream = await openStream(server.url, { token });
  const ping = await stream.waitFor((e) => e.event === "ping");
  const info = await getJson(server.url + TEST_PATH, token);
  assert.equal(info.status, 200);
  const streams = info.body.streams as { connectionId: string }[];
  assert.deepEqual(streams.map((s) => s.connectionId), [ping.envelope.data.connectionId]);
  assert.deepEqual(info.body.total, { total: 1, byInstance: { [server.internals.instanceId]: 1 } });
  const viaPost = await postJson(server.url + TEST_PATH, token, { testType: "connection_info" });
  assert.deepEqual(viaPost.body.streams, info.body.streams);
  const pinged = await postJson(server.url + TEST_PATH, token, { testType: "ping" });
  assert.equal(pinged.body.streams, 1);
  await stream.waitFor((e) => e.event === "ping", 2000, 1);
  await stream.close();
});

Deno.test("health: /healthz and /readyz answer 200 in memory mode", async () => {
  await using server = await startTestServer();
  assert.deepEqual((await getJson(server.url + "/healthz")).body, { status: "ok" });
  const ready = await getJson(server.url + "/readyz");
  assert.equal(ready.status, 200);
});

Deno.test("cors: only ALLOWED_ORIGINS get Access-Control-Allow-Origin; preflight works", async () => {
  await using server = await startTestServer({
    ALLOWED_ORIGINS: "https://portal.example,http://localhost:3000",
  });
  const token = await server.student("s-1", "c-1");
  const preflight = await fetch(server.url + "/api/students/notifications/sse", {
    method: "OPTIONS",
    headers: {
      origin: "https://portal.example",
      "access-control-request-method": "GET",
      "access-control-request-headers": "authorization,last-event-id",
    },
  });
  await preflight.body?.cancel();
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "https://portal.example");
  assert.equal(preflight.headers.get("access-control-allow-credentials"), "true");
  assert.equal(preflight.headers.get("access-control-max-age"), "600");
  assert.equal(preflight.headers.get("access-control-allow-methods"), "GET,POST,PUT,OPTIONS");
  assert.match(preflight.headers.get("vary")!, /Origin/);
  assert.match(
    preflight.headers.get("access-control-allow-headers")!.toLowerCase(),
    /authorization/,
  );
  assert.match(
    preflight.headers.get("access-control-allow-headers")!.toLowerCase(),
    /last-event-id/,
  );

  const allowed = await openStream(server.url, {
    token,
    headers: { origin: "http://localhost:3000" },
  });
  assert.equal(allowed.headers.get("access-control-allow-origin"), "http://localhost:3000");
  assert.equal(allowed.headers.get("access-control-allow-credentials"), "true");
  assert.equal(allowed.headers.get("access-control-expose-headers"), "Retry-After");
  assert.equal(allowed.headers.get("vary"), "Origin");
  // The stream's own headers are kept.
  assert.match(allowed.headers.get("content-type")!, /^text\/event-stream/);
  assert.equal(allowed.headers.get("x-accel-buffering"), "no");
  await allowed.close();

  // An error answer carries them too, so that the portal's script can read its JSON.
  const refused = await fetch(server.url + "/api/students/notifications/sse", {
    headers: { origin: "http://localhost:3000", authorization: "Bearer not-a-token" },
  });
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get("access-control-allow-origin"), "http://localhost:3000");
  assert.match(String((await refused.json()).error), /Token is malformed/);

  const foreign = await openStream(server.url, {
    token,
    headers: { origin: "https://evil.example" },
  });
  assert.equal(foreign.headers.get("access-control-allow-origin"), null);
  assert.equal(foreign.headers.get("access-control-allow-credentials"), null);
  assert.equal(foreign.headers.get("vary"), "Origin");
  await foreign.close();
  const foreignPreflight = await fetch(server.url + "/api/students/notifications/test", {
    method: "OPTIONS",
    headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
  });
  await foreignPreflight.body?.cancel();
  assert.equal(foreignPreflight.headers.get("access-control-allow-origin"), null);
});
