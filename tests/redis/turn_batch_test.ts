import assert from "node:assert/strict";
import { TurnBatch } from "../../server/redis/turn_batch.ts";

/** A batch that doubles numbers and records each run's inputs. */
function doubling(maxBatch = 100) {
  const runs: number[][] = [];
  const batch = new TurnBatch((inputs: number[]) => {
    runs.push(inputs);
    return Promise.resolve(inputs.map((n) => 2 * n));
  }, maxBatch);
  return { batch, runs };
}

Deno.test("TurnBatch: calls of one loop turn share one run, in order", async () => {
  const { batch, runs } = doubling();
  const answers = await Promise.all([1, 2, 3].map((n) => batch.add(n)));
  assert.deepEqual(answers, [2, 4, 6]);
  assert.deepEqual(runs, [[1, 2, 3]]);
  // Calls made after that run form the next one.
  assert.equal(await batch.add(4), 8);
  assert.deepEqual(runs, [[1, 2, 3], [4]]);
});

Deno.test("TurnBatch: calls continued from one resolution are gathered too", async () => {
  const { batch, runs } = doubling();
  // Like requests that one socket read of replies woke up: each makes its call one step later.
  const woken = Promise.resolve();
  const answers = await Promise.all([5, 6, 7].map((n) => woken.then(() => batch.add(n))));
  assert.deepEqual(answers, [10, 12, 14]);
  assert.deepEqual(runs, [[5, 6, 7]]);
});

Deno.test("TurnBatch: calls from separate tasks of one turn are gathered (timers due together)", async () => {
  const { batch, runs } = doubling();
  // Like requests read from one socket poll: each handler is a task of its own, none awaits.
  const answers = await Promise.all(
    [8, 9].map((n) => new Promise<number>((resolve) => setTimeout(() => resolve(batch.add(n)), 0))),
  );
  assert.deepEqual(answers, [16, 18]);
  assert.deepEqual(runs, [[8, 9]]);
});

Deno.test("TurnBatch: a long queue is split at maxBatch", async () => {
  const { batch, runs } = doubling(2);
  assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map((n) => batch.add(n))), [2, 4, 6, 8, 10]);
  assert.deepEqual(runs, [[1, 2], [3, 4], [5]]);
});

Deno.test("TurnBatch: a failed run rejects every call of its batch, and only those", async () => {
  let fail = true;
  const batch = new TurnBatch((inputs: number[]) => {
    if (fail) throw new Error("Redis down");
    return Promise.resolve(inputs);
  }, 100);
  const failed = await Promise.allSettled([1, 2].map((n) => batch.add(n)));
  assert.deepEqual(failed.map((r) => r.status), ["rejected", "rejected"]);
  assert.match(String((failed[0] as PromiseRejectedResult).reason), /Redis down/);
  fail = false;
  assert.equal(await batch.add(3), 3);
});

Deno.test("TurnBatch: a run that answers the wrong number of calls rejects them", async () => {
  const batch = new TurnBatch((_: number[]) => Promise.resolve([1]), 100);
  const settled = await Promise.allSettled([batch.add(1), batch.add(2)]);
  assert.deepEqual(settled.map((r) => r.status), ["rejected", "rejected"]);
  assert.match(String((settled[0] as PromiseRejectedResult).reason), /answered 1 of 2/);
});
