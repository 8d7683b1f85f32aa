/**
 * Attendance metrics as pure functions over per-date tallies. The store keeps, per student and
 * class, one {@link Tally} per recorded date and a {@link StudentCounts} summary, so a mark never
 * rereads a year of records and a class's ranking is computed from one small map per class.
 *
 * Definitions (docs/API.md, "Attendance metrics"):
 * - totalClasses: recorded periods of the student in the class;
 * - presentDays: distinct dates with at least one PRESENT;
 * - attendanceRate: 100 × PRESENT / totalClasses, one decimal; with `excluded`, SICK and LEAVE
 *   leave the denominator (100.0 when nothing is left to count);
 * - ranking: standard competition rank (1, 2, 2, 4) of the rate, highest first, among the class's
 *   students that have records; classAverage: their mean rate, one decimal;
 * - trend: rate over the latest 5 recorded dates minus the rate over the 5 before:
 *   ≥ +5 points `improving`, ≤ -5 `declining`, else (or with fewer than 10 dates) `stable`.
 *
 * @module
 */

import type { AttendanceStatus, MetricsPayload } from "../events.ts";

/** How SICK and LEAVE count: against the student (`absent`) or not at all (`excluded`). */
export type ExcusedAbsences = "absent" | "excluded";

/** Periods by status. */
export interface Tally {
  present: number;
  absent: number;
  sick: number;
  leave: number;
}

/** A student's summary in one class: everything metrics need, whatever the policy. */
export interface StudentCounts {
  all: Tally;
  presentDays: number;
  /** Recorded dates. */
  dates: number;
  /** The latest 5 recorded dates. */
  recent: Tally;
  /** The 5 dates before those. */
  prior: Tally;
}

/** Dates in each trend window. */
export const TREND_WINDOW_DATES = 5;
/** Points of difference that make a trend. */
export const TREND_THRESHOLD_POINTS = 5;

const FIELD: Record<AttendanceStatus, keyof Tally> = {
  PRESENT: "present",
  ABSENT: "absent",
  SICK: "sick",
  LEAVE: "leave",
};

/** An empty tally. */
export function emptyTally(): Tally {
  return { present: 0, absent: 0, sick: 0, leave: 0 };
}

/**
 * Adds `delta` periods of `status` to a tally (a new object).
 *
 * @example
 * ```ts
 * addToTally(emptyTally(), "SICK", 1); // { present: 0, absent: 0, sick: 1, leave: 0 }
 * ```
 */
export function addToTally(tally: Tally, status: AttendanceStatus, delta: number): Tally {
  const field = FIELD[status];
  return { ...tally, [field]: tally[field] + delta };
}

function sumTallies(tallies: Iterable<Tally>): Tally {
  const sum = emptyTally();
  for (const t of tallies) {
    sum.present += t.present;
    sum.absent += t.absent;
    sum.sick += t.sick;
    sum.leave += t.leave;
  }
  return sum;
}

/** Recorded periods (each record is one period, or one whole day when it has no period). */
export function totalClasses(tally: Tally): number {
  return tally.present + tally.absent + tally.sick + tally.leave;
}

/**
 * The attendance rate in tenths of a point (integer), e.g. 667 for 66.7 %.
 *
 * @example
 * ```ts
 * rateTenths({ present: 2, absent: 1, sick: 0, leave: 0 }, "absent"); // 667
 * ```
 */
export function rateTenths(tally: Tally, excused: ExcusedAbsences): number {
  const counted = excused === "excluded" ? tally.present + tally.absent : totalClasses(tally);
  if (counted === 0) return 1000;
  return Math.round((1000 * tally.present) / counted);
}

/**
 * 100 × PRESENT / counted periods, one decimal.
 *
 * @example
 * ```ts
 * attendanceRate({ present: 3, absent: 0, sick: 1, leave: 0 }, "excluded"); // 100
 * ```
 */
export function attendanceRate(tally: Tally, excused: ExcusedAbsences): number {
  return rateTenths(tally, excused) / 10;
}

/**
 * Distinct dates with at least one PRESENT.
 *
 * @example
 * ```ts
 * presentDays([{ present: 1, absent: 2, sick: 0, leave: 0 }, emptyTally()]); // 1
 * ```
 */
export function presentDays(days: Iterable<Tally>): number {
  let count = 0;
  for (const day of days) if (day.present > 0) count++;
  return count;
}

