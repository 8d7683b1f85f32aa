/**
 * Scenario 2, broadcasts to every connection, on one server or on two at once with their
 * broadcasts interleaved: the baseline's and the product's taken turn by turn over the same
 * minutes, so that the ratio product/baseline compares them on the same machine state. Measured
 * one after the other, minutes apart, the baseline's CPU per delivery moved by up to a third
 * between runs on one machine while the product's moved with it (docs/performance-log.md, ninth
 * session). Both servers heartbeat meanwhile (the baseline as often as the product), and each is
 * charged all the CPU it spent over the whole phase: a product server spent ~12 % of it between its
 * own broadcasts' windows (~40 ms/s its heartbeat, the rest work its broadcasts left behind).
 *
 * @module
 */

import { cpuSplitMs, preciseCpuTimeMs } from "./proc_stats.ts";
import {
  awaitDelivery,
  figures,
  type LatencyFigures,
  type OpenSuite,
  settledRss,
  sleep,
} from "./server_suite.ts";
import { baselineHeartbeat, classBroadcast } from "./triggers.ts";

/** The broadcast scenario's figures on one server. */
export type BroadcastFigures = LatencyFigures & {
  connections: number;
  broadcasts: number;
  /** CPU of the server over the whole phase, its windows and the other server's. */
  cpuMs: number;
  /** The kernel's share of cpuMs (socket writes, epoll). */
  cpuSystemMs: number;
  cpuUsPerConnectionPerBroadcast: number;
  outOfOrder: number;
  closedByServer: number;
  /** The server's own windows added up. */
  durationMs: number;
  /** CPU the server's load workers spent over the phase (for scale). */
  loadGeneratorCpuMs: number;
  /** The part of cpuMs spent in the other server's windows (heartbeats, GC put off, ...). */
  cpuMsBetweenWindows: number;
  /** The label of the server whose broadcasts alternated with these, if any. */
  interleavedWith?: string;
  /**
   * The broadcasts whose last receipt came latest, slowest first (at most {@link SLOWEST_KEPT}):
   * a p99 over 100 broadcasts of 10,000 is set by its one or two slowest broadcasts, so these say
   * whether a high p99 is every broadcast or a few (and, by the server's uptime, whether they fall
   * with something periodic of the server's).
   */
  slowestBroadcasts: SlowBroadcast[];
  /** The median broadcast's last receipt, ms. */
  medianSlowestMs: number;
};

/** One broadcast's last receipt. */
export interface SlowBroadcast {
  /** Its number in the phase (0-based). */
  k: number;
  /** The server's uptime when it was sent, s. */
  uptimeS: number;
  /** Its latest receipt, ms. */
  slowestMs: number;
}

const SLOWEST_KEPT = 5;

/** What {@link measureBroadcasts} gives each server. */
export interface BroadcastOutcome {
  broadcast: BroadcastFigures;
  /** RSS after the measured broadcasts against before, in %. */
  rssGrowthPercent: number;
  /** The baseline's figures over the same minutes, when it was one of the servers. */
  baseline?: BroadcastFigures;
}

const WARM_UP_BROADCASTS = 3;
/** How long one broadcast may take to reach every stream before the next goes out. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** CPU used so far (ms) by a server (all, and in the kernel) and by its load workers. */
function cpuReading(side: OpenSuite) {
  return {
    server: preciseCpuTimeMs(side.server.pid),
    system: cpuSplitMs(side.server.pid).system,
    load: side.pool.pids.reduce((sum, pid) => sum + preciseCpuTimeMs(pid), 0),
  };
}

/**
 * Sends `broadcasts` school-wide broadcasts to each server (after a few unmeasured ones), taking
 * turns when there are two (A B B A A B ...: neither always goes first). A server's window runs
 * from its broadcast's send, through a pause of `gapMs`, until every one of its streams has the
 * event. Its CPU counts from the first measured window to the end of the last, whoever's turn it
 * was: work a broadcast leaves for later (V8's concurrent GC) counts, and so do the heartbeats,
 * which the baseline runs too for the phase (`POST /bench/heartbeat`, stopped after it).
 *
 * @example
 * ```ts
 * const [baseline, product] = await measureBroadcasts([openBaseline, openProduct]);
 * ```
 */
