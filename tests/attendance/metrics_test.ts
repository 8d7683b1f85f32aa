import assert from "node:assert/strict";
import {
  addToTally,
  attendanceRate,
  classAverage,
  classMetrics,
  competitionRanks,
  emptyTally,
  presentDays,
  rateTenths,
  sameMetrics,
  summarizeDays,
  type Tally,
  totalClasses,
  trend,
} from "../../server/attendance/metrics.ts";
import type { AttendanceStatus } from "../../server/events.ts";

const T = (present: number, absent = 0, sick = 0, leave = 0): Tally => ({
  present,
  absent,
  sick,
  leave,
});

/** Per-date tallies from (date, status) pairs, the way the store keeps them. */
function days(marks: Array<[string, AttendanceStatus]>): Map<string, Tally> {
  const out = new Map<string, Tally>();
  for (const [date, status] of marks) {
    out.set(date, addToTally(out.get(date) ?? emptyTally(), status, 1));
  }
  return out;
}

const date = (n: number) => `2026-09-${String(n).padStart(2, "0")}`;

Deno.test("totalClasses() counts every recorded period", () => {
  assert.equal(totalClasses(T(3, 2, 1, 1)), 7);
  assert.equal(totalClasses(emptyTally()), 0);
});

Deno.test("attendanceRate() is 100 × PRESENT / total, one decimal", () => {
  assert.equal(attendanceRate(T(2, 1), "absent"), 66.7);
  assert.equal(attendanceRate(T(1, 2), "absent"), 33.3);
  assert.equal(attendanceRate(T(1, 15), "absent"), 6.3); // 6.25 rounds half up
  assert.equal(attendanceRate(T(0, 4), "absent"), 0);
  assert.equal(rateTenths(T(7, 1), "absent"), 875);
});

Deno.test("attendanceRate() with excluded: SICK and LEAVE leave the denominator", () => {
  assert.equal(attendanceRate(T(3, 1, 2, 2), "absent"), 37.5);
  assert.equal(attendanceRate(T(3, 1, 2, 2), "excluded"), 75);
  assert.equal(attendanceRate(T(0, 0, 2, 1), "excluded"), 100); // nothing counts against
  assert.equal(attendanceRate(T(0, 0, 2, 1), "absent"), 0);
});

Deno.test("presentDays() counts distinct dates with at least one PRESENT", () => {
  const d = days([
    [date(1), "PRESENT"],
    [date(1), "ABSENT"],
    [date(1), "PRESENT"],
    [date(2), "SICK"],
    [date(3), "ABSENT"],
    [date(3), "PRESENT"],
  ]);
  assert.equal(presentDays(d.values()), 2);
  assert.equal(summarizeDays(d).presentDays, 2);
  assert.equal(summarizeDays(d).dates, 3);
});

Deno.test("competitionRanks() gives 1, 2, 2, 4", () => {
  const ranks = competitionRanks(new Map([["a", 900], ["b", 800], ["c", 800], ["d", 700]]));
  assert.deepEqual(Object.fromEntries(ranks), { a: 1, b: 2, c: 2, d: 4 });
  const tied = competitionRanks(new Map([["a", 500], ["b", 500]]));
  assert.deepEqual(Object.fromEntries(tied), { a: 1, b: 1 });
});

Deno.test("classAverage() is the mean rate, one decimal", () => {
  assert.equal(classAverage([900, 800, 805]), 83.5);
  assert.equal(classAverage([1000, 667]), 83.4); // 83.35 rounds half up
  assert.equal(classAverage([]), 0);
});

Deno.test("trend() compares the latest 5 dates with the 5 before", () => {
  const nine = days(Array.from({ length: 9 }, (_, i) => [date(i + 1), "ABSENT"]));
  nine.set(date(10), T(1));
  assert.equal(summarizeDays(nine).dates, 10);
  // prior 5: all absent (0 %), recent 5: 1 of 5 present (20 %): +20 points.
  assert.equal(trend(summarizeDays(nine), "absent"), "improving");

  const declining = days([
    ...Array.from({ length: 5 }, (_, i): [string, AttendanceStatus] => [date(i + 1), "PRESENT"]),
    ...Array.from({ length: 5 }, (_, i): [string, AttendanceStatus] => [date(i + 6), "PRESENT"]),
  ]);
  declining.set(date(10), T(0, 1)); // recent 80 %, prior 100 %
  assert.equal(trend(summarizeDays(declining), "absent"), "declining");

  // Exactly +5 points (prior 19/20 = 95 %, recent 20/20 = 100 %) is improving; under is stable.
  const edge = new Map<string, Tally>();
  for (let i = 1; i <= 10; i++) edge.set(date(i), i === 1 ? T(3, 1) : T(4));
  assert.equal(trend(summarizeDays(edge), "absent"), "improving");
  edge.set(date(1), T(4, 0, 0, 0));
  edge.set(date(2), T(3, 1)); // still 95 % vs 100 %
  assert.equal(trend(summarizeDays(edge), "absent"), "improving");
  edge.set(date(10), T(3, 0, 1)); // recent 19/20 = 95 %: stable
  assert.equal(trend(summarizeDays(edge), "absent"), "stable");
  // With excluded, the SICK period leaves: 19/19 = 100 % against 95 %.
  assert.equal(trend(summarizeDays(edge), "excluded"), "improving");
});

Deno.test("trend() is stable with fewer than 10 dates", () => {
  const d = new Map<string, Tally>();
  for (let i = 1; i <= 9; i++) d.set(date(i), i <= 4 ? T(0, 1) : T(1));
  assert.equal(trend(summarizeDays(d), "absent"), "stable");
});

Deno.test("trend() uses the excused-absence policy", () => {
  const d = new Map<string, Tally>();
  for (let i = 1; i <= 5; i++) d.set(date(i), T(1, 1)); // 50 % either way
  for (let i = 6; i <= 10; i++) d.set(date(i), T(1, 0, 1)); // 50 % absent, 100 % excluded
  assert.equal(trend(summarizeDays(d), "absent"), "stable");
  assert.equal(trend(summarizeDays(d), "excluded"), "improving");
});

Deno.test("classMetrics() builds every student's payload", () => {
  const counts = new Map([
    ["s-1", summarizeDays(days([[date(1), "PRESENT"], [date(2), "PRESENT"]]))],
    ["s-2", summarizeDays(days([[date(1), "PRESENT"], [date(2), "ABSENT"]]))],
    ["s-3", summarizeDays(days([[date(1), "SICK"], [date(2), "PRESENT"]]))],
  ]);
  const absent = classMetrics(counts, "absent");
  assert.deepEqual(absent.get("s-2"), {
    studentId: "s-2",
    attendanceRate: 50,
    totalClasses: 2,
    presentDays: 1,
    ranking: 2,
    classSize: 3,
    classAverage: 66.7,
    trend: "stable",
  });
  assert.equal(absent.get("s-3")!.ranking, 2);
  const excluded = classMetrics(counts, "excluded");
  assert.equal(excluded.get("s-3")!.attendanceRate, 100);
  assert.equal(excluded.get("s-3")!.ranking, 1);
  assert.equal(excluded.get("s-2")!.ranking, 3);
  assert.equal(excluded.get("s-1")!.classAverage, 83.3);
  assert.ok(sameMetrics(absent.get("s-1"), { ...absent.get("s-1")! }));
  assert.ok(!sameMetrics(absent.get("s-1"), excluded.get("s-1")));
});
