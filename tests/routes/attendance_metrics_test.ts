/**
 * The metric definitions, end to end: a realistic class (40 students, 60 school days, 3 periods a
 * day, mixed statuses, some ties, some corrections) is marked over HTTP, and every student's
 * metrics are checked against expectations computed here from the raw records with plain code.
 */
import assert from "node:assert/strict";
import type { TestServer } from "../support/test_server.ts";
import { envelope, eventsOf, featureTest, getJson, mark } from "../support/feature_modes.ts";

type Status = "PRESENT" | "ABSENT" | "SICK" | "LEAVE";
interface Rec {
  studentId: string;
  classId: string;
  date: string;
  period: number;
  status: Status;
  subject: string;
}

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function schoolDays(count: number): string[] {
  const days: string[] = [];
  const d = new Date(Date.UTC(2026, 8, 1));
  while (days.length < count) {
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) days.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return days;
}

const STUDENTS = Array.from({ length: 40 }, (_, i) => `st-${String(i).padStart(2, "0")}`);

function generateClass(): Rec[] {
  const next = random(20261127);
  const days = schoolDays(60);
  const subjects = ["Maths", "History", "Biology"];
  const records: Rec[] = [];
  STUDENTS.forEach((studentId, s) => {
    // Students 36-39 copy students 0-3 exactly: guaranteed ties in the ranking.
    if (s >= 36) {
      for (const r of records.filter((r) => r.studentId === STUDENTS[s - 36])) {
        records.push({ ...r, studentId });
      }
      return;
    }
    const base = 0.55 + 0.4 * next();
    days.forEach((date, d) => {
      // Students 0-9 improve over the last five days, 10-19 decline, 30-35 attend every period
      // of the last ten days (stable).
      const late = d >= 55;
      const p = s < 10
        ? (late ? 0.98 : base - 0.25)
        : s < 20
        ? (late ? base - 0.4 : base)
        : s >= 30 && d >= 50
        ? 1
        : base;
      for (let period = 1; period <= 3; period++) {
        const roll = next();
        const status: Status = roll < p
          ? "PRESENT"
          : roll < p + (1 - p) * 0.5
          ? "ABSENT"
          : roll < p + (1 - p) * 0.8
          ? "SICK"
          : "LEAVE";
        records.push({
          studentId,
          classId: "c-9a",
          date,
          period,
          status,
          subject: subjects[period - 1],
        });
      }
    });
  });
  return records;
}

/** Round half up of 1000 × num / den, in exact integer arithmetic. */
const tenths = (num: number, den: number) => Math.floor((2000 * num + den) / (2 * den));

function expected(records: Rec[], excused: "absent" | "excluded") {
  const rateOf = (rs: Rec[]) => {
    const present = rs.filter((r) => r.status === "PRESENT").length;
    const counted = excused === "absent"
      ? rs.length
      : rs.filter((r) => r.status === "PRESENT" || r.status === "ABSENT").length;
    return counted === 0 ? 1000 : tenths(present, counted);
  };
  const byStudent = new Map<string, Rec[]>();
  for (const r of records) byStudent.set(r.studentId, [...(byStudent.get(r.studentId) ?? []), r]);
  const rates = new Map([...byStudent].map(([s, rs]) => [s, rateOf(rs)]));
  const sum = [...rates.values()].reduce((a, b) => a + b, 0);
  const n = rates.size;
  const average = Math.floor((2 * sum + n) / (2 * n)) / 10;
  const out = new Map<string, Record<string, unknown>>();
  for (const [studentId, rs] of byStudent) {
    const dates = [...new Set(rs.map((r) => r.date))].sort();
    let trend = "stable";
    if (dates.length >= 10) {
      const recent = rateOf(rs.filter((r) => dates.slice(-5).includes(r.date)));
      const prior = rateOf(rs.filter((r) => dates.slice(-10, -5).includes(r.date)));
      if (recent - prior >= 50) trend = "improving";
      else if (recent - prior <= -50) trend = "declining";
    }
    out.set(studentId, {
      studentId,
      attendanceRate: rates.get(studentId)! / 10,
      totalClasses: rs.length,
      presentDays: new Set(rs.filter((r) => r.status === "PRESENT").map((r) => r.date)).size,
      ranking: 1 + [...rates.values()].filter((v) => v > rates.get(studentId)!).length,
      classSize: n,
      classAverage: average,
      trend,
    });
  }
  return out;
}

async function markAll(server: TestServer, token: string, records: Rec[]) {
  for (let i = 0; i < records.length; i += 500) {
    const response = await mark(server, token, { records: records.slice(i, i + 500) });
    assert.equal(response.status, 200, JSON.stringify(response.body));
  }
}

async function checkMetrics(server: TestServer, want: Map<string, Record<string, unknown>>) {
  for (const studentId of STUDENTS) {
    const token = await server.student(studentId, "c-9a");
    const summary = await getJson(`${server.url}/api/students/me/summary`, token);
    assert.equal(summary.status, 200);
    assert.deepEqual(summary.body.metrics, want.get(studentId), studentId);
    // The last metrics_update a student was sent says the same.
    const last = (await eventsOf(server, [studentId])).map(envelope)
      .filter((e) => e.type === "metrics_update").at(-1);
    assert.deepEqual(last?.data, want.get(studentId), `${studentId} (event)`);
  }
}

for (const excused of ["absent", "excluded"] as const) {
  featureTest(
    `metrics: a class of 40 over 60 school days, EXCUSED_ABSENCES=${excused}`,
    async (server) => {
      const records = generateClass();
      assert.equal(records.length, 40 * 60 * 3);
      const teacher = await server.teacher("t-9a", ["c-9a"]);
      await markAll(server, teacher, records);

      const want = expected(records, excused);
      const trends = [...want.values()].map((m) => m.trend);
      assert.ok(
        trends.includes("improving") && trends.includes("declining") && trends.includes("stable"),
      );
      const ranks = [...want.values()].map((m) => m.ranking as number);
      assert.ok(new Set(ranks).size < ranks.length, "the generated class has ties");
      await checkMetrics(server, want);

      // Corrections: flip some statuses and move one record to a whole-day mark; recompute.
      const next = random(7);
      const flips = records.filter(() => next() < 0.02).map((r) => ({
        ...r,
        status: (r.status === "PRESENT" ? "ABSENT" : "PRESENT") as Status,
      }));
      const response = await mark(server, teacher, { records: flips.slice(0, 500) });
      assert.equal(response.body.corrections, Math.min(500, flips.length));
      const byKey = new Map(records.map((r) => [`${r.studentId}|${r.date}|${r.period}`, r]));
      for (const f of flips.slice(0, 500)) byKey.set(`${f.studentId}|${f.date}|${f.period}`, f);
      await checkMetrics(server, expected([...byKey.values()], excused));
    },
    { EXCUSED_ABSENCES: excused },
  );
}
