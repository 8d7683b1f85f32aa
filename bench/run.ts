/**
 * `deno task bench`: measures the baseline and the product (memory, and Redis when reachable) in
 * one run and prints every figure with its ratio product/baseline. JSON lands in bench/results/.
 *
 * Flags: `--smoke` (a few hundred connections, < 60 s), `--connections N`, `--broadcasts N`,
 * `--workers N`, `--gap-ms N`, `--servers baseline,memory,redis,redis2`, `--redis-url URL`
 * (default `private`: a redis-server of its own on a free port), `--out DIR`,
 * `--profile` (V8 tick log of the product under load, see docs/PERFORMANCE.md), `--cpu-prof` (a
 * `.cpuprofile` per product server, for Chrome DevTools), `--env NAME=value`
 * (extra product setting, repeatable), `--class-of-40 N` (only the class-of-40 scenario, N runs
 * per server kind, each on a fresh server after its own warm-up, as in a full run; two instances
 * are skipped), `--warm-server` (with `--class-of-40`: all N runs on one server, each run's
 * server warmer by the marks of the runs before it). With `--class-of-40`,
 * `--servers` may also name `baseline-redis`: the baseline with its class broadcasts recorded and
 * published through Redis (see bench/baseline_server.ts). A full run measures that baseline's class
 * of 40 once, on a server of its own, just before the Redis column's suite, and prints it in that
 * column ("baseline via Redis").
 *
 * @module
 */

import { parseArgs } from "node:util";
import { describeSteadiness, probeSteadiness, type Steadiness } from "./machine_steadiness.ts";
import {
  activityBetween,
  describeKdamonds,
  type MonitorReading,
  readKdamonds,
  readMonitor,
} from "./memory_monitor.ts";
import { type PrivateRedis, startPrivateRedis } from "./private_redis.ts";
import { formatTable, formatTwoInstances } from "./report.ts";
import {
  killAllServers,
  type ServerKind,
  type ServerProcess,
  startServer,
  startTaskV8Flags,
  v8FlagsArgument,
} from "./server_process.ts";
import { type BroadcastOutcome, measureBroadcasts } from "./broadcast_scenario.ts";
import {
  type ClassOf40Figures,
  finishSuite,
  type LatencyFigures,
  type OpenSuite,
  openSuite,
  runClassOf40Only,
  type SuiteOptions,
  type SuiteResult,
} from "./server_suite.ts";
import { runTwoInstances, type TwoInstanceResult } from "./two_instance_suite.ts";

/** One server configuration to measure. */
type Label = "baseline" | "baseline-redis" | "memory" | "redis" | "redis2";

/** Whether a configuration talks to Redis (and so needs one, and its keys dropped after). */
const usesRedis = (label: Label) => label !== "baseline" && label !== "memory";

async function redisReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  try {
    const conn = await Deno.connect({ hostname, port: Number(port || 6379) });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buf = new Uint8Array(64);
    const timer = setTimeout(() => conn.close(), 2000);
    const n = await conn.read(buf).catch(() => null);
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
    return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
  } catch {
    return false;
  }
}

/** Deletes the run's keys (only those under its own random prefix). */
async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const script =
    `redis-cli -u "$URL" --scan --pattern "$PREFIX*" | xargs -r -n 500 redis-cli -u "$URL" DEL >/dev/null`;
  await new Deno.Command("bash", {
    args: ["-c", script],
    env: { URL: url, PREFIX: prefix },
    stdout: "null",
    stderr: "null",
  }).output().catch(() => {});
}

/** Turns a V8 tick log into text with `node --prof-process` when Node is installed. */
async function summarizeProfile(log: string): Promise<void> {
  try {
    const { stdout } = await new Deno.Command("node", {
      args: ["--prof-process", log],
      stdout: "piped",
      stderr: "null",
    }).output();
    await Deno.writeFile(`${log}.txt`, stdout);
    console.log(`profile: ${log}.txt`);
  } catch {
    console.log(`profile: ${log} (process it with: node --prof-process ${log})`);
  }
}

