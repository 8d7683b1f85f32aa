import assert from "node:assert/strict";
import { MicrotaskBatch } from "../../server/redis/microtask_batch.ts";

/** A batch that doubles numbers and records each run's inputs. */
function doubling(maxBatch = 100) {
  const runs: number[][] = [];
  const batch = new MicrotaskBatch((inputs: number[]) => {
    runs.push(inputs);
    return Promise.resolve(inputs.map((n) => 2 * n));
  }, maxBatch);
  return { batch, runs };
}

Deno.test("MicrotaskBatch: calls of one microtask checkpoint share one run, in order", async () => {
  const { batch, runs } = doubling();
  const answers = await Promise.all([1, 2, 3].map((n) => batch.add(n)));
  assert.deepEqual(answers, [2, 4, 6]);
  assert.deepEqual(runs, [[1, 2, 3]]);
  // Calls made after that checkpoint form the next run.
  assert.equal(await batch.add(4), 8);
  assert.deepEqual(runs, [[1, 2, 3], [4]]);
});

Deno.test("MicrotaskBatch: calls continued from one resolution are gathered too", async () => {
  const { batch, runs } = doubling();
  // Like requests that one socket read of replies woke up: each makes its call one step later.
  const woken = Promise.resolve();
  const answers = await Promise.all([5, 6, 7].map((n) => woken.then(() => batch.add(n))));
  assert.deepEqual(answers, [10, 12, 14]);
  assert.deepEqual(runs, [[5, 6, 7]]);
});

Deno.test("MicrotaskBatch: a long queue is split at maxBatch", async () => {
  const { batch, runs } = doubling(2);
  assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map((n) => batch.add(n))), [2, 4, 6, 8, 10]);
  assert.deepEqual(runs, [[1, 2], [3, 4], [5]]);
});

Deno.test("MicrotaskBatch: a failed run rejects every call of its batch, and only those", async () => {
  let fail = true;
  const batch = new MicrotaskBatch((inputs: number[]) => {
    if (fail) throw new Error("Redis down");
    return Promise.resolve(inputs);
  }, 100);
  const failed = await Promise.allSettled([1, 2].map((n) => batch.add(n)));
  assert.deepEqual(failed.map((r) => r.status), ["rejected", "rejected"]);
  assert.match(String((failed[0] as PromiseRejectedResult).reason), /Redis down/);
  fail = false;
  assert.equal(await batch.add(3), 3);
});

Deno.test("MicrotaskBatch: a run that answers the wrong number of calls rejects them", async () => {
  const batch = new MicrotaskBatch((_: number[]) => Promise.resolve([1]), 100);
  const settled = await Promise.allSettled([batch.add(1), batch.add(2)]);
  assert.deepEqual(settled.map((r) => r.status), ["rejected", "rejected"]);
  assert.match(String((settled[0] as PromiseRejectedResult).reason), /answered 1 of 2/);
});
