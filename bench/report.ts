/**
 * The benchmark's output: a table of figures with ratios product/baseline, and the JSON record.
 *
 * @module
 */

import type { RoundCpu, SuiteResult } from "./server_suite.ts";
import type { TwoInstanceResult } from "./two_instance_suite.ts";

/** One measured column of the table. */
export interface Column {
  label: string;
  result: SuiteResult;
}

interface Row {
  name: string;
  value: (r: SuiteResult) => number;
  digits: number;
  target: string;
  /** Whether a ratio against the baseline means something for this row. */
  ratio: boolean;
  /**
   * A broadcast figure: its ratio is taken against the baseline's broadcasts interleaved with the
   * column's own ({@link SuiteResult.broadcastBaseline}) when there were such.
   */
  interleaved?: boolean;
}

/** The three rows of where a scenario's CPU went (server, Redis, load generator), per `unit`. */
function cpuRows(
  unit: string,
  digits: number,
  pick: (r: SuiteResult) => RoundCpu | undefined,
): Row[] {
  const rows: Array<Omit<Row, "digits" | "target">> = [
    { name: `  server CPU ${unit}`, value: (r) => pick(r)?.server ?? NaN, ratio: true },
    { name: `  Redis CPU ${unit}`, value: (r) => pick(r)?.redis ?? NaN, ratio: false },
    { name: `  load gen. CPU ${unit}`, value: (r) => pick(r)?.loadGenerator ?? NaN, ratio: true },
  ];
  return rows.map((row) => ({ ...row, digits, target: "" }));
}

/** A row shown for context: no target, no ratio. */
function info(name: string, digits: number, value: (r: SuiteResult) => number): Row {
  return { name, value, digits, target: "", ratio: false };
}

/** Each connect wave's rate (none in results from before the tenth session: NaN). */
function waveRates(r: SuiteResult): number[] {
  return r.connect.waves?.length ? r.connect.waves.map((w) => w.perSecond) : [NaN];
}

const KB = 1024;
const ROWS: Row[] = [
  info("connections (broadcast)", 0, (r) => r.broadcast.connections),
  {
    name: "CPU µs / conn / broadcast",
    value: (r) => r.broadcast.cpuUsPerConnectionPerBroadcast,
    digits: 2,
    target: "≤ 1.3x",
    ratio: true,
    interleaved: true,
  },
  {
    name: "broadcast p50 ms",
    value: (r) => r.broadcast.p50Ms,
    digits: 2,
    target: "",
    ratio: true,
    interleaved: true,
  },
  {
    name: "broadcast p99 ms",
    value: (r) => r.broadcast.p99Ms,
    digits: 2,
    target: "≤ 1.3x",
    ratio: true,
    interleaved: true,
  },
  // A p99 of 100 broadcasts is set by their slowest one or two (none recorded before the eleventh
  // session: NaN).
  {
    name: "  median bcast, last receipt ms",
    value: (r) => r.broadcast.medianSlowestMs ?? NaN,
    digits: 2,
    target: "",
    ratio: true,
    interleaved: true,
  },
  {
    name: "  slowest bcast, last receipt ms",
    value: (r) => r.broadcast.slowestBroadcasts?.[0]?.slowestMs ?? NaN,
    digits: 2,
    target: "",
    ratio: true,
    interleaved: true,
  },
  info(
    "  baseline alongside, CPU µs",
    2,
    (r) => r.broadcastBaseline?.cpuUsPerConnectionPerBroadcast ?? NaN,
  ),
  info("  baseline alongside, p99 ms", 2, (r) => r.broadcastBaseline?.p99Ms ?? NaN),
  info("  CPU ms between its windows", 0, (r) => r.broadcast.cpuMsBetweenWindows),
  info("  of which kernel %", 0, (r) => (r.broadcast.cpuSystemMs / r.broadcast.cpuMs) * 100),
  info("machine load average", 2, (r) => r.loadAverage),
  info("machine: 0.5 ms work p99 ms", 2, (r) => r.steadiness?.p99Ms ?? NaN),
  info("  units over 2x median %", 1, (r) => (r.steadiness?.slowShare ?? NaN) * 100),
  info("machine: kdamond CPU ms / s", 1, (r) => r.memoryMonitor?.kdamondCpuMsPerS ?? NaN),
  info("  file pages refaulted / s", 0, (r) => r.memoryMonitor?.fileRefaultsPerS ?? NaN),
  info("load generator CPU ms", 0, (r) => r.broadcast.loadGeneratorCpuMs),
  {
    name: "broadcast events lost",
    value: (r) => r.broadcast.lost,
    digits: 0,
    target: "0",
    ratio: false,
  },
  {
    name: "closed by server",
    value: (r) => r.broadcast.closedByServer,
    digits: 0,
    target: "0",
    ratio: false,
  },
  {
    name: "RSS KB / connection",
    value: (r) => r.rssPerConnectionBytes / KB,
    digits: 1,
    target: "≤ 1.15x",
    ratio: true,
  },
  {
    name: "RSS growth % (broadcasts)",
    value: (r) => r.rssGrowthPercent,
    digits: 2,
    target: "< 5 %",
    ratio: false,
  },
  {
    name: "idle RSS MB",
    value: (r) => r.idleRssBytes / KB / KB,
    digits: 1,
    target: "",
    ratio: true,
  },
  {
    name: "class of 40 p50 ms",
    value: (r) => r.classOf40.p50Ms,
    digits: 2,
    target: "",
    ratio: true,
  },
  {
    name: "class of 40 p99 ms",
    value: (r) => r.classOf40.p99Ms,
    digits: 2,
    target: "≤ 6 (redis)",
    ratio: true,
  },
  {
    name: "class of 40 lost",
    value: (r) => r.classOf40.lost,
    digits: 0,
    target: "0",
    ratio: false,
  },
  ...cpuRows("ms / round", 2, (r) => r.classOf40.cpuMsPerRound),
  info("  baseline via Redis, p50 ms", 2, (r) => r.classOf40BaselineRedis?.p50Ms ?? NaN),
  info("  baseline via Redis, p99 ms", 2, (r) => r.classOf40BaselineRedis?.p99Ms ?? NaN),
  info(
    "  baseline via Redis, server CPU ms",
    2,
    (r) => r.classOf40BaselineRedis?.cpuMsPerRound?.server ?? NaN,
  ),
  info(
    "  baseline via Redis, Redis CPU ms",
    2,
    (r) => r.classOf40BaselineRedis?.cpuMsPerRound?.redis ?? NaN,
  ),
  info("  corrections p50 ms", 2, (r) => r.classOf40Corrections?.p50Ms ?? NaN),
  info("  corrections p99 ms", 2, (r) => r.classOf40Corrections?.p99Ms ?? NaN),
  info(
    "  corrections server CPU ms",
    2,
    (r) => r.classOf40Corrections?.cpuMsPerRound?.server ?? NaN,
  ),
  info("  corrections Redis CPU ms", 2, (r) => r.classOf40Corrections?.cpuMsPerRound?.redis ?? NaN),
  {
    name: "  corrections lost",
    value: (r) => r.classOf40Corrections?.lost ?? NaN,
    digits: 0,
    target: "0",
    ratio: false,
  },
  {
    name: "mark-to-screen p50 ms",
    value: (r) => r.markToScreen.p50Ms,
    digits: 2,
    target: "",
    ratio: true,
  },
  {
    name: "mark-to-screen p99 ms",
    value: (r) => r.markToScreen.p99Ms,
    digits: 2,
    target: "≤ 20",
    ratio: true,
  },
  info("  baseline silent, p99 ms", 2, (r) => r.markToScreenSilent?.p99Ms ?? NaN),
  info("  right after broadcasts, p99", 2, (r) => r.markToScreenAfterBroadcasts?.p99Ms ?? NaN),
  {
    name: "connects / s (auth)",
    value: (r) => r.connect.perSecond,
    digits: 0,
    target: "≥ 3000",
    ratio: true,
  },
  // The row above is the median wave's; each wave's rate is in the JSON.
  info("  first wave / s", 0, (r) => waveRates(r)[0]),
  info("  slowest wave / s", 0, (r) => Math.min(...waveRates(r))),
  info("  fastest wave / s", 0, (r) => Math.max(...waveRates(r))),
  ...cpuRows("µs / connect", 0, (r) => r.connect.cpuUsPerConnect),
  {
    name: "connects failed",
    value: (r) => Object.values(r.connect.failed).reduce((a, b) => a + b, 0),
    digits: 0,
    target: "0",
    ratio: false,
  },
];

