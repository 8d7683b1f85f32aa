/**
 * The load generator's command channel: replies are not kept once answered, and a worker that
 * exits fails its commands instead of leaving them pending. Real worker processes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { WorkerProcess } from "../../bench/worker_pool.ts";
import { evalWithExposedGc } from "../support/exposed_gc.ts";

const WORKER_POOL = new URL("../../bench/worker_pool.ts", import.meta.url).href;

Deno.test("WorkerProcess: answered replies can be collected while the worker lives on", async () => {
  // In a process of its own: only there can the test ask V8 for a full collection (--expose-gc).
  // Each command used to race its reply against the worker's exit, which kept every reply (up to
  // ~0.5 GB of stats by the end of a full benchmark run) until the worker exited.
  const script = `
    import { WorkerProcess } from ${JSON.stringify(WORKER_POOL)};
    const worker = new WorkerProcess();
    const replies = [];
    for (let i = 0; i < 20; i++) replies.push(new WeakRef(await worker.send({ cmd: "stats" })));
    // One more command, not watched: the last watched reply no longer sits in this frame.
    await worker.send({ cmd: "reset" });
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      gc();
    }
    const kept = replies.filter((reply) => reply.deref() !== undefined).length;
    await worker.stop();
    console.log(JSON.stringify({ kept }));
  `;
  const { kept } = await evalWithExposedGc<{ kept: number }>(script);
  assert.equal(kept, 0, "every answered reply should be collectable");
});

Deno.test("WorkerProcess: commands fail, not hang, once the worker has exited", async () => {
  const worker = new WorkerProcess();
  const stats = await worker.send<{ clients: number }>({ cmd: "stats" });
  assert.equal(stats.clients, 0);
  worker.child.kill("SIGKILL");
  await worker.child.status;
  await assert.rejects(worker.send({ cmd: "stats" }), /a load worker exited unexpectedly/);
  await worker.stop();
});
