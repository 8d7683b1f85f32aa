/**
 * The VM's memory monitor, read beside the figures it moves. Some kernel builds of these machines
 * run DAMON (`kdamond.N` kernel threads) with a `pageout` scheme on physical memory: it samples
 * which pages are used and reclaims those that look cold. With it on, the same runs cost ~1.3x the
 * CPU per delivery, the baseline's included, and the mark-to-screen through Redis its 20 ms
 * (docs/performance-log.md, eighteenth session). File pages read back after reclaim
 * (`workingset_refault_file`) stayed low there, so they are recorded to rule that out, not as the
 * cause. The benchmark does not switch it: it records whether it runs, and how much it ran during
 * each server's suite.
 *
 * @module
 */

import { preciseCpuTimeMs } from "./proc_stats.ts";

/** One DAMON daemon as configured in sysfs. */
export interface Kdamond {
  /** Its sysfs name ("0", "1", ...): its thread is `kdamond.<name>`. */
  name: string;
  /** "on" or "off". */
  state: string;
  /** What each context monitors ("paddr": physical memory, "vaddr": processes' address spaces). */
  operations: string[];
  /** What its schemes do to the regions they match ("pageout", "lru_prio", "stat", ...). */
  actions: string[];
}

/** What the VM's memory monitor did between two readings. */
export interface MonitorActivity {
  seconds: number;
  /** CPU the `kdamond` threads ran, ms per second of the span (ms/s). */
  kdamondCpuMsPerS: number;
  /** File pages read back in after the kernel had reclaimed them, per second. */
  fileRefaultsPerS: number;
}

/** One reading of the counters {@link activityBetween} compares. */
export interface MonitorReading {
  atMs: number;
  kdamondCpuMs: number;
  fileRefaults: number;
}

const DAMON_ADMIN = "/sys/kernel/mm/damon/admin";

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return null;
  }
}

function entries(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name).filter((n) => /^\d+$/.test(n)).sort();
  } catch {
    return [];
  }
}

/**
 * The DAMON daemons configured under `root` (sysfs); none where the kernel has no DAMON or the
 * process may not read it.
 *
 * @example
 * ```ts
 * readKdamonds(); // [{ name: "0", state: "on", operations: ["paddr"], actions: ["pageout"] }]
 * ```
 */
export function readKdamonds(root = DAMON_ADMIN): Kdamond[] {
  return entries(`${root}/kdamonds`).map((name) => {
    const daemon = `${root}/kdamonds/${name}`;
    const contexts = entries(`${daemon}/contexts`).map((c) => `${daemon}/contexts/${c}`);
    return {
      name,
      state: readText(`${daemon}/state`) ?? "unknown",
      operations: contexts.map((c) => readText(`${c}/operations`) ?? "?"),
      actions: contexts.flatMap((c) =>
        entries(`${c}/schemes`).map((s) => readText(`${c}/schemes/${s}/action`) ?? "?")
      ),
    };
  });
}

/**
 * A line for the log: which daemons run and what they do, or that none does.
 *
 * @example
 * ```ts
 * describeKdamonds([{ name: "0", state: "on", operations: ["paddr"], actions: ["pageout"] }]);
 * // "DAMON kdamond.0 on (paddr: pageout)"
 * ```
 */
export function describeKdamonds(daemons: readonly Kdamond[]): string {
  if (daemons.length === 0) return "no DAMON";
  return "DAMON " +
    daemons.map((d) =>
      `kdamond.${d.name} ${d.state} (${d.operations.join(", ") || "no context"}: ${
        d.actions.join(", ") || "no scheme"
      })`
    ).join("; ");
}

/** CPU time of every `kdamond.*` kernel thread so far, ms (their scheduler's own account). */
function kdamondCpuMs(): number {
  let ms = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    if (!readText(`/proc/${entry.name}/comm`)?.startsWith("kdamond")) continue;
    try {
      ms += preciseCpuTimeMs(Number(entry.name));
    } catch { /* the daemon stopped while we listed (switched off) */ }
  }
  return ms;
}

/** A counter of /proc/vmstat; 0 where the kernel does not have it. */
export function vmstatCounter(vmstat: string, name: string): number {
  const match = new RegExp(`^${name} (\\d+)$`, "m").exec(vmstat);
  return match ? Number(match[1]) : 0;
}

/**
 * The monitor's counters now; zeros where /proc cannot be read (not Linux).
 *
 * @example
 * ```ts
 * const before = readMonitor();
 * // ... a suite ...
 * activityBetween(before, readMonitor());
 * ```
 */
export function readMonitor(): MonitorReading {
  try {
    return {
      atMs: performance.now(),
      kdamondCpuMs: kdamondCpuMs(),
      fileRefaults: vmstatCounter(
        Deno.readTextFileSync("/proc/vmstat"),
        "workingset_refault_file",
      ),
    };
  } catch {
    return { atMs: performance.now(), kdamondCpuMs: 0, fileRefaults: 0 };
  }
}

/**
 * What happened between two readings, per second.
 *
 * @example
 * ```ts
 * activityBetween(
 *   { atMs: 0, kdamondCpuMs: 100, fileRefaults: 10 },
 *   { atMs: 2000, kdamondCpuMs: 160, fileRefaults: 410 },
 * ); // { seconds: 2, kdamondCpuMsPerS: 30, fileRefaultsPerS: 200 }
 * ```
 */
export function activityBetween(before: MonitorReading, after: MonitorReading): MonitorActivity {
  const seconds = (after.atMs - before.atMs) / 1000;
  if (!(seconds > 0)) throw new Error("Cannot compare readings that are not in time order");
  return {
    seconds,
    kdamondCpuMsPerS: (after.kdamondCpuMs - before.kdamondCpuMs) / seconds,
    fileRefaultsPerS: (after.fileRefaults - before.fileRefaults) / seconds,
  };
}
