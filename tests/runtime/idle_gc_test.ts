import assert from "node:assert/strict";
import {
  IdleGc,
  idleGcFromRuntime,
  type YoungGeneration,
  youngGenerationFull,
} from "../../server/runtime/idle_gc.ts";
import { evalWithExposedGc } from "../support/exposed_gc.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("youngGenerationFull() compares occupancy with the threshold", () => {
  assert.equal(youngGenerationFull({ usedBytes: 4e6, capacityBytes: 8e6 }, 0.5), true);
  assert.equal(youngGenerationFull({ usedBytes: 3.9e6, capacityBytes: 8e6 }, 0.5), false);
  assert.equal(youngGenerationFull({ usedBytes: 8e6, capacityBytes: 8e6 }, 1), true);
  // No young generation reported: nothing to collect.
  assert.equal(youngGenerationFull({ usedBytes: 0, capacityBytes: 0 }, 0.5), false);
});

/**
 * An IdleGc over a young generation the test fills by hand. With `clock`, its idea of time is
 * `clock.ms` (the checks' timers still run on real time): "not quiet yet" then holds however late
 * a busy machine runs them.
 */
function fakeHeap(quietMs = 5, clock?: { ms: number }) {
  const young: YoungGeneration = { usedBytes: 0, capacityBytes: 100 };
  const collected: number[] = [];
  const idleGc = new IdleGc({
    quietMs,
    threshold: 0.5,
    now: clock && (() => clock.ms),
    youngGeneration: () => ({ ...young }),
    collect: () => {
      collected.push(young.usedBytes);
      young.usedBytes = 10;
    },
  });
  return { young, collected, idleGc };
}

/** Moves the fake clock to `ms` and gives the real timers time to run their checks. */
async function quietUntil(clock: { ms: number }, ms: number): Promise<void> {
  clock.ms = ms;
  await sleep(40);
}

Deno.test("IdleGc collects once a request ended and the loop stayed quiet", async () => {
  const { young, collected, idleGc } = fakeHeap();
  try {
    young.usedBytes = 60;
    idleGc.begin()();
    assert.deepEqual(collected, [], "not at once: the request's own work may still be running");
    await sleep(30);
    assert.deepEqual(collected, [60]);
    assert.equal(idleGc.collections, 1);
    // Below the threshold afterwards: a further quiet moment collects nothing.
    idleGc.begin()();
    await sleep(30);
    assert.equal(idleGc.collections, 1);
  } finally {
    idleGc.close();
  }
});

Deno.test("IdleGc leaves a young generation below the threshold to V8", async () => {
  const { young, idleGc } = fakeHeap();
  try {
    young.usedBytes = 49;
    idleGc.begin()();
    await sleep(30);
    assert.equal(idleGc.collections, 0);
  } finally {
    idleGc.close();
  }
});

Deno.test("IdleGc waits while a request is in flight, and for quiet after it ends", async () => {
  const clock = { ms: 0 };
  const { young, collected, idleGc } = fakeHeap(10, clock);
  try {
    young.usedBytes = 80;
    const endSlow = idleGc.begin();
    idleGc.begin()(); // a quick request ends while the slow one still runs
    await quietUntil(clock, 100);
    assert.deepEqual(collected, [], "a request was in flight all along");
    endSlow();
    endSlow(); // ending twice counts once
    await quietUntil(clock, 105);
    assert.deepEqual(collected, [], "ended 5 ms ago: not quiet for 10 ms yet");
    await quietUntil(clock, 110);
    assert.deepEqual(collected, [80]);
  } finally {
    idleGc.close();
  }
});

/**
 * `activity` at 0 ms and again 8 ms into a 10 ms quiet: the quiet starts again from the second, so
 * nothing is collected 7 ms after it and the young generation is 10 ms after it.
 */
async function assertQuietRestartsOn(activity: (idleGc: IdleGc) => void): Promise<void> {
  const clock = { ms: 0 };
  const { young, collected, idleGc } = fakeHeap(10, clock);
  try {
    young.usedBytes = 80;
    activity(idleGc);
    clock.ms = 8;
    activity(idleGc);
    await quietUntil(clock, 15);
    assert.deepEqual(collected, [], "7 ms since the last activity");
    await quietUntil(clock, 18);
    assert.deepEqual(collected, [80]);
  } finally {
    idleGc.close();
  }
}

Deno.test("IdleGc counts the quiet from the last request's end", async () => {
  await assertQuietRestartsOn((idleGc) => idleGc.begin()());
});

Deno.test("IdleGc.touch() arms a check and restarts the quiet, without a request", async () => {
  // Events from another instance fanned out: no request began or ended.
  await assertQuietRestartsOn((idleGc) => idleGc.touch());
});

Deno.test("IdleGc.close() cancels the pending check", async () => {
  const { young, idleGc } = fakeHeap();
  young.usedBytes = 90;
  idleGc.begin()();
  idleGc.close();
  idleGc.begin()();
  await sleep(30);
  assert.equal(idleGc.collections, 0);
});

Deno.test("IdleGc stops collecting, and the process goes on, when a collection fails", async () => {
  let calls = 0;
  const logged: unknown[] = [];
  const originalError = console.error;
  console.error = (...args: unknown[]) => logged.push(args.join(" "));
  const idleGc = new IdleGc({
    quietMs: 1,
    youngGeneration: () => ({ usedBytes: 90, capacityBytes: 100 }),
    collect: () => {
      calls++;
      throw new Error("no heap statistics");
    },
  });
  try {
    idleGc.begin()();
    await sleep(30);
    idleGc.begin()();
    await sleep(30);
    assert.equal(calls, 1, "disabled after the first failure");
    assert.deepEqual(logged, ["idle GC disabled: no heap statistics"]);
  } finally {
    console.error = originalError;
    idleGc.close();
  }
});

Deno.test("IdleGc rejects a threshold outside (0, 1]", () => {
  const options = {
    collect: () => {},
    youngGeneration: () => ({ usedBytes: 0, capacityBytes: 1 }),
  };
  assert.throws(() => new IdleGc({ ...options, threshold: 0 }), RangeError);
  assert.throws(() => new IdleGc({ ...options, threshold: 1.5 }), RangeError);
});

Deno.test("idleGcFromRuntime() is null without --expose-gc", () => {
  if ("gc" in globalThis) return; // this test process was started with it: nothing to check
  assert.equal(idleGcFromRuntime(), null);
});

Deno.test("idleGcFromRuntime() empties V8's young generation after a request", async () => {
  // A process of its own, with the V8 flag of `deno task start`.
  const script = `
    import { idleGcFromRuntime, runtimeYoungGeneration } from ${
    JSON.stringify(new URL("../../server/runtime/idle_gc.ts", import.meta.url).href)
  };
    const idleGc = idleGcFromRuntime({ quietMs: 1, threshold: 0.01 });
    if (!idleGc) throw new Error("no gc with --expose-gc");
    let keep = [];
    for (let i = 0; i < 20000; i++) keep.push({ i, text: "x" + i });
    keep = null;
    const before = runtimeYoungGeneration().usedBytes;
    idleGc.begin()();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = runtimeYoungGeneration().usedBytes;
    console.log(JSON.stringify({ collections: idleGc.collections, before, after }));
  `;
  const { collections, before, after } = await evalWithExposedGc<
    { collections: number; before: number; after: number }
  >(script);
  assert.equal(collections, 1);
  assert.ok(before > 500_000, `the objects filled the young generation (${before} bytes)`);
  assert.ok(after < before / 2, `collected: ${before} -> ${after} bytes`);
});
