import assert from "node:assert/strict";
import {
  envelope,
  eventsOf,
  featureTest,
  getJson,
  mark,
  record,
} from "../support/feature_modes.ts";

featureTest("POST /api/attendance: who may mark, and a refusal writes nothing", async (server) => {
  const student = await server.student("s-1", "c-1");
  const otherTeacher = await server.teacher("t-2", ["c-2"]);
  const teacher = await server.teacher("t-1", ["c-1"]);
  const admin = await server.admin();
  const bulk = { records: [record(), record({ studentId: "s-2", classId: "c-2" })] };

  assert.equal((await mark(server, "", record())).status, 401);
  assert.equal((await mark(server, student, record())).status, 403);
  assert.equal((await mark(server, otherTeacher, record())).status, 403);
  // A bulk mark touching one class the teacher does not teach is refused whole.
  assert.equal((await mark(server, teacher, bulk)).status, 403);
  assert.equal((await mark(server, otherTeacher, bulk)).status, 403);
  const seen = await getJson(`${server.url}/api/attendance?classId=c-1`, admin);
  assert.deepEqual(seen.body, { records: [] });
  assert.equal((await eventsOf(server, ["s-1", "s-2"])).length, 0);

  const ok = await mark(server, teacher, record());
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { stored: 1, corrections: 0, unchanged: 0 });
  assert.equal((await mark(server, admin, bulk)).status, 200);
  const all = await getJson(`${server.url}/api/attendance?studentId=s-2`, admin);
  assert.deepEqual((all.body.records as unknown[]).length, 1);
});

featureTest(
  "GET /api/attendance: teachers their classes, admins all, students themselves",
  async (server) => {
    const admin = await server.admin();
    await mark(server, admin, {
      records: [
        record({ date: "2026-11-02" }),
        record({ date: "2026-11-03", status: "SICK" }),
        record({ studentId: "s-2" }),
        record({ studentId: "s-9", classId: "c-9" }),
      ],
    });
    const url = (q: string) => `${server.url}/api/attendance?${q}`;
    const s1 = await server.student("s-1", "c-1");
    const mine = await getJson(url(""), s1);
    assert.equal(mine.status, 200);
    assert.deepEqual((mine.body.records as Array<{ studentId: string }>).map((r) => r.studentId), [
      "s-1",
      "s-1",
    ]);
    assert.deepEqual(mine.body.records, [
      {
        studentId: "s-1",
        date: "2026-11-02",
        period: 1,
        status: "PRESENT",
        subject: "Maths",
        markedBy: "admin-1",
        classId: "c-1",
      },
      {
        studentId: "s-1",
        date: "2026-11-03",
        period: 1,
        status: "SICK",
        subject: "Maths",
        markedBy: "admin-1",
        classId: "c-1",
      },
    ]);
    assert.equal((await getJson(url("studentId=s-2"), s1)).status, 403);
    const ranged = await getJson(url("from=2026-11-03&to=2026-11-30"), s1);
    assert.equal((ranged.body.records as unknown[]).length, 1);

    const teacher = await server.teacher("t-1", ["c-1"]);
    assert.equal(
      ((await getJson(url("classId=c-1"), teacher)).body.records as unknown[]).length,
      3,
    );
    assert.equal((await getJson(url("classId=c-9"), teacher)).status, 403);
    assert.deepEqual((await getJson(url("studentId=s-9"), teacher)).body, { records: [] });
    assert.equal((await getJson(url(""), teacher)).status, 400);
    assert.equal(((await getJson(url("classId=c-9"), admin)).body.records as unknown[]).length, 1);
    assert.equal((await getJson(url("classId=c-1&from=2026-13-01"), admin)).status, 400);
    assert.equal((await getJson(url("classId=c-1"))).status, 401);
  },
);

