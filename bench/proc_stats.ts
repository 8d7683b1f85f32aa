/**
 * Process figures from Linux's /proc: CPU time and resident memory of a server under test.
 *
 * @module
 */

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every mainstream Linux build). */
const TICKS_PER_SECOND = 100;

/**
 * User + system CPU time consumed so far by `pid` (all its threads), in ms.
 *
 * @example
 * ```ts
 * const before = cpuTimeMs(pid);
 * // ... load ...
 * const spent = cpuTimeMs(pid) - before;
 * ```
 */
export function cpuTimeMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the full line, i.e. 11 and 12 after ')'.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** {@link cpuTimeMs} split into user and system (kernel: socket writes, epoll) time, in ms. */
export function cpuSplitMs(pid: number): { user: number; system: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    user: (Number(fields[11]) * 1000) / TICKS_PER_SECOND,
    system: (Number(fields[12]) * 1000) / TICKS_PER_SECOND,
  };
}

/** Resident set size of `pid` in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`Cannot read memory of process ${pid}: no VmRSS in its status`);
  return Number(match[1]) * 1024;
}

/**
 * CPU time of every live thread of `pid` in ms, to the nanosecond (the scheduler's own account in
 * /proc/<pid>/task/<tid>/schedstat), for spans too short for {@link cpuTimeMs}'s 10 ms ticks. A
 * thread that exited meanwhile drops out of the sum, so compare spans of long-lived processes.
 */
export function preciseCpuTimeMs(pid: number): number {
  let ns = 0;
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ")[0]);
    } catch { /* the thread exited while we listed */ }
  }
  return ns / 1e6;
}