function fmt(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/**
 * Formats the table: one column per server, and after each product column its ratio to the
 * baseline column where a ratio means something (for broadcast figures, to the baseline's
 * broadcasts interleaved with that column's, when it has them).
 *
 * @example
 * ```ts
 * console.log(formatTable([{ label: "baseline", result: b }, { label: "memory", result: p }]));
 * ```
 */
export function formatTable(columns: Column[]): string {
  const base = columns.find((c) => c.result.kind === "baseline");
  const header = ["figure"];
  for (const c of columns) {
    header.push(c.label);
    if (base && c !== base) header.push("ratio");
  }
  header.push("target");
  const lines = [header];
  for (const row of ROWS) {
    const line = [row.name];
    for (const c of columns) {
      const value = row.value(c.result);
      line.push(fmt(value, row.digits));
      if (base && c !== base) {
        const alongside = c.result.broadcastBaseline;
        const b = row.value(
          row.interleaved && alongside ? { ...base.result, broadcast: alongside } : base.result,
        );
        line.push(row.ratio && b > 0 ? `${(value / b).toFixed(2)}x` : "");
      }
    }
    line.push(row.target);
    lines.push(line);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) =>
    l.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join("  ")
  )
    .join("\n");
}

/**
 * Formats the two-instance (Redis) scenario.
 *
 * @example
 * ```ts
 * console.log(formatTwoInstances(result));
 * ```
 */
export function formatTwoInstances(r: TwoInstanceResult): string {
  const [a, b] = r.instances;
  const kb = (n: number) => (n / KB).toFixed(1);
  return [
    `two instances through Redis: ${r.connections} connections, ${r.broadcasts} broadcasts via A`,
    `  delivery p50 ${r.delivery.p50Ms.toFixed(2)} ms, p99 ${r.delivery.p99Ms.toFixed(2)} ms, ` +
    `max ${
      r.delivery.maxMs.toFixed(2)
    } ms, lost ${r.delivery.lost}, cut off ${r.delivery.closedByServer}`,
    `  A: ${a.cpuUsPerConnectionPerBroadcast.toFixed(2)} µs CPU/conn/broadcast, ${
      kb(a.rssPerConnectionBytes)
    } KB/conn, ` +
    `${a.connect.perSecond.toFixed(0)} connects/s`,
    `  B: ${b.cpuUsPerConnectionPerBroadcast.toFixed(2)} µs CPU/conn/broadcast, ${
      kb(b.rssPerConnectionBytes)
    } KB/conn, ` +
    `${b.connect.perSecond.toFixed(0)} connects/s`,
  ].join("\n");
}
