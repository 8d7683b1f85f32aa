/**
 * The scenarios against one server (baseline or product), in an order that lets memory be read
 * between them: idle RSS, class of 40 and the connect wave ({@link openSuite}), then, after its
 * broadcasts (bench/broadcast_scenario.ts, interleaved with the baseline's), one student's latency
 * while everyone stays connected and the run's other connect waves ({@link finishSuite}).
 *
 * @module
 */

import { type BenchClaims, mintTokens, students } from "./bench_tokens.ts";
import type { LatencyHistogram } from "./latency_histogram.ts";
import { preciseCpuTimeMs, rssBytes } from "./proc_stats.ts";
import type { ServerProcess } from "./server_process.ts";
import { RawHttpClient } from "./raw_http_client.ts";
import { probeSteadiness, type Steadiness } from "./machine_steadiness.ts";
import { activityBetween, type MonitorActivity, readMonitor } from "./memory_monitor.ts";
import {
  baselineHeartbeat,
  classBroadcast,
  hasAttendanceRoute,
  markAttendance,
} from "./triggers.ts";
import type { BroadcastFigures, BroadcastOutcome } from "./broadcast_scenario.ts";
import { type ConnectSummary, mergeFailures, WorkerPool } from "./worker_pool.ts";

/** Sizes and pacing of one suite. */
export interface SuiteOptions {
  secret: string;
  connections: number;
  broadcasts: number;
  /** Pause after each broadcast's answer, ms. */
  gapMs: number;
  workers: number;
  /** Connect attempts in flight per worker. */
  concurrency: number;
  classRounds: number;
  /**
   * Marks sent back to back before a class-of-40 measurement, so that it sees a server whose JIT
   * has compiled the mark path (a server that has taken a morning's first marks), not one that is
   * still compiling it on the same vCPU (see docs/performance-log.md).
   */
  warmUpMarks: number;
  /**
   * Connect waves per server, each of `connections + 1` new students: the suite's own, then (after
   * its last scenario) the others, each closed before the next. The rate reported is the median
   * wave's: the first wave that needs more kernel memory for sockets than the machine held paid
   * ~2x the system time per connect (docs/performance-log.md, tenth session), and which server's
   * wave that was depended on the order of the run.
   */
  connectWaves: number;
  /** How long the machine is probed for steadiness before each class-of-40-only run, s. */
  steadinessSeconds: number;
  /** The Redis the product uses, when the benchmark started it: its CPU per round is reported. */
  redisPid?: number;
  probes: number;
  probeGapMs: number;
  /** The product's heartbeat period, ms: the baseline pings as often for mark-to-screen. */
  heartbeatMs: number;
  /** Prefix of student ids, unique per server so several instances never share students. */
  runId: string;
  log: (line: string) => void;
}

/** Latency figures of one scenario. */
export interface LatencyFigures {
  /** What sent the events: `attendance` (POST /api/attendance) or `class_broadcast`. */
  via: string;
  samples: number;
  expected: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU per round of the class of 40 (its pause included), ms. */
  cpuMsPerRound?: RoundCpu;
}

/** Where CPU went, per unit of work (ms per class-of-40 round, µs per connect). */
export interface RoundCpu {
  server: number;
  /** Null when the Redis was not started by the benchmark (its pid is unknown). */
  redis: number | null;
  loadGenerator: number;
}

/** The processes whose CPU a scenario reads. */
interface CpuSources {
  server: number;
  redis?: number;
  loadGenerator: number[];
}

/** CPU used so far by each source, in ms ({@link preciseCpuTimeMs}; NaN for no Redis). */
function cpuNow(pids: CpuSources): Record<keyof RoundCpu, number> {
  return {
    server: preciseCpuTimeMs(pids.server),
    redis: pids.redis ? preciseCpuTimeMs(pids.redis) : NaN,
    loadGenerator: pids.loadGenerator.reduce((sum, pid) => sum + preciseCpuTimeMs(pid), 0),
  };
}

