/**
 * Scenario 2, broadcasts to every connection, on one server or on two at once with their
 * broadcasts interleaved: the baseline's and the product's taken turn by turn over the same
 * minutes, so that the ratio product/baseline compares them on the same machine state. Measured
 * one after the other, minutes apart, the baseline's CPU per delivery moved by up to a third
 * between runs on one machine while the product's moved with it (docs/PERFORMANCE.md, ninth
 * session).
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
import { classBroadcast } from "./triggers.ts";

/** The broadcast scenario's figures on one server. */
export type BroadcastFigures = LatencyFigures & {
  connections: number;
  broadcasts: number;
  /** CPU of the server over its own broadcasts' windows (see {@link measureBroadcasts}). */
  cpuMs: number;
  /** The kernel's share of cpuMs (socket writes, epoll). */
  cpuSystemMs: number;
  cpuUsPerConnectionPerBroadcast: number;
  outOfOrder: number;
  closedByServer: number;
  /** The server's windows added up. */
  durationMs: number;
  /** CPU the server's load workers spent over the same windows (for scale). */
  loadGeneratorCpuMs: number;
  /** The label of the server whose broadcasts alternated with these, if any. */
  interleavedWith?: string;
};

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

/** CPU (ms) of a server and of its load workers, the server's split into user and system. */
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
 * event; its CPU is read at both ends, so the CPU counted for it is that of its own broadcasts
 * (and of whatever else it did meanwhile, heartbeats included), not that of its idle time while
 * the other server broadcasts.
 *
 * @example
 * ```ts
 * const [baseline, product] = await measureBroadcasts([openBaseline, openProduct]);
 * ```
 */
export async function measureBroadcasts(sides: OpenSuite[]): Promise<BroadcastOutcome[]> {
  const o = sides[0].options;
  const turns = (k: number) => (k % 2 === 0 ? sides : [...sides].reverse());
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
  const spent = sides.map(() => ({ server: 0, system: 0, load: 0, durationMs: 0 }));
  // Receipts so far per server: a window waits for its own broadcast's, not for any lost before.
  const received = sides.map(() => 0);
  for (let k = 0; k < o.broadcasts; k++) {
    for (const side of turns(k)) {
      const before = cpuReading(side);
      const started = performance.now();
      await classBroadcast(side.sender.trigger, side.sender.adminToken, side.schoolClass, k);
      await sleep(o.gapMs);
      const i = sides.indexOf(side);
      received[i] = (await awaitDelivery(side.pool, received[i] + side.live, DELIVERY_TIMEOUT_MS))
        .received;
      const after = cpuReading(side);
      const total = spent[i];
      total.durationMs += performance.now() - started;
      total.server += after.server - before.server;
      total.system += after.system - before.system;
      total.load += after.load - before.load;
    }
  }
  const outcomes: BroadcastOutcome[] = [];
  for (const [i, side] of sides.entries()) {
    const stats = await awaitDelivery(side.pool, o.broadcasts * side.live, 30_000);
    const rssEnd = await settledRss(side.server.pid);
    const other = sides.find((s) => s !== side);
    const broadcast: BroadcastFigures = {
      ...figures("class_broadcast", stats.latency, o.broadcasts * side.live),
      connections: side.live,
      broadcasts: o.broadcasts,
      cpuMs: spent[i].server,
      cpuSystemMs: spent[i].system,
      cpuUsPerConnectionPerBroadcast: (spent[i].server * 1000) / (side.live * o.broadcasts),
      outOfOrder: stats.outOfOrder,
      closedByServer: stats.closedByServer,
      durationMs: spent[i].durationMs,
      loadGeneratorCpuMs: spent[i].load,
      interleavedWith: other?.label,
    };
    o.log(
      `  broadcast (${side.label}${other ? `, interleaved with ${other.label}` : ""}):` +
        ` p50 ${broadcast.p50Ms} ms, p99 ${broadcast.p99Ms} ms, ` +
        `${broadcast.cpuUsPerConnectionPerBroadcast.toFixed(2)} µs CPU/conn/broadcast, ` +
        `lost ${broadcast.lost}`,
    );
    outcomes.push({ broadcast, rssGrowthPercent: ((rssEnd - rssStart[i]) / rssStart[i]) * 100 });
  }
  const baseline = outcomes.find((_, i) => sides[i].server.kind === "baseline")?.broadcast;
  for (const [i, outcome] of outcomes.entries()) {
    if (baseline && sides[i].server.kind !== "baseline") outcome.baseline = baseline;
  }
  return outcomes;
}
