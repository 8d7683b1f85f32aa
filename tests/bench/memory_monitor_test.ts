/**
 * The VM's memory monitor as the benchmark records it: DAMON's sysfs layout read from a tree laid
 * out like the kernel's, vmstat counters, and the activity between two readings.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  activityBetween,
  describeKdamonds,
  readKdamonds,
  readMonitor,
  vmstatCounter,
} from "../../bench/memory_monitor.ts";

/** Writes `files` (path → content) under a new temporary directory; returns its path. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "damon-admin-" });
  for (const [path, content] of Object.entries(files)) {
    await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${path}`, `${content}\n`);
  }
  return root;
}

Deno.test("readKdamonds: each daemon's state, its contexts' operations and its schemes' actions", async () => {
  const root = await tree({
    "kdamonds/nr_kdamonds": "2",
    "kdamonds/0/state": "on",
    "kdamonds/0/contexts/nr_contexts": "1",
    "kdamonds/0/contexts/0/operations": "paddr",
    "kdamonds/0/contexts/0/schemes/nr_schemes": "1",
    "kdamonds/0/contexts/0/schemes/0/action": "pageout",
    "kdamonds/1/state": "off",
    "kdamonds/1/contexts/0/operations": "vaddr",
    "kdamonds/1/contexts/0/schemes/0/action": "stat",
    "kdamonds/1/contexts/0/schemes/1/action": "lru_prio",
  });
  try {
    const daemons = readKdamonds(root);
    assert.deepEqual(daemons, [
      { name: "0", state: "on", operations: ["paddr"], actions: ["pageout"] },
      { name: "1", state: "off", operations: ["vaddr"], actions: ["stat", "lru_prio"] },
    ]);
    assert.equal(
      describeKdamonds(daemons),
      "DAMON kdamond.0 on (paddr: pageout); kdamond.1 off (vaddr: stat, lru_prio)",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readKdamonds: none where the kernel has no DAMON", () => {
  assert.deepEqual(readKdamonds("/nonexistent/damon/admin"), []);
  assert.equal(describeKdamonds([]), "no DAMON");
});

Deno.test("vmstatCounter: the named counter only, 0 when absent", () => {
  const vmstat = "workingset_refault_anon 7\nworkingset_refault_file 77618\npgmajfault 1200\n";
  assert.equal(vmstatCounter(vmstat, "workingset_refault_file"), 77618);
  assert.equal(vmstatCounter(vmstat, "pgmajfault"), 1200);
  assert.equal(vmstatCounter(vmstat, "workingset_refault"), 0);
});

Deno.test("activityBetween: per second of the span; readings out of order are an error", () => {
  assert.deepEqual(
    activityBetween(
      { atMs: 1000, kdamondCpuMs: 100, fileRefaults: 10 },
      { atMs: 3000, kdamondCpuMs: 160, fileRefaults: 410 },
    ),
    { seconds: 2, kdamondCpuMsPerS: 30, fileRefaultsPerS: 200 },
  );
  const r = { atMs: 5, kdamondCpuMs: 0, fileRefaults: 0 };
  assert.throws(() => activityBetween(r, r), /time order/);
});

Deno.test("readMonitor: this machine's counters are finite and never go back", async () => {
  const before = readMonitor();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const after = readMonitor();
  for (const key of ["kdamondCpuMs", "fileRefaults"] as const) {
    assert.ok(Number.isFinite(before[key]) && before[key] >= 0, `${key}: ${before[key]}`);
    assert.ok(after[key] >= before[key], `${key} went back: ${before[key]} → ${after[key]}`);
  }
  const activity = activityBetween(before, after);
  assert.ok(activity.seconds >= 0.015, `span ${activity.seconds} s`);
});