export async function measureBroadcasts(sides: OpenSuite[]): Promise<BroadcastOutcome[]> {
  const o = sides[0].options;
  const turns = (k: number) => (k % 2 === 0 ? sides : [...sides].reverse());
  const baselines = sides.filter((side) => side.server.kind === "baseline");
  for (const { sender } of baselines) {
    await baselineHeartbeat(sender.trigger, sender.adminToken, o.heartbeatMs);
  }
  for (let k = 0; k < WARM_UP_BROADCASTS; k++) {
    for (const side of turns(k)) {
      await classBroadcast(side.sender.trigger, side.sender.adminToken, side.schoolClass, 1e6 + k);
      await sleep(o.gapMs);
    }
  }
  for (const side of sides) {
    await awaitDelivery(side.pool, WARM_UP_BROADCASTS * side.live, 20_000);
    await side.pool.reset();
  }
  const rssStart = await Promise.all(sides.map((side) => settledRss(side.server.pid)));
  // Each server's own windows: their CPU and length.
  const spent = sides.map(() => ({ server: 0, durationMs: 0 }));
  // Receipts so far per server: a window waits for its own broadcast's, not for any lost before.
  const received = sides.map(() => 0);
  // When each server's broadcast k went out, in its uptime (s).
  const sentAtUptimeS = sides.map(() => [] as number[]);
  const phaseStart = sides.map(cpuReading);
  for (let k = 0; k < o.broadcasts; k++) {
    for (const side of turns(k)) {
      const i = sides.indexOf(side);
      const before = preciseCpuTimeMs(side.server.pid);
      const started = performance.now();
      sentAtUptimeS[i][k] = (started - side.server.listeningAt) / 1000;
      await classBroadcast(side.sender.trigger, side.sender.adminToken, side.schoolClass, k);
      await sleep(o.gapMs);
      received[i] = (await awaitDelivery(side.pool, received[i] + side.live, DELIVERY_TIMEOUT_MS))
        .received;
      spent[i].durationMs += performance.now() - started;
      spent[i].server += preciseCpuTimeMs(side.server.pid) - before;
    }
  }
  const phase = sides.map((side, i) => {
    const end = cpuReading(side);
    return {
      server: end.server - phaseStart[i].server,
      system: end.system - phaseStart[i].system,
      load: end.load - phaseStart[i].load,
    };
  });
  for (const { sender } of baselines) await baselineHeartbeat(sender.trigger, sender.adminToken, 0);
  const outcomes: BroadcastOutcome[] = [];
  for (const [i, side] of sides.entries()) {
    const stats = await awaitDelivery(side.pool, o.broadcasts * side.live, 30_000);
    const rssEnd = await settledRss(side.server.pid);
    const other = sides.find((s) => s !== side);
    const slowest = [...stats.slowestPerK].filter(([k]) => k < o.broadcasts)
      .map(([k, ms]): SlowBroadcast => ({
        k,
        uptimeS: Math.round(sentAtUptimeS[i][k] * 10) / 10,
        slowestMs: Math.round(ms * 100) / 100,
      }))
      .sort((a, b) => b.slowestMs - a.slowestMs);
    const broadcast: BroadcastFigures = {
      ...figures("class_broadcast", stats.latency, o.broadcasts * side.live),
      connections: side.live,
      broadcasts: o.broadcasts,
      cpuMs: phase[i].server,
      cpuSystemMs: phase[i].system,
      cpuUsPerConnectionPerBroadcast: (phase[i].server * 1000) / (side.live * o.broadcasts),
      outOfOrder: stats.outOfOrder,
      closedByServer: stats.closedByServer,
      durationMs: spent[i].durationMs,
      loadGeneratorCpuMs: phase[i].load,
      cpuMsBetweenWindows: phase[i].server - spent[i].server,
      interleavedWith: other?.label,
      slowestBroadcasts: slowest.slice(0, SLOWEST_KEPT),
      medianSlowestMs: slowest[slowest.length >> 1]?.slowestMs ?? NaN,
    };
    o.log(
      `  broadcast (${side.label}${other ? `, interleaved with ${other.label}` : ""}):` +
        ` p50 ${broadcast.p50Ms} ms, p99 ${broadcast.p99Ms} ms, ` +
        `${broadcast.cpuUsPerConnectionPerBroadcast.toFixed(2)} µs CPU/conn/broadcast, ` +
        `lost ${broadcast.lost}; CPU between its windows ${
          broadcast.cpuMsBetweenWindows.toFixed(0)
        } ms`,
    );
    o.log(
      `    last receipt per broadcast: median ${broadcast.medianSlowestMs} ms; slowest ` +
        broadcast.slowestBroadcasts.map((b) => `${b.slowestMs} ms (#${b.k}, up ${b.uptimeS} s)`)
          .join(", "),
    );
    outcomes.push({ broadcast, rssGrowthPercent: ((rssEnd - rssStart[i]) / rssStart[i]) * 100 });
  }
  const baseline = outcomes.find((_, i) => sides[i].server.kind === "baseline")?.broadcast;
  for (const [i, outcome] of outcomes.entries()) {
    if (baseline && sides[i].server.kind !== "baseline") outcome.baseline = baseline;
  }
  return outcomes;
}
