/**
 * Keeps the benchmark working: runs `bench/run.ts --smoke` (baseline and product in memory mode,
 * a few hundred connections; and the product through the real Redis) and checks it completes with
 * every figure and no lost event.
 * No performance threshold is asserted: CI machines vary too much.
 */

import assert from "node:assert/strict";
import type { ClassOf40Figures, SuiteResult } from "../../bench/server_suite.ts";
import { redisTest } from "../redis/support.ts";

const RUN = new URL("../../bench/run.ts", import.meta.url).pathname;

/** Runs bench/run.ts with `args` (and `--out out`); fails the test unless it exits with 0. */
async function runBench(args: string[], out: string): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", RUN, ...args, "--out", out],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assert.equal(code, 0, text);
  return text;
}

Deno.test("bench/run.ts --smoke completes with figures and zero lost events", async () => {
  const out = await Deno.makeTempDir({ prefix: "bench-smoke-" });
  try {
    const text = await runBench(["--smoke", "--servers", "baseline,memory"], out);
    assert.match(text, /CPU µs \/ conn \/ broadcast/);
    assert.match(text, /machine: 0\.5 ms work p99 ms/);
    // The VM's memory monitor: said up front, then a row of its activity per suite.
    assert.match(text, /^machine: (no DAMON|DAMON kdamond\.\d+ \w+ )/m);
    assert.match(text, /machine: kdamond CPU ms \/ s/);
    assert.match(text, /broadcast \(memory, interleaved with baseline\)/);
    assert.match(text, /baseline alongside, CPU µs/);

    const files = [...Deno.readDirSync(out)].filter((f) => f.name.endsWith("-smoke.json"));
    assert.equal(files.length, 1, text);
    const record = JSON.parse(await Deno.readTextFile(`${out}/${files[0].name}`));
    const results = record.results as Record<string, SuiteResult>;
    assert.deepEqual(Object.keys(results).sort(), ["baseline", "memory"]);
    assert.ok(Array.isArray(record.machine.damon), JSON.stringify(record.machine));
    for (const [label, result] of Object.entries(results)) {
      const { broadcast, classOf40, markToScreen, connect, steadiness } = result;
      // The machine was probed before each server: about 100 units of work in the smoke's second.
      assert.ok(steadiness && steadiness.units > 20, `${label}: ${JSON.stringify(steadiness)}`);
      assert.ok(steadiness.p50Ms > 0 && steadiness.p99Ms >= steadiness.p50Ms, label);
      // From the server's start to its suite's end: a few seconds at least, counters that only grow.
      const monitor = result.memoryMonitor;
      assert.ok(monitor && monitor.seconds > 1, `${label}: ${JSON.stringify(monitor)}`);
      assert.ok(monitor.kdamondCpuMsPerS >= 0 && monitor.fileRefaultsPerS >= 0, label);
      assert.equal(connect.opened, broadcast.connections + 1, `${label}: every stream opened`);
      assert.deepEqual(connect.failed, {}, `${label}: no connection refused`);
      // The smoke's two connect waves: the suite's own (its streams serve the broadcasts), then one
      // opened and closed after its last scenario; the rate reported is the slower's (the median
      // of two).
      assert.equal(connect.waves?.length, 2, `${label}: two connect waves`);
      for (const wave of connect.waves!) {
        assert.equal(wave.opened, broadcast.connections + 1, label);
      }
      assert.equal(
        connect.perSecond,
        Math.min(...connect.waves!.map((w) => w.perSecond)),
        `${label}: the median of two waves is the slower`,
      );
      assert.match(text, new RegExp(`connect wave 2/2: ${broadcast.connections + 1}/`));
      assert.equal(broadcast.lost, 0, `${label}: broadcast events lost`);
      assert.equal(broadcast.outOfOrder, 0, `${label}: broadcast events out of order`);
      assert.equal(broadcast.closedByServer, 0, `${label}: streams cut off`);
      // Each measured broadcast's last receipt: the slowest five, slowest first, the first of
      // them the latest receipt of the phase; the median one no later than they are.
      const slowest = broadcast.slowestBroadcasts.map((b) => b.slowestMs);
      assert.equal(slowest.length, 5, `${label}: the five slowest of 10 broadcasts`);
      assert.deepEqual(slowest, [...slowest].sort((a, b) => b - a), `${label}: slowest first`);
      assert.ok(Math.abs(slowest[0] - broadcast.maxMs) < 0.01, `${label}: the slowest is the max`);
      assert.ok(broadcast.medianSlowestMs <= slowest[4], `${label}: the median broadcast`);
      for (const b of broadcast.slowestBroadcasts) {
        assert.ok(b.k >= 0 && b.k < 10 && b.uptimeS > 0, `${label}: ${JSON.stringify(b)}`);
      }
      assert.match(text, new RegExp(`broadcast \\(${label}[^\\n]*\\n +last receipt per broadcast`));
      assert.equal(classOf40.lost, 0, `${label}: class-of-40 events lost`);
      assert.equal(markToScreen.lost, 0, `${label}: mark-to-screen events lost`);
      // The baseline's mark-to-screen is measured twice: silent, then heartbeating as the product.
      if (label === "baseline") {
        assert.equal(result.markToScreenSilent?.lost, 0, "baseline: silent probe events lost");
        assert.ok(Number.isFinite(result.markToScreenSilent?.p99Ms), "baseline: silent p99");
        assert.match(text, /baseline silent, p99 ms/);
      } else assert.equal(result.markToScreenSilent, undefined, label);
      // The broadcasts of baseline and product alternate; the product's ratios use the baseline's.
      if (label === "baseline") assert.equal(broadcast.interleavedWith, "memory");
      else {
        assert.equal(broadcast.interleavedWith, "baseline");
        assert.deepEqual(result.broadcastBaseline, results.baseline.broadcast);
      }
      // Corrections are measured on the product only (the baseline has no marks).
      const corrections = result.classOf40Corrections;
      if (label === "baseline") assert.equal(corrections, undefined);
      else {
        assert.equal(corrections?.lost, 0, `${label}: correction events lost`);
        assert.ok(Number.isFinite(corrections?.p99Ms), `${label}: corrections p99`);
      }
      // CPU per class-of-40 round: both the server and the load generator did work; no Redis here.
      const cpu = classOf40.cpuMsPerRound;
      assert.ok(cpu && cpu.server > 0 && cpu.loadGenerator > 0, `${label}: ${JSON.stringify(cpu)}`);
      assert.equal(cpu.redis, null, `${label}: no Redis CPU without Redis`);
      for (
        const value of [
          broadcast.cpuUsPerConnectionPerBroadcast,
          broadcast.p50Ms,
          broadcast.p99Ms,
          classOf40.p99Ms,
          markToScreen.p99Ms,
          result.rssPerConnectionBytes,
          result.rssGrowthPercent,
          broadcast.cpuMsBetweenWindows,
          connect.perSecond,
        ]
      ) assert.ok(Number.isFinite(value), `${label}: ${JSON.stringify(result)}`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("bench/run.ts --class-of-40 N runs that scenario alone, N times, each on a fresh server", async () => {
  const out = await Deno.makeTempDir({ prefix: "bench-class40-" });
  try {
    const text = await runBench(
      ["--smoke", "--servers", "baseline,memory", "--class-of-40", "2"],
      out,
    );
    assert.match(text, /memory class of 40: p50 median [\d.]+ ms, p99 median [\d.]+ ms/);
    assert.doesNotMatch(text, /connected \d+\/\d+/, "no connect wave");

    const files = [...Deno.readDirSync(out)].filter((f) => f.name.endsWith("-class40.json"));
    assert.equal(files.length, 1, text);
    const { runs, steadiness } = JSON.parse(await Deno.readTextFile(`${out}/${files[0].name}`));
    assert.deepEqual(Object.keys(runs).sort(), ["baseline", "memory"]);
    assert.deepEqual(Object.keys(steadiness).sort(), ["baseline", "memory"]);
    assert.match(text, /memory machine before its runs: 0\.5 ms of work: p50 [\d.]+, p99 [\d.]+/);
    for (const [label, list] of Object.entries(runs as Record<string, ClassOf40Figures[]>)) {
      assert.equal(list.length, 2, label);
      // A fresh server per run, as a full run's class of 40 has (not one server warmed by each).
      const pids = list.map((run) => run.serverPid);
      assert.ok(pids.every(Number.isInteger), label);
      assert.notEqual(pids[0], pids[1], `${label}: both runs on one server`);
      for (const run of list) {
        assert.equal(run.classOf40.lost, 0, `${label}: class-of-40 events lost`);
        // Probed before each run: a smoke's second of 0.5 ms units every 10 ms.
        assert.ok(run.machineBefore && run.machineBefore.units > 20, label);
        assert.ok(run.memoryMonitor && run.memoryMonitor.kdamondCpuMsPerS >= 0, label);
        assert.ok(Number.isFinite(run.classOf40.p99Ms), label);
        if (label === "memory") assert.equal(run.classOf40Corrections?.lost, 0, label);
      }
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

redisTest(
  "bench/run.ts through Redis measures the baseline's class of 40 via Redis for the Redis column",
  async ({ url }) => {
    const out = await Deno.makeTempDir({ prefix: "bench-smoke-redis-" });
    try {
      const text = await runBench(["--smoke", "--servers", "redis", "--redis-url", url], out);
      // On a server of its own, before the product's suite: its run is logged first.
      assert.match(text, /baseline-redis: starting[^]*class of 40, run 1\/1[^]*redis: starting/);
      assert.match(text, /baseline via Redis, p99 ms/);

      const files = [...Deno.readDirSync(out)].filter((f) => f.name.endsWith("-smoke.json"));
      assert.equal(files.length, 1, text);
      const record = JSON.parse(await Deno.readTextFile(`${out}/${files[0].name}`));
      const { redis } = record.results as Record<string, SuiteResult>;
      const beside = redis.classOf40BaselineRedis;
      assert.ok(beside, text);
      // The baseline's class broadcast: one event per student and round, none lost.
      assert.equal(beside.via, "class_broadcast");
      assert.equal(beside.lost, 0);
      assert.ok(Number.isFinite(beside.p99Ms) && beside.p99Ms >= beside.p50Ms);
      assert.ok(beside.cpuMsPerRound!.server > 0, JSON.stringify(beside));
      assert.equal(redis.classOf40.via, "attendance");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);