/**
 * Summarizes a student's per-date tallies (dates as `YYYY-MM-DD`, any order; empty ones ignored).
 *
 * @example
 * ```ts
 * summarizeDays(new Map([["2026-09-01", { present: 1, absent: 0, sick: 0, leave: 0 }]]));
 * ```
 */
export function summarizeDays(days: ReadonlyMap<string, Tally>): StudentCounts {
  const dates = [...days.keys()].filter((d) => totalClasses(days.get(d)!) > 0).sort();
  const byDate = dates.map((d) => days.get(d)!);
  const n = byDate.length;
  return {
    all: sumTallies(byDate),
    presentDays: presentDays(byDate),
    dates: n,
    recent: sumTallies(byDate.slice(Math.max(0, n - TREND_WINDOW_DATES))),
    prior: sumTallies(
      byDate.slice(Math.max(0, n - 2 * TREND_WINDOW_DATES), Math.max(0, n - TREND_WINDOW_DATES)),
    ),
  };
}

/**
 * `improving`, `declining` or `stable`: the latest 5 dates' rate against the 5 before.
 *
 * @example
 * ```ts
 * trend(summarizeDays(days), "absent"); // "stable" with fewer than 10 dates
 * ```
 */
export function trend(counts: StudentCounts, excused: ExcusedAbsences): MetricsPayload["trend"] {
  if (counts.dates < 2 * TREND_WINDOW_DATES) return "stable";
  const diff = rateTenths(counts.recent, excused) - rateTenths(counts.prior, excused);
  if (diff >= TREND_THRESHOLD_POINTS * 10) return "improving";
  if (diff <= -TREND_THRESHOLD_POINTS * 10) return "declining";
  return "stable";
}

/**
 * Standard competition ranks (1, 2, 2, 4), highest value first.
 *
 * @example
 * ```ts
 * competitionRanks(new Map([["a", 90], ["b", 80], ["c", 90]])); // a→1, c→1, b→3
 * ```
 */
export function competitionRanks(values: ReadonlyMap<string, number>): Map<string, number> {
  const sorted = [...values.values()].sort((a, b) => b - a);
  const firstIndex = new Map<number, number>();
  sorted.forEach((v, i) => {
    if (!firstIndex.has(v)) firstIndex.set(v, i);
  });
  const ranks = new Map<string, number>();
  for (const [key, v] of values) ranks.set(key, firstIndex.get(v)! + 1);
  return ranks;
}

/**
 * Mean of rates given in tenths, as a one-decimal rate (0 for no students).
 *
 * @example
 * ```ts
 * classAverage([900, 800, 805]); // 83.5
 * ```
 */
export function classAverage(tenths: readonly number[]): number {
  if (tenths.length === 0) return 0;
  return Math.round(tenths.reduce((a, b) => a + b, 0) / tenths.length) / 10;
}

/**
 * The `metrics_update` payload of every student of a class, from their counts.
 *
 * @example
 * ```ts
 * classMetrics(new Map([["s-1", counts]]), "absent").get("s-1")?.ranking; // 1
 * ```
 */
export function classMetrics(
  counts: ReadonlyMap<string, StudentCounts>,
  excused: ExcusedAbsences,
): Map<string, MetricsPayload> {
  const rates = new Map<string, number>();
  for (const [studentId, c] of counts) rates.set(studentId, rateTenths(c.all, excused));
  const ranks = competitionRanks(rates);
  const average = classAverage([...rates.values()]);
  const metrics = new Map<string, MetricsPayload>();
  for (const [studentId, c] of counts) {
    metrics.set(studentId, {
      studentId,
      attendanceRate: rates.get(studentId)! / 10,
      totalClasses: totalClasses(c.all),
      presentDays: c.presentDays,
      ranking: ranks.get(studentId)!,
      classSize: counts.size,
      classAverage: average,
      trend: trend(c, excused),
    });
  }
  return metrics;
}

/** True when two payloads show the same numbers (field by field). */
export function sameMetrics(a: MetricsPayload | undefined, b: MetricsPayload | undefined): boolean {
  if (!a || !b) return a === b;
  return a.attendanceRate === b.attendanceRate && a.totalClasses === b.totalClasses &&
    a.presentDays === b.presentDays && a.ranking === b.ranking && a.classSize === b.classSize &&
    a.classAverage === b.classAverage && a.trend === b.trend;
}