function machine() {
  const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: cpu,
    memTotalMB: Math.round(Deno.systemMemoryInfo().total / 1024 / 1024),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    loadavg: Deno.loadavg(),
    /** The VM's memory monitor (bench/memory_monitor.ts): on some machines it costs ~1.3x CPU. */
    damon: readKdamonds(),
  };
}

if (import.meta.main) {
  const productionV8Flags = await startTaskV8Flags();
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      smoke: { type: "boolean", default: false },
      connections: { type: "string" },
      broadcasts: { type: "string" },
      workers: { type: "string" },
      "gap-ms": { type: "string" },
      servers: { type: "string" },
      "redis-url": {
        type: "string",
        default: "private",
      },
      out: { type: "string", default: new URL("./results/", import.meta.url).pathname },
      profile: { type: "boolean", default: false },
      "cpu-prof": { type: "boolean", default: false },
      env: { type: "string", multiple: true, default: [] },
      "class-of-40": { type: "string" },
      "connect-waves": { type: "string" },
      "warm-server": { type: "boolean", default: false },
    },
  });
  const smoke = values.smoke;
  const out = values.out!.endsWith("/") ? values.out! : `${values.out}/`;
  await Deno.mkdir(out, { recursive: true });
  const connections = Number(values.connections ?? (smoke ? 300 : 10_000));
  const broadcasts = Number(values.broadcasts ?? (smoke ? 10 : 100));
  const workers = Number(values.workers ?? Math.max(2, Math.ceil(connections / 2500)));
  const gapMs = Number(values["gap-ms"] ?? Math.max(20, Math.round(connections * 0.03)));
  // A private redis-server by default: a shared one carries other users' slow scripts.
  let privateRedis: PrivateRedis | null = null;
  let redisUrl = values["redis-url"]!;
  if (redisUrl === "private") {
    const wanted = values.servers ? values.servers.includes("redis") : !smoke;
    if (wanted) privateRedis = await startPrivateRedis();
    redisUrl = privateRedis?.url ?? Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379";
  }
  const redisUp = await redisReachable(redisUrl);
  // `--class-of-40 N`: that scenario alone, N runs per server kind (not the two-instance suite).
  const classOnly = values["class-of-40"] === undefined ? 0 : Number(values["class-of-40"]);
  if (!(classOnly >= 0 && Number.isInteger(classOnly))) {
    console.error("--class-of-40 takes a number of repetitions");
    Deno.exit(2);
  }
  const labels =
    (values.servers ?? (smoke || !redisUp ? "baseline,memory" : "baseline,memory,redis,redis2"))
      .split(",").map((s) => s.trim()).filter((l) => !(classOnly && l === "redis2")) as Label[];
  if (labels.includes("baseline-redis") && !classOnly) {
    console.error("baseline-redis runs only with --class-of-40 N");
    await privateRedis?.stop();
    Deno.exit(2);
  }
  if (labels.some(usesRedis) && !redisUp) {
    console.error(`Cannot run the Redis mode: nothing answers PING at ${redisUrl}`);
    await privateRedis?.stop();
    Deno.exit(2);
  }
  // `--env NAME=value` (repeatable): extra settings for the servers, e.g. HEARTBEAT_MS.
  const productEnv = Object.fromEntries(
    (values.env as string[]).map((
      pair,
    ) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
  // Bounded in time whatever happens: past the deadline, servers are killed and the run fails.
  const deadlineMs = smoke ? 120_000 : 40 * 60_000;
  const deadline = setTimeout(() => {
    console.error(`Benchmark did not finish within ${deadlineMs / 1000} s: stopping`);
    killAllServers();
    if (privateRedis) Deno.kill(privateRedis.pid, "SIGKILL");
    Deno.exit(1);
  }, deadlineMs);
  const secret = crypto.randomUUID() + crypto.randomUUID();
  const runId = `b${Date.now().toString(36)}`;
  const options: Omit<SuiteOptions, "runId"> = {
    secret,
    connections,
    broadcasts,
    gapMs,
    workers,
    concurrency: 64,
    // The median of three waves: one wave's rate moved by up to 2x with the order of the servers
    // (docs/performance-log.md, tenth session). Two in the smoke, so that CI closes a wave too.
    connectWaves: Number(values["connect-waves"] ?? (smoke ? 2 : 3)),
    // A p99 over 50 rounds of 40 is the worst round or two: 200 rounds (and 400 probes) make the
    // percentile an estimate rather than a draw.
    classRounds: smoke ? 5 : 200,
    // Hundreds of marks before measuring: V8 still compiles the mark path for that long, on the
    // same vCPU as the rounds (docs/performance-log.md, "Where a round's time goes").
    warmUpMarks: smoke ? 20 : 300,
    probes: smoke ? 10 : 400,
    probeGapMs: smoke ? 50 : 75,
    // The product's heartbeat (its default unless `--env HEARTBEAT_MS=...`), which the baseline
    // copies for the mark-to-screen scenario.
    heartbeatMs: Number(productEnv.HEARTBEAT_MS ?? 15_000),
    steadinessSeconds: smoke ? 1 : 3,
    log: (line) => console.log(line),
  };
  console.log(
    `attendance-feed bench: ${connections} connections, ${broadcasts} broadcasts, ${workers} load workers, ` +
      `gap ${gapMs} ms, servers ${labels.join(", ")}`,
  );
  // Some machines' kernels page out memory behind the benchmark's back (bench/memory_monitor.ts):
  // said up front, and each suite records how much it ran.
  console.log(`machine: ${describeKdamonds(readKdamonds())}`);
  const results: Partial<Record<Label, SuiteResult>> = {};
  const classRuns: Partial<Record<Label, ClassOf40Figures[]>> = {};
  const steadiness: Partial<Record<Label, Steadiness>> = {};
  let twoInstances: TwoInstanceResult | undefined;
  const redisPrefix = `${runId}:`;
  // The baseline stays up, its streams open (silent but while it broadcasts), while the product
  // servers after it run their suites: each product's broadcasts are interleaved with the
  // baseline's (see bench/broadcast_scenario.ts). It finishes (mark-to-screen) before the
  // two-instance suite.
  let baseline:
    | {
      open: OpenSuite;
      broadcasts?: BroadcastOutcome;
      profileLog: string;
      monitorFrom: MonitorReading;
    }
    | undefined;
  /** Closes the baseline's streams and stops it, once; returns its profile log's path. */
  const stopBaseline = async () => {
    if (!baseline) return undefined;
    const { open, profileLog } = baseline;
    baseline = undefined;
    await open.close();
    await open.server.stop();
    return profileLog;
  };
  const finishBaseline = async () => {
    if (!baseline) return;
    const { open, monitorFrom } = baseline;
    console.log("baseline: its last scenario, its streams open since its connect wave");
    try {
      const broadcasts = baseline.broadcasts ?? (await measureBroadcasts([open]))[0];
      results.baseline = {
        ...await finishSuite(open, broadcasts),
        steadiness: steadiness.baseline,
        memoryMonitor: activityBetween(monitorFrom, readMonitor()),
      };
    } finally {
      const profileLog = await stopBaseline();
      if (values.profile && profileLog) await summarizeProfile(profileLog);
    }
  };
  /** The environment of a server measured as `label`. */
  const envFor = (label: Label): Record<string, string> =>
    label.startsWith("baseline")
      ? {
        BASELINE_SECRET: secret,
        ...(usesRedis(label)
          ? { BASELINE_REDIS_URL: redisUrl, BASELINE_REDIS_PREFIX: redisPrefix }
          : {}),
        ...productEnv,
      }
      : {
        JWT_SECRET: secret,
        ENABLE_TEST_ENDPOINT: "true",
        MAX_CONNECTIONS: "100000",
        CONNECT_RATE_LIMIT: "1000000",
        MAX_STREAMS_PER_STUDENT: "10000",
        ...(label.startsWith("redis") ? { REDIS_URL: redisUrl, REDIS_PREFIX: redisPrefix } : {}),
        ...productEnv,
      };
  /**
   * The class of 40 of the baseline through Redis (`baseline-redis`) on a server of its own, run
   * once just before the Redis column's suite of a full run: the figure that column's class of 40
   * is read against (see SuiteResult.classOf40BaselineRedis).
   */
  const classOf40OfBaselineViaRedis = async (): Promise<LatencyFigures> => {
    const label: Label = "baseline-redis";
    console.log(`${label}: starting (the class of 40 only, for the Redis column)`);
    const server = await startServer({
      kind: "baseline",
      env: envFor(label),
      denoFlags: v8FlagsArgument(productionV8Flags),
    });
    try {
      const suite = {
        ...options,
        runId: `${runId}${label[0]}${label.length}`,
        redisPid: privateRedis?.pid,
      };
      const [figures] = await runClassOf40Only(server, suite, 1);
      return figures.classOf40;
    } finally {
      await server.stop();
      await dropRedisKeys(redisUrl, redisPrefix);
    }
  };
  try {
    for (const label of labels) {
      if (label === "redis2") await finishBaseline();
      const kind: ServerKind = label.startsWith("baseline") ? "baseline" : "product";
      const env = envFor(label);
      // Full runs: the baseline through the same Redis first, at the same place in the run.
      const baselineViaRedis = label === "redis" && !classOnly
        ? await classOf40OfBaselineViaRedis()
        : undefined;
      const profileLog = `${out}${runId}-${label}.v8.log`;
      // The product runs with the V8 flags of `deno task start`, as deployed; the baseline too
      // since it waits for the products' suites with its streams open: V8's memory reducer shrank
      // its idle heap, and its broadcasts then grew it back by 8 % (docs/performance-log.md).
      const v8Flags = [
        ...productionV8Flags,
        ...(values.profile
          ? ["--prof", "--no-logfile-per-isolate", `--logfile=${profileLog}`]
          : []),
      ];
      const denoFlags = [
        ...v8FlagsArgument(v8Flags),
        // Written when the server exits (it does on SIGTERM): wall-clock samples, so time a
        // server spends preempted inside a system call shows up in that call.
        ...(values["cpu-prof"] && kind === "product"
          ? ["--cpu-prof", `--cpu-prof-dir=${out}`, `--cpu-prof-name=${runId}-${label}.cpuprofile`]
          : []),
      ];
      // Before the server starts: nothing of the benchmark runs while the machine is probed (the
      // baseline may be up, its streams open, but it sends nothing meanwhile).
      steadiness[label] = await probeSteadiness(smoke ? 1 : 5);
      console.log(`${label}: machine, ${describeSteadiness(steadiness[label]!)}`);
      console.log(`${label}: starting`);
      const monitorFrom = readMonitor();
      const servers: ServerProcess[] = [];
      try {
        servers.push(await startServer({ kind, env, denoFlags }));
        const suite = {
          ...options,
          runId: `${runId}${label[0]}${label.length}`,
          redisPid: usesRedis(label) ? privateRedis?.pid : undefined,
        };
        if (classOnly && values["warm-server"]) {
          classRuns[label] = await runClassOf40Only(servers[0], suite, classOnly);
        } else if (classOnly) {
          // A fresh server for every run, as the full run's class of 40 has: the first ~1,000
          // marks of a server cost it more CPU (V8 still compiling, its first mark-compact) than
          // later ones, so runs on one kept server measure it warmer each time (performance-log,
          // seventeenth session).
          const runs: ClassOf40Figures[] = classRuns[label] = [];
          for (let k = 0; k < classOnly; k++) {
            if (k > 0) {
              await servers.pop()!.stop();
              servers.push(await startServer({ kind, env, denoFlags }));
            }
            const run = { ...suite, runId: `${suite.runId}r${k}` };
            runs.push(
              ...await runClassOf40Only(servers[0], run, 1, { first: k + 1, of: classOnly }),
            );
          }
        } else if (label === "redis2") {
          servers.push(await startServer({ kind, env, denoFlags }));
          twoInstances = await runTwoInstances([servers[0], servers[1]], suite);
        } else if (label === "baseline") {
          // Kept up (see above): from here on it is stopped by finishBaseline.
          baseline = { open: await openSuite(servers[0], suite, label), profileLog, monitorFrom };
          servers.pop();
        } else {
          const open = await openSuite(servers[0], suite, label);
          try {
            const sides = baseline ? [baseline.open, open] : [open];
            const outcomes = await measureBroadcasts(sides);
            if (baseline) baseline.broadcasts ??= outcomes[0];
            results[label] = {
              ...await finishSuite(open, outcomes[outcomes.length - 1]),
              steadiness: steadiness[label],
              memoryMonitor: activityBetween(monitorFrom, readMonitor()),
              classOf40BaselineRedis: baselineViaRedis,
            };
          } finally {
            await open.close();
          }
        }
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
        if (usesRedis(label)) await dropRedisKeys(redisUrl, redisPrefix);
      }
      if (values.profile && kind !== "baseline") await summarizeProfile(profileLog);
    }
    await finishBaseline();
  } finally {
    await stopBaseline();
    await privateRedis?.stop();
  }
  if (classOnly) {
    await writeClassOnly(out, classRuns, steadiness, options);
    clearTimeout(deadline);
    Deno.exit(0);
  }
  const columns = labels.filter((l) => results[l]).map((label) => ({
    label,
    result: results[label]!,
  }));
  const table = columns.length > 0 ? formatTable(columns) : "";
  if (table) console.log(`\n${table}\n`);
  if (twoInstances) console.log(`${formatTwoInstances(twoInstances)}\n`);
  const file = `${out}${new Date().toISOString().replace(/[:.]/g, "-")}-${
    smoke ? "smoke" : "full"
  }.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify(
      {
        machine: machine(),
        options: {
          ...options,
          secret: undefined,
          productEnv,
          redis: privateRedis ? "private" : new URL(redisUrl).host,
        },
        results,
        twoInstances,
        table,
      },
      null,
      2,
    ),
  );
  console.log(`results: ${file}`);
  clearTimeout(deadline);
}

/** Prints the class-of-40 runs of each server (each run's p99, their median) and writes the JSON. */
async function writeClassOnly(
  out: string,
  runs: Partial<Record<Label, ClassOf40Figures[]>>,
  steadiness: Partial<Record<Label, Steadiness>>,
  options: Omit<SuiteOptions, "runId">,
): Promise<void> {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  console.log("");
  for (const [label, figures] of Object.entries(runs)) {
    const machineNow = steadiness[label as Label];
    if (machineNow) {
      console.log(`${label} machine before its runs: ${describeSteadiness(machineNow)}`);
    }
    for (const key of ["classOf40", "classOf40Corrections"] as const) {
      const list = figures!.map((f) => f[key]).filter((f) => f !== undefined);
      if (list.length === 0) continue;
      const p99s = list.map((f) => f.p99Ms);
      const p50s = list.map((f) => f.p50Ms);
      console.log(
        `${label} ${key === "classOf40" ? "class of 40" : "corrections"}: p50 median ${
          median(p50s).toFixed(2)
        } ms, p99 median ${median(p99s).toFixed(2)} ms (runs: ${p99s.join(", ")})`,
      );
    }
  }
  const file = `${out}${new Date().toISOString().replace(/[:.]/g, "-")}-class40.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify(
      { machine: machine(), options: { ...options, secret: undefined }, steadiness, runs },
      null,
      2,
    ),
  );
  console.log(`results: ${file}`);
}
