/**
 * The baseline pings its streams when asked to (the mark-to-screen scenario compares the product
 * with a baseline that heartbeats as often), and not before. Over a real socket, with the baseline
 * as the benchmark starts it.
 */

import assert from "node:assert/strict";
import { startServer } from "../../bench/server_process.ts";

/** Reads frames of `reader` for `ms`, returning the event names seen. */
async function eventsFor(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number) {
  const names: string[] = [];
  const decoder = new TextDecoder();
  let text = "";
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const timer = new Promise<null>((r) => setTimeout(() => r(null), until - Date.now()));
    const chunk = await Promise.race([reader.read(), timer]);
    if (chunk === null || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  for (const frame of text.split("\n\n")) {
    const name = /^event: (\S+)/m.exec(frame)?.[1];
    if (name) names.push(name);
  }
  return names;
}

Deno.test("baseline: POST /bench/heartbeat makes it ping every stream once per period", async () => {
  const server = await startServer({ kind: "baseline", env: {} });
  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${server.url}/api/students/notifications/sse`);
      assert.equal(response.status, 200);
      readers.push(response.body!.getReader());
    }
    // The first ping comes with the stream, as the product's does; then nothing until asked.
    for (const reader of readers) assert.deepEqual(await eventsFor(reader, 300), ["ping"]);

    const started = await fetch(`${server.url}/bench/heartbeat`, {
      method: "POST",
      body: JSON.stringify({ periodMs: 200 }),
    });
    assert.deepEqual(await started.json(), { periodMs: 200, streams: 3 });
    // 1 s at one ping per 200 ms: about five each, the streams taking turns.
    const counts = await Promise.all(
      readers.map(async (r) => (await eventsFor(r, 1000)).filter((n) => n === "ping").length),
    );
    for (const count of counts) assert.ok(count >= 3 && count <= 7, `pings: ${counts}`);

    await fetch(`${server.url}/bench/heartbeat`, {
      method: "POST",
      body: JSON.stringify({ periodMs: 0 }),
    }).then((r) => r.body?.cancel());
    await eventsFor(readers[0], 100); // a ping already on its way
    assert.deepEqual(await eventsFor(readers[0], 500), [], "stopped");
  } finally {
    for (const reader of readers) await reader.cancel().catch(() => {});
    await server.stop();
  }
});