/** The CPU spent between two {@link cpuNow} readings, in ms times `scale`, over `units`. */
function cpuPer(
  before: Record<keyof RoundCpu, number>,
  after: Record<keyof RoundCpu, number>,
  units: number,
  scale = 1,
): RoundCpu {
  const per = (key: keyof RoundCpu) => ((after[key] - before[key]) * scale) / Math.max(1, units);
  return {
    server: per("server"),
    redis: Number.isNaN(before.redis) ? null : per("redis"),
    loadGenerator: per("loadGenerator"),
  };
}

/** One connect wave. */
export type ConnectFigures = ConnectSummary & {
  /** CPU over the wave per stream opened, in µs: what bounds the rate on a 2-vCPU machine. */
  cpuUsPerConnect?: RoundCpu;
};

/** Everything measured against one server. */
export interface SuiteResult {
  kind: string;
  /** 1-minute load average when the suite started: other work on the machine skews latency. */
  loadAverage: number;
  /** How steadily the machine ran fixed work just before the suite (set by bench/run.ts). */
  steadiness?: Steadiness;
  /**
   * What the VM's memory monitor did from the server's start to its suite's end (set by
   * bench/run.ts; the baseline's spans the product suites it waits through). Absent before the
   * eighteenth session.
   */
  memoryMonitor?: MonitorActivity;
  idleRssBytes: number;
  classOf40: LatencyFigures;
  /**
   * The class of 40 again, each round flipping every student's status (a correction, so every
   * student's metrics move too: the path of a real morning's marks). Product servers only.
   */
  classOf40Corrections?: LatencyFigures;
  /**
   * Redis columns of full runs (since the fifteenth session): the baseline's class broadcast
   * through the same Redis (`baseline-redis`, see bench/baseline_server.ts), measured on a server
   * of its own just before this column's suite, at the same place in the run. How much of the
   * class of 40's time through Redis the machine and the round trip take, beside the product's.
   */
  classOf40BaselineRedis?: LatencyFigures;
  /**
   * The median connect wave by rate (the slower of two), with `failed` summed over every wave;
   * `waves` holds each in order, the first the one whose streams the suite used (absent in results
   * from before the tenth session of 2026-11-30, which measured one wave).
   */
  connect: ConnectFigures & { waves?: ConnectFigures[] };
  rssPerConnectionBytes: number;
  broadcast: BroadcastFigures;
  /**
   * Product servers whose broadcasts were interleaved with the baseline's (since the ninth session
   * of 2026-11-30): the baseline's figures over the same minutes, against which the broadcast
   * ratios are taken.
   */
  broadcastBaseline?: BroadcastFigures;
  rssGrowthPercent: number;
  /** One student's events while the others stay connected, every stream heartbeating. */
  markToScreen: LatencyFigures;
  /**
   * The baseline only: the same, before it was asked to heartbeat (how mark-to-screen was measured
   * on the baseline before the fifth session of 2026-11-30).
   */
  markToScreenSilent?: LatencyFigures;
  /**
   * Product servers only: a first round of the same probes, right after the broadcasts (since the
   * eighth session of 2026-11-30). Like the baseline's silent round, it makes the measured round
   * start as long after the broadcasts on every server.
   */
  markToScreenAfterBroadcasts?: LatencyFigures;
}

const WARM_UP_ROUNDS = 5;

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The stream's path on both servers. */
export const SSE_PATH = "/api/students/notifications/sse";

/** Waits until the pool has `expected` benchmark receipts (or `timeoutMs` passed). */
export async function awaitDelivery(pool: WorkerPool, expected: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let stats = await pool.stats();
  while (stats.received < expected && Date.now() < deadline) {
    await sleep(100);
    stats = await pool.stats();
  }
  return stats;
}

/** Latency figures from a histogram of `expected` deliveries. */
export function figures(via: string, latency: LatencyHistogram, expected: number): LatencyFigures {
  return {
    via,
    samples: latency.count,
    expected,
    lost: Math.max(0, expected - latency.count),
    p50Ms: latency.percentile(0.5),
    p99Ms: latency.percentile(0.99),
    maxMs: latency.max,
  };
}

/**
 * Waits (at most 20 s) until the server and Redis spent under 2 % of a CPU over half a second: the
 * streams of a closed wave are gone and their cleanup (Redis tracking included) is done.
 */
