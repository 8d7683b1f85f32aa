import assert from "node:assert/strict";
import { featureTest, getJson, mark, postJson, record } from "../support/feature_modes.ts";

featureTest("class rosters: set by admins, learned from records and tokens", async (server) => {
  const admin = await server.admin();
  const teacher = await server.teacher("t-1", ["c-1"]);
  const url = (classId: string) => `${server.url}/api/classes/${classId}/roster`;
  const put = (token: string, classId: string, body: unknown) =>
    fetch(url(classId), {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  assert.equal((await put(teacher, "c-1", { studentIds: ["s-1"] })).status, 403);
  assert.equal((await put(admin, "c-1", { studentIds: ["s-1", 3] })).status, 400);
  assert.equal((await put(admin, "bad id", { studentIds: [] })).status, 400);
  const set = await put(admin, "c-1", { studentIds: ["s-2", "s-1", "s-2"] });
  assert.equal(set.status, 200);
  assert.deepEqual(await set.json(), { classId: "c-1", studentIds: ["s-1", "s-2"] });

  // Learned: s-3 from a record, s-4 from its token.
  await mark(server, teacher, record({ studentId: "s-3" }));
  await getJson(`${server.url}/api/students/me/summary`, await server.student("s-4", "c-1"));
  assert.deepEqual((await getJson(url("c-1"), teacher)).body, {
    classId: "c-1",
    studentIds: ["s-1", "s-2", "s-3", "s-4"],
  });
  assert.equal((await getJson(url("c-2"), teacher)).status, 403);
  assert.equal((await getJson(url("c-1"))).status, 401);

  // Membership decides whom a teacher may notify; a student moved away is no longer theirs.
  const notify = (studentId: string) =>
    postJson(`${server.url}/api/notifications`, teacher, {
      studentId,
      title: "Hello",
      message: "m",
      severity: "info",
    });
  assert.equal((await notify("s-2")).status, 201);
  assert.equal((await put(admin, "c-2", { studentIds: ["s-2"] })).status, 200);
  assert.equal((await notify("s-2")).status, 403);
  assert.deepEqual((await getJson(url("c-1"), admin)).body.studentIds, ["s-1", "s-3", "s-4"]);
  assert.equal((await put(admin, "c-1", { studentIds: ["s-1"] })).status, 200);
  assert.deepEqual((await getJson(url("c-1"), admin)).body.studentIds, ["s-1"]);
  assert.equal((await notify("s-3")).status, 403);

  // One bulk mark moves several students: s-1 leaves c-1 for c-2, s-5 joins c-2, and s-6, posted
  // in c-1 and then in c-2, ends in c-2 (the last posted record's class wins).
  const moved = await mark(server, admin, {
    records: [
      record({ studentId: "s-1", classId: "c-2" }),
      record({ studentId: "s-5", classId: "c-2" }),
      record({ studentId: "s-6", classId: "c-1", date: "2026-11-03" }),
      record({ studentId: "s-6", classId: "c-2", date: "2026-11-04" }),
    ],
  });
  assert.equal(moved.status, 200);
  assert.deepEqual((await getJson(url("c-1"), admin)).body.studentIds, []);
  assert.deepEqual((await getJson(url("c-2"), admin)).body.studentIds, [
    "s-1",
    "s-2",
    "s-5",
    "s-6",
  ]);
});
