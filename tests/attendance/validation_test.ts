import assert from "node:assert/strict";
import {
  isCalendarDate,
  validateAttendanceQuery,
  validateMarkBody,
  validateNotificationBody,
  validateRosterBody,
} from "../../server/attendance/validation.ts";
import { ValidationError } from "../../server/errors.ts";

const good = {
  studentId: "s-1",
  classId: "c-1",
  date: "2026-11-27",
  period: 2,
  status: "PRESENT",
  subject: "Maths",
};

function problems(fn: () => unknown): Array<{ index?: number; field: string }> {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.equal(error.status, 400);
    assert.match(error.message, /^Cannot /);
    return (error.details.problems as Array<{ index?: number; field: string }>).map((p) => ({
      ...(p.index === undefined ? {} : { index: p.index }),
      field: p.field,
    }));
  }
  throw new Error("expected a ValidationError");
}

Deno.test("isCalendarDate() accepts real dates only", () => {
  assert.ok(isCalendarDate("2024-02-29"));
  assert.ok(!isCalendarDate("2023-02-29"));
  assert.ok(!isCalendarDate("2026-13-01"));
  assert.ok(!isCalendarDate("2026-04-31"));
  assert.ok(!isCalendarDate("2026-1-01"));
  assert.ok(!isCalendarDate(20261127));
  assert.ok(isCalendarDate("2000-02-29") && isCalendarDate("9999-12-31"));
  for (const bad of ["0000-01-01", "2026-00-10", "2026-02-00", "2026-12-32", "2026-1a-01"]) {
    assert.ok(!isCalendarDate(bad), bad);
  }
});

Deno.test("validateMarkBody() accepts one record or a bulk list", () => {
  assert.deepEqual(validateMarkBody(good), [good]);
  const { period: _p, ...wholeDay } = good;
  assert.deepEqual(validateMarkBody({ records: [wholeDay, { ...good, studentId: "s-2" }] }), [
    wholeDay,
    { ...good, studentId: "s-2" },
  ]);
});

Deno.test("validateMarkBody() lists every problem by index and field", () => {
  const found = problems(() =>
    validateMarkBody({
      records: [
        good,
        { ...good, studentId: "bad id", status: "LATE" },
        { ...good, date: "2023-02-29", period: 13, subject: "" },
        { ...good, period: 1.5, classId: 7, subject: "x".repeat(101) },
        "not a record",
        { ...good, period: 0 },
      ],
    })
  );
  assert.deepEqual(found, [
    { index: 1, field: "studentId" },
    { index: 1, field: "status" },
    { index: 2, field: "date" },
    { index: 2, field: "period" },
    { index: 2, field: "subject" },
    { index: 3, field: "classId" },
    { index: 3, field: "period" },
    { index: 3, field: "subject" },
    { index: 4, field: "record" },
    { index: 5, field: "period" },
  ]);
});

Deno.test("validateMarkBody() names a single record's field without an index", () => {
  try {
    validateMarkBody({ ...good, status: "LATE" });
    assert.fail("no error");
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.equal(
      error.message,
      "Cannot mark attendance: 'status' must be one of PRESENT, ABSENT, SICK, LEAVE",
    );
  }
});

Deno.test("validateMarkBody() refuses empty, oversized and repeated bulk lists", () => {
  assert.deepEqual(problems(() => validateMarkBody({ records: [] })), [{ field: "records" }]);
  assert.deepEqual(
    problems(() => validateMarkBody({ records: Array.from({ length: 501 }, () => good) })),
    [{ field: "records" }],
  );
  assert.deepEqual(
    problems(() => validateMarkBody({ records: [good, { ...good, status: "ABSENT" }] })),
    [{ index: 1, field: "period" }],
  );
  assert.equal(
    validateMarkBody({
      records: Array(500).fill(0).map((_, i) => ({ ...good, studentId: `s-${i}` })),
    }).length,
    500,
  );
});

Deno.test("validateMarkBody() counts subject length in characters", () => {
  assert.equal(validateMarkBody({ ...good, subject: "é".repeat(100) }).length, 1);
  assert.equal(validateMarkBody({ ...good, subject: "📚".repeat(100) }).length, 1);
  assert.throws(() => validateMarkBody({ ...good, subject: "📚".repeat(101) }), ValidationError);
  assert.throws(
    () => validateMarkBody({ ...good, subject: "x" + "📚".repeat(100) }),
    ValidationError,
  );
  // Lone surrogates count one each, as string iteration counts them.
  assert.equal(validateMarkBody({ ...good, subject: "\ud83d".repeat(100) }).length, 1);
  assert.throws(
    () => validateMarkBody({ ...good, subject: "\udcda".repeat(101) }),
    ValidationError,
  );
  assert.equal(validateMarkBody({ ...good, subject: "\udcda\ud83d".repeat(50) }).length, 1);
});

Deno.test("validateNotificationBody() checks audience, lengths, severity and actionUrl", () => {
  const note = { classId: "c-1", title: "Trip", message: "Bring lunch", severity: "info" };
  assert.deepEqual(validateNotificationBody(note), {
    target: { classId: "c-1" },
    title: "Trip",
    message: "Bring lunch",
    severity: "info",
  });
  assert.equal(
    validateNotificationBody({ ...note, actionUrl: "https://portal.example/x?y=1" }).actionUrl,
    "https://portal.example/x?y=1",
  );
  for (const actionUrl of ["javascript:alert(1)", "data:text/html,hi", "/relative", "ftp://x/y"]) {
    assert.deepEqual(problems(() => validateNotificationBody({ ...note, actionUrl })), [
      { field: "actionUrl" },
    ]);
  }
  assert.deepEqual(
    problems(() =>
      validateNotificationBody({
        studentId: "s-1",
        classId: "c-1",
        title: "x".repeat(121),
        message: "",
        severity: "fatal",
      })
    ),
    [{ field: "studentId" }, { field: "title" }, { field: "message" }, { field: "severity" }],
  );
});

Deno.test("validateAttendanceQuery() checks ids and dates", () => {
  assert.deepEqual(validateAttendanceQuery({ classId: "c-1", from: "2026-09-01" }), {
    classId: "c-1",
    from: "2026-09-01",
  });
  assert.deepEqual(
    problems(() =>
      validateAttendanceQuery({ studentId: "a b", from: "2026-09-02", to: "2026-09-01" })
    ),
    [{ field: "studentId" }, { field: "to" }],
  );
});

Deno.test("validateRosterBody() takes ids and drops duplicates", () => {
  assert.deepEqual(validateRosterBody({ studentIds: ["s-1", "s-2", "s-1"] }), ["s-1", "s-2"]);
  assert.deepEqual(problems(() => validateRosterBody({ studentIds: ["s-1", 5] })), [
    { field: "studentIds[1]" },
  ]);
  assert.deepEqual(problems(() => validateRosterBody({})), [{ field: "studentIds" }]);
});