async function awaitQuiet(pids: CpuSources): Promise<number> {
  const start = Date.now();
  const deadline = start + 20_000;
  let last = cpuNow(pids);
  do {
    await sleep(500);
    const now = cpuNow(pids);
    const spent = (now.server - last.server) +
      (Number.isNaN(now.redis) ? 0 : now.redis - last.redis);
    if (spent < 10) break;
    last = now;
  } while (Date.now() < deadline);
  return Date.now() - start;
}

/** RSS after a second's rest (lets the allocator settle). */
export async function settledRss(pid: number): Promise<number> {
  await sleep(1000);
  return rssBytes(pid);
}

/**
 * Runs `scenarios` with the driver's connection and tokens (an admin, and a teacher of the class of
 * 40 and the probe's class); `useMarks` when the server takes marks (the product), else the
 * scenarios send class broadcasts.
 */
async function withSender<T>(
  server: ServerProcess,
  o: SuiteOptions,
  scenarios: (sender: Sender, useMarks: boolean) => Promise<T>,
): Promise<T> {
  const { sender, useMarks } = await openSender(server, o);
  try {
    return await scenarios(sender, useMarks);
  } finally {
    sender.trigger.close();
  }
}

/** The driver's connection and tokens; whether the server takes marks. Close its `trigger`. */
async function openSender(
  server: ServerProcess,
  o: SuiteOptions,
): Promise<{ sender: Sender; useMarks: boolean }> {
  const admin: BenchClaims = { sub: `${o.runId}-admin`, role: "admin" };
  const teacher: BenchClaims = {
    sub: `${o.runId}-teacher`,
    role: "teacher",
    classIds: [`${o.runId}-c40`, `${o.runId}-probe`],
  };
  const [adminToken, teacherToken] = await mintTokens(o.secret, [admin, teacher]);
  const trigger = new RawHttpClient(server.url);
  try {
    const useMarks = server.kind === "product" && await hasAttendanceRoute(trigger, adminToken);
    return { sender: { trigger, adminToken, teacherToken }, useMarks };
  } catch (error) {
    trigger.close();
    throw error;
  }
}

/** How the driver makes the server send. */
export interface Sender {
  trigger: RawHttpClient;
  adminToken: string;
  teacherToken: string;
}

/** The class-of-40 figures: the teacher's marks, then (product only) the corrections. */
export interface ClassOf40Figures {
  /**
   * The machine's steadiness just before the run (class-of-40-only runs): a run's p99 is only
   * as good as the machine was while it ran.
   */
  machineBefore?: Steadiness;
  /** The server's process id (class-of-40-only runs): runs on one server share it. */
  serverPid?: number;
  /** What the VM's memory monitor did during the run (class-of-40-only runs). */
  memoryMonitor?: MonitorActivity;
  classOf40: LatencyFigures;
  classOf40Corrections?: LatencyFigures;
}

/**
 * A class of 40: the teacher marks them all, each round (a class broadcast on the baseline), then
 * flips their statuses each round (product only). Its own load worker; the rest of the server's
 * scenarios may follow.
 */
