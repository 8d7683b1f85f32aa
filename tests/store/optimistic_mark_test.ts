import assert from "node:assert/strict";
import type { StudentCounts, Tally } from "../../server/attendance/metrics.ts";
import { RedisKeys } from "../../server/redis/keys.ts";
import type { ClassTallies } from "../../server/store/mark_cache.ts";
import { classesAfterCommit, guardArguments } from "../../server/store/optimistic_mark.ts";

const tally = (present: number, absent = 0): Tally => ({ present, absent, sick: 0, leave: 0 });
const counts = (present: number): StudentCounts => ({
  all: tally(present),
  presentDays: present,
  dates: present,
  recent: tally(present),
  prior: tally(0),
});

Deno.test("classesAfterCommit() applies the commit's writes to what was read, at the new version", () => {
  const c1: ClassTallies = {
    version: "3",
    counts: new Map([["s-1", counts(1)], ["s-2", counts(2)]]),
    days: new Map([["s-1", new Map([["2026-11-02", tally(1)]])]]),
  };
  const c2: ClassTallies = { version: "7", counts: new Map(), days: new Map() };
  const c3: ClassTallies = { version: "1", counts: new Map(), days: new Map() };
  const before = new Map([["c-1", c1], ["c-2", c2], ["c-3", c3]]);
  const after = new Map(classesAfterCommit(
    before,
    {
      records: [],
      days: [
        { classId: "c-1", studentId: "s-1", date: "2026-11-02", tally: null },
        { classId: "c-1", studentId: "s-1", date: "2026-11-03", tally: tally(0, 1) },
        { classId: "c-1", studentId: "s-9", date: "2026-11-03", tally: tally(1) },
      ],
      counts: [
        { classId: "c-1", studentId: "s-1", counts: counts(5) },
        { classId: "c-1", studentId: "s-2", counts: null },
        { classId: "c-2", studentId: "s-4", counts: counts(1) },
      ],
    },
    ["c-1", "c-2", "c-4"],
    ["4", "9", "1"],
  ));
  const c1After = after.get("c-1")!;
  assert.equal(c1After.version, "4");
  assert.deepEqual([...c1After.counts], [["s-1", counts(5)]]);
  assert.deepEqual([...c1After.days.get("s-1")!], [["2026-11-03", tally(0, 1)]]);
  assert.equal(c1After.days.has("s-9"), false, "never read: stays unknown");
  // What was read is not changed in place (another mark may hold it).
  assert.deepEqual([...c1.days.get("s-1")!], [["2026-11-02", tally(1)]]);
  assert.equal(c1.counts.size, 2);
  // c-2 went from 7 to 9: someone else wrote it too. c-4 was never read. c-3 was read, not written.
  assert.equal(after.get("c-2"), null);
  assert.equal(after.get("c-4"), null);
  assert.equal(after.get("c-3"), c3);
});

Deno.test("guardArguments() checks every class lock, each slot as planned, each used version", () => {
  const keys = new RedisKeys("p:");
  const record = (studentId: string, classId: string) => ({
    studentId,
    classId,
    date: "2026-11-02",
    period: 1,
    status: "PRESENT" as const,
    subject: "Maths",
    markedBy: "t-1",
  });
  const used = new Map([["c-0", { version: "5", counts: new Map(), days: new Map() }]]);
  const args = guardArguments(keys, {
    records: [record("s-1", "c-2"), record("s-2", "c-1")],
    expected: ['{"old":1}', ""],
    used,
    committed: false,
  }, "p:att:guard:x");
  assert.deepEqual(args, [
    6,
    "p:att:guard:x",
    keys.attendanceLock("c-0"),
    keys.attendanceLock("c-1"),
    keys.attendanceLock("c-2"),
    keys.attendanceRecords("s-1"),
    keys.attendanceRecords("s-2"),
    10_000,
    3,
    "p:att:version:",
    '2026-11-02|01\n{"old":1}\n2026-11-02|01\n',
    "c-0\n5",
  ]);
});