featureTest(
  "POST /api/attendance: a bad bulk request lists every problem and writes nothing",
  async (server) => {
    const teacher = await server.teacher("t-1", ["c-1"]);
    const response = await mark(server, teacher, {
      records: [
        record(),
        record({ studentId: "s-2", status: "LATE" }),
        record({ studentId: "s-3", date: "2026-02-30", period: 13 }),
        record({ studentId: "s-4", subject: "" }),
      ],
    });
    assert.equal(response.status, 400);
    assert.match(response.body.error as string, /^Cannot mark attendance: 4 problems/);
    assert.deepEqual(
      (response.body.problems as Array<{ index: number; field: string }>).map((p) => [
        p.index,
        p.field,
      ]),
      [[1, "status"], [2, "date"], [2, "period"], [3, "subject"]],
    );
    const listed = await getJson(`${server.url}/api/attendance?classId=c-1`, teacher);
    assert.deepEqual(listed.body, { records: [] });
    assert.equal((await eventsOf(server, ["s-1", "s-2", "s-3", "s-4"])).length, 0);

    const notJson = await fetch(`${server.url}/api/attendance`, {
      method: "POST",
      headers: { authorization: `Bearer ${teacher}`, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(notJson.status, 400);
    assert.equal((await notJson.json()).problems[0].field, "body");
    const tooMany = await mark(server, teacher, {
      records: Array.from({ length: 501 }, (_, i) => record({ studentId: `s-${i}` })),
    });
    assert.equal(tooMany.status, 400);
  },
);

featureTest(
  "POST /api/attendance: 500 records (over 64 KiB) pass, over 1 MiB is 413",
  async (server) => {
    const teacher = await server.teacher("t-1", ["c-1"]);
    const records = Array.from(
      { length: 500 },
      (_, i) =>
        record({
          studentId: `student-${i % 50}`,
          period: 1 + Math.floor(i / 50),
          subject: "S".repeat(80),
        }),
    );
    const body = JSON.stringify({ records });
    assert.ok(body.length > 64 * 1024);
    const ok = await mark(server, teacher, body);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.stored, 500);
    const huge = await mark(server, teacher, {
      records: [record({ subject: "x".repeat(1100 * 1024) })],
    });
    assert.equal(huge.status, 413);
  },
);

featureTest(
  "POST /api/attendance: an identical re-mark is a no-op that sends nothing",
  async (server) => {
    const teacher = await server.teacher("t-1", ["c-1"]);
    const body = { records: [record(), record({ studentId: "s-2", status: "ABSENT" })] };
    assert.deepEqual((await mark(server, teacher, body)).body, {
      stored: 2,
      corrections: 0,
      unchanged: 0,
    });
    const before = await eventsOf(server, ["s-1", "s-2"]);
    // Another teacher of the class retrying the same marks changes nothing either.
    const colleague = await server.teacher("t-2", ["c-1"]);
    assert.deepEqual((await mark(server, colleague, body)).body, {
      stored: 0,
      corrections: 0,
      unchanged: 2,
    });
    assert.deepEqual(await eventsOf(server, ["s-1", "s-2"]), before);
  },
);

featureTest(
  "POST /api/attendance: a changed status is a correction with previousStatus",
  async (server) => {
    const teacher = await server.teacher("t-1", ["c-1"]);
    await mark(server, teacher, {
      records: [record({ status: "ABSENT" }), record({ studentId: "s-2" })],
    });
    const cursor = (await eventsOf(server, ["s-1", "s-2"])).at(-1)!.id;

    const corrected = await mark(server, teacher, {
      records: [record({ status: "PRESENT" }), record({ studentId: "s-2" })],
    });
    assert.deepEqual(corrected.body, { stored: 1, corrections: 1, unchanged: 1 });
    const events = (await eventsOf(server, ["s-1", "s-2"], [], cursor)).map(envelope);
    const update = events.find((e) => e.type === "attendance_update")!;
    assert.equal(update.data.correction, true);
    assert.equal(update.data.previousStatus, "ABSENT");
    assert.equal(update.data.status, "PRESENT");
    assert.equal(update.data.markedBy, "t-1");
    // s-1 went 0 % → 100 %: both students' metrics move (s-2's ranking and the average).
    const metrics = events.filter((e) => e.type === "metrics_update");
    assert.deepEqual(
      metrics.map((m) => [m.data.studentId, m.data.attendanceRate, m.data.ranking]).sort(),
      [
        ["s-1", 100, 1],
        ["s-2", 100, 1],
      ],
    );

    // Same status, new subject: stored and sent, not a correction, metrics untouched.
    const last = (await eventsOf(server, ["s-1", "s-2"])).at(-1)!.id;
    const renamed = await mark(server, teacher, record({ subject: "Physics" }));
    assert.deepEqual(renamed.body, { stored: 1, corrections: 0, unchanged: 0 });
    const after = (await eventsOf(server, ["s-1", "s-2"], [], last)).map(envelope);
    assert.deepEqual(after.map((e) => e.type), ["attendance_update"]);
    assert.equal(after[0].data.subject, "Physics");
    assert.equal("correction" in after[0].data, false);
    assert.equal("previousStatus" in after[0].data, false);
  },
);

featureTest(
  "POST /api/attendance: a bulk mark of 40 sends 40 + 40 events, not 40 × 40",
  async (server) => {
    const teacher = await server.teacher("t-1", ["c-1"]);
    const ids = Array.from({ length: 40 }, (_, i) => `s-${String(i).padStart(2, "0")}`);
    const day = (date: string, status: (i: number) => string) => ({
      records: ids.map((studentId, i) => record({ studentId, date, status: status(i) })),
    });
    assert.equal(
      (await mark(server, teacher, day("2026-11-02", (i) => (i % 4 === 0 ? "ABSENT" : "PRESENT"))))
        .status,
      200,
    );
    let events = (await eventsOf(server, ids, ["c-1"])).map(envelope);
    assert.equal(events.filter((e) => e.type === "attendance_update").length, 40);
    assert.equal(events.filter((e) => e.type === "metrics_update").length, 40);
    assert.equal(events.length, 80);
    const first = events.find((e) => e.type === "metrics_update" && e.data.studentId === "s-01")!;
    assert.deepEqual(first.data, {
      studentId: "s-01",
      attendanceRate: 100,
      totalClasses: 1,
      presentDays: 1,
      ranking: 1,
      classSize: 40,
      classAverage: 75,
      trend: "stable",
    });

    const cursor = (await eventsOf(server, ids)).at(-1)!.id;
    await mark(server, teacher, day("2026-11-03", (i) => (i % 5 === 0 ? "SICK" : "PRESENT")));
    events = (await eventsOf(server, ids, ["c-1"], cursor)).map(envelope);
    assert.equal(events.length, 80);
    const perStudent = new Map<unknown, number>();
    for (const e of events.filter((e) => e.type === "metrics_update")) {
      perStudent.set(e.data.studentId, (perStudent.get(e.data.studentId) ?? 0) + 1);
    }
    assert.equal(perStudent.size, 40);
    assert.ok([...perStudent.values()].every((n) => n === 1));
  },
);

featureTest(
  "POST /api/attendance: concurrent marks leave metrics equal to the stored records",
  async (server) => {
    const teacher = await server.teacher("t-1", ["c-1"]);
    const statuses = ["PRESENT", "ABSENT", "SICK", "LEAVE"];
    const students = ["s-1", "s-2", "s-3", "s-4"];
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        mark(server, teacher, {
          records: students.map((studentId, s) =>
            record({ studentId, date: `2026-11-0${2 + (i % 3)}`, status: statuses[(i + s) % 4] })
          ),
        })),
    );
    assert.ok(responses.every((r) => r.status === 200));
    const records = (await getJson(`${server.url}/api/attendance?classId=c-1`, teacher)).body
      .records as Array<{ studentId: string; status: string }>;
    const events = await eventsOf(server, students);
    // Every stored record was announced once: one attendance_update per record written.
    const stored = responses.reduce((n, r) => n + (r.body.stored as number), 0);
    assert.equal(events.filter((e) => e.type === "attendance_update").length, stored);
    for (const studentId of students) {
      const mine = records.filter((r) => r.studentId === studentId);
      const present = mine.filter((r) => r.status === "PRESENT").length;
      const last = events.map(envelope).filter((e) =>
        e.type === "metrics_update" && e.data.studentId === studentId
      ).at(-1)!;
      assert.equal(last.data.totalClasses, mine.length);
      assert.equal(last.data.attendanceRate, Math.round((1000 * present) / mine.length) / 10);
    }
  },
);