async function classOf40Scenario(
  server: ServerProcess,
  o: SuiteOptions,
  { trigger, teacherToken }: Sender,
  useMarks: boolean,
): Promise<ClassOf40Figures> {
  const target = { hostname: server.hostname, port: server.port, path: SSE_PATH };
  const via = useMarks ? "attendance" : "class_broadcast";
  const classId = `${o.runId}-c40`;
  const classStudents = students(`${o.runId}-c40s`, classId, 40);
  const small = WorkerPool.start(1);
  let classOf40: LatencyFigures;
  let classOf40Corrections: LatencyFigures | undefined;
  try {
    const opened = await small.connect(target, await mintTokens(o.secret, classStudents), 40);
    o.log(`  class of 40: ${opened.opened} streams live`);
    const ids = classStudents.map((s) => s.sub);
    // A burst of marks first (the JIT compiles the path), then paced warm-up rounds; not measured.
    const measure = async (
      via: string,
      send: (k: number) => Promise<void>,
      warmUpFrom: number,
    ): Promise<LatencyFigures> => {
      const round = async (k: number) => {
        await send(k);
        await sleep(50);
      };
      await small.reset();
      for (let k = 0; k < o.warmUpMarks; k++) await send(warmUpFrom + WARM_UP_ROUNDS + k);
      for (let k = 0; k < WARM_UP_ROUNDS; k++) await round(warmUpFrom + k);
      await awaitDelivery(small, 40 * (WARM_UP_ROUNDS + o.warmUpMarks), 30_000);
      await sleep(1000);
      await small.reset();
      const pids = { server: server.pid, redis: o.redisPid, loadGenerator: small.pids };
      const before = cpuNow(pids);
      for (let k = 0; k < o.classRounds; k++) await round(k);
      const after = cpuNow(pids);
      const latency = (await awaitDelivery(small, 40 * o.classRounds, 10_000)).latency;
      return {
        ...figures(via, latency, opened.opened * o.classRounds),
        cpuMsPerRound: cpuPer(before, after, o.classRounds),
      };
    };
    const remark = (k: number) =>
      useMarks
        ? markAttendance(trigger, teacherToken, classId, ids, k)
        : classBroadcast(trigger, teacherToken, classId, k);
    classOf40 = await measure(via, remark, 1_000_000);
    if (useMarks) {
      const correct = (k: number) =>
        markAttendance(trigger, teacherToken, classId, ids, k, k % 2 === 0 ? "ABSENT" : "PRESENT");
      classOf40Corrections = await measure("attendance corrections", correct, 2_000_000);
    }
  } finally {
    await small.stop();
  }
  return { classOf40, classOf40Corrections };
}

/**
 * Only the class of 40, `repeat` times against one server (each with its own warm-up): the
 * percentiles of one 200-round run spread widely on a busy or packed machine
 * (docs/performance-log.md). `numbering` names the runs in the log when they are part of a longer
 * series (run `first` of `of`).
 */
export function runClassOf40Only(
  server: ServerProcess,
  o: SuiteOptions,
  repeat: number,
  numbering: { first: number; of: number } = { first: 1, of: repeat },
): Promise<ClassOf40Figures[]> {
  return withSender(server, o, async (sender, useMarks) => {
    const runs: ClassOf40Figures[] = [];
    for (let k = 0; k < repeat; k++) {
      // The server is up but idle (40 streams at most, heartbeating) while the machine is probed.
      const machineBefore = await probeSteadiness(o.steadinessSeconds);
      const monitorBefore = readMonitor();
      const scenario = await classOf40Scenario(server, o, sender, useMarks);
      const memoryMonitor = activityBetween(monitorBefore, readMonitor());
      const figures = { machineBefore, serverPid: server.pid, memoryMonitor, ...scenario };
      const f = figures.classOf40;
      o.log(
        `  class of 40, run ${
          numbering.first + k
        }/${numbering.of}: p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, CPU ms per round ` +
          `server ${f.cpuMsPerRound!.server.toFixed(2)}, Redis ${
            f.cpuMsPerRound!.redis?.toFixed(2) ?? "n/a"
          }, load generator ${f.cpuMsPerRound!.loadGenerator.toFixed(2)}; machine before: 0.5 ms ` +
          `work p99 ${machineBefore.p99Ms.toFixed(2)} ms, ${
            (machineBefore.slowShare * 100).toFixed(1)
          } % over 2x; kdamond during it ${memoryMonitor.kdamondCpuMsPerS.toFixed(1)} ms/s`,
      );
      runs.push(figures);
    }
    return runs;
  });
}

/**
 * A server with every student's stream open: what its broadcasts (bench/broadcast_scenario.ts,
 * possibly interleaved with another server's) and its last scenario need.
 */
export interface OpenSuite {
  /** How the run calls this server (baseline, memory, redis). */
  label: string;
  server: ServerProcess;
  options: SuiteOptions;
  sender: Sender;
  useMarks: boolean;
  pool: WorkerPool;
  /** The class that holds every student but the probe: a broadcast to it reaches `live` streams. */
  schoolClass: string;
  live: number;
  probeStudent: string;
  /** What the scenarios before the broadcasts measured. */
  before: Pick<
    SuiteResult,
    | "kind"
    | "loadAverage"
    | "idleRssBytes"
    | "classOf40"
    | "classOf40Corrections"
    | "connect"
    | "rssPerConnectionBytes"
  >;
  /** Closes every stream (stops the load workers that hold them); once. */
  closeStreams(): Promise<void>;
  /** Closes every stream and the driver's connection. */
  close(): Promise<void>;
}

/** Opens a stream for each of `tokens` through `workers`, and logs the wave's figures. */
async function connectWave(
  server: ServerProcess,
  o: SuiteOptions,
  workers: WorkerPool,
  tokens: string[],
  n: number,
): Promise<ConnectFigures> {
  const target = { hostname: server.hostname, port: server.port, path: SSE_PATH };
  const pids = { server: server.pid, redis: o.redisPid, loadGenerator: workers.pids };
  const cpuBefore = cpuNow(pids);
  const summary = await workers.connect(target, tokens, o.concurrency);
  const figures = {
    ...summary,
    cpuUsPerConnect: cpuPer(cpuBefore, cpuNow(pids), summary.opened, 1000),
  };
  o.log(
    `  connect wave ${n}/${o.connectWaves}: ${figures.opened}/${tokens.length} in ` +
      `${figures.durationMs.toFixed(0)} ms (${figures.perSecond.toFixed(0)}/s), failed ` +
      `${JSON.stringify(figures.failed)}; CPU µs per connect server ` +
      `${figures.cpuUsPerConnect.server.toFixed(0)}, Redis ` +
      `${figures.cpuUsPerConnect.redis?.toFixed(0) ?? "n/a"}, load generator ` +
      `${figures.cpuUsPerConnect.loadGenerator.toFixed(0)}`,
  );
  return figures;
}

/**
 * The run's other connect waves, after the suite's last scenario: closes the suite's streams, then
 * opens and closes `connectWaves - 1` waves of new students, each once the server (and Redis) is
 * quiet again. Returns the median wave by rate (the slower of two) with every wave's failures
 * summed, and each wave in `waves`. After it, the suite holds no stream.
 *
 * They come last so that the RSS figures (per connection, growth over the broadcasts) stay those
 * of a server whose only streams are the suite's: with closed waves before them, the broadcasts
 * "grew" RSS by −3 to −13 % as the allocator returned the closed waves' memory.
 */
async function repeatConnectWaves(open: OpenSuite): Promise<SuiteResult["connect"]> {
  const { server, options: o } = open;
  const waves = [...open.before.connect.waves!];
  await open.closeStreams();
  for (let n = 2; n <= o.connectWaves; n++) {
    // The previous wave's streams are closed: their cleanup (Redis tracking too) finishes first.
    const ms = await awaitQuiet({ server: server.pid, redis: o.redisPid, loadGenerator: [] });
    o.log(`  wave ${n - 1}'s streams closed; server quiet after ${(ms / 1000).toFixed(1)} s`);
    const workers = WorkerPool.start(o.workers);
    const classId = `${o.runId}-w${n}`;
    try {
      const tokens = await mintTokens(o.secret, students(classId, classId, o.connections + 1));
      waves.push(await connectWave(server, o, workers, tokens, n));
    } finally {
      await workers.stop();
    }
  }
  const median = [...waves].sort((a, b) => a.perSecond - b.perSecond)[(waves.length - 1) >> 1];
  return { ...median, failed: mergeFailures(waves.map((w) => w.failed)), waves };
}

/**
 * The scenarios before the broadcasts: idle RSS, the class of 40, the connect wave (every student
 * of the school plus one probe student in its own class) and RSS per connection. The streams stay
 * open: close the result (after {@link finishSuite}).
 *
 * @example
 * ```ts
 * const open = await openSuite(server, options, "memory");
 * try {
 *   const [broadcast] = await measureBroadcasts([open]);
 *   const result = await finishSuite(open, broadcast);
 * } finally {
 *   await open.close();
 * }
 * ```
 */
export async function openSuite(
  server: ServerProcess,
  o: SuiteOptions,
  label: string = server.kind,
): Promise<OpenSuite> {
  const { sender, useMarks } = await openSender(server, o);
  let pool: WorkerPool | undefined;
  try {
    const loadAverage = Deno.loadavg()[0];
    const idleRssBytes = await settledRss(server.pid);

    // 1. A class of 40: the teacher marks them all, each round.
    const { classOf40, classOf40Corrections } = await classOf40Scenario(
      server,
      o,
      sender,
      useMarks,
    );

    // 2. The connect wave: every student of the school, plus one probe student in its own class.
    // (The run's other waves come after the suite's last scenario: see repeatConnectWaves.)
    pool = WorkerPool.start(o.workers);
    const schoolClass = `${o.runId}-all`;
    const everyone = students(`${o.runId}-s`, schoolClass, o.connections);
    const probe = students(`${o.runId}-probe`, `${o.runId}-probe`, 1);
    const tokens = await mintTokens(o.secret, [...everyone, ...probe]);
    const rssBefore = rssBytes(server.pid);
    const first = await connectWave(server, o, pool, tokens, 1);
    const rssConnected = await settledRss(server.pid);
    const openPool = pool;
    let streamsClosed: Promise<void> | undefined;
    const closeStreams = () => streamsClosed ??= openPool.stop();
    return {
      label,
      server,
      options: o,
      sender,
      useMarks,
      pool,
      schoolClass,
      live: first.opened - 1,
      probeStudent: probe[0].sub,
      before: {
        kind: server.kind,
        loadAverage,
        idleRssBytes,
        classOf40,
        classOf40Corrections,
        connect: { ...first, waves: [first] },
        rssPerConnectionBytes: (rssConnected - rssBefore) / first.opened,
      },
      closeStreams,
      close: async () => {
        sender.trigger.close();
        await closeStreams();
      },
    };
  } catch (error) {
    sender.trigger.close();
    await pool?.stop();
    throw error;
  }
}

/**
 * The last scenario, mark-to-screen: one student's events while everyone else stays connected and
 * heartbeats; then the run's other connect waves ({@link repeatConnectWaves}). The baseline has no
 * heartbeat of its own: it is measured silent, then pinging as often as the product. The product
 * is measured twice too, so that on every server the measured round starts one probe round (30 s)
 * after the broadcasts: right after them, the product's p99 was 5-20 ms higher
 * (docs/performance-log.md, eighth session). Returns every figure of the suite.
 */
export async function finishSuite(
  open: OpenSuite,
  broadcasts: BroadcastOutcome,
): Promise<SuiteResult> {
  const { options: o, pool, useMarks } = open;
  const { trigger, adminToken, teacherToken } = open.sender;
  const via = useMarks ? "attendance" : "class_broadcast";
  const probeClass = `${o.runId}-probe`;
  const probeRound = async () => {
    await pool.reset();
    for (let k = 0; k < o.probes; k++) {
      if (useMarks) {
        await markAttendance(trigger, teacherToken, probeClass, [open.probeStudent], k);
      } else await classBroadcast(trigger, teacherToken, probeClass, k);
      await sleep(o.probeGapMs);
    }
    const probeStats = await awaitDelivery(pool, o.probes, 10_000);
    return figures(via, probeStats.latency, o.probes);
  };
  let markToScreenSilent: LatencyFigures | undefined;
  let markToScreenAfterBroadcasts: LatencyFigures | undefined;
  if (useMarks) {
    markToScreenAfterBroadcasts = await probeRound();
    o.log(
      `  mark-to-screen, right after the broadcasts: p50 ${markToScreenAfterBroadcasts.p50Ms}, ` +
        `p99 ${markToScreenAfterBroadcasts.p99Ms} ms`,
    );
  } else {
    markToScreenSilent = await probeRound();
    await baselineHeartbeat(trigger, adminToken, o.heartbeatMs);
    o.log(
      `  mark-to-screen, silent: p50 ${markToScreenSilent.p50Ms}, p99 ${markToScreenSilent.p99Ms} ms`,
    );
  }
  const markToScreen = await probeRound();
  o.log(`  mark-to-screen: p50 ${markToScreen.p50Ms}, p99 ${markToScreen.p99Ms} ms`);
  return {
    ...open.before,
    connect: o.connectWaves > 1 ? await repeatConnectWaves(open) : open.before.connect,
    broadcast: broadcasts.broadcast,
    broadcastBaseline: broadcasts.baseline,
    rssGrowthPercent: broadcasts.rssGrowthPercent,
    markToScreen,
    markToScreenSilent,
    markToScreenAfterBroadcasts,
  };
}
