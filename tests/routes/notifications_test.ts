import assert from "node:assert/strict";
import { compareEventIds } from "../../server/event_id.ts";
import { openStream } from "../support/sse_client.ts";
import type { TestServer } from "../support/test_server.ts";
import { featureTest, getJson, mark, postJson, record } from "../support/feature_modes.ts";

const note = (extra: Record<string, unknown>) => ({
  title: "Field trip",
  message: "Bring a packed lunch on Friday.",
  severity: "info",
  ...extra,
});

function send(server: TestServer, token: string | undefined, body: unknown) {
  return postJson(`${server.url}/api/notifications`, token, body);
}

featureTest("POST /api/notifications: who may notify whom", async (server) => {
  const admin = await server.admin();
  const teacher = await server.teacher("t-1", ["c-1"]);
  const other = await server.teacher("t-2", ["c-2"]);
  const student = await server.student("s-1", "c-1");
  // s-1 is known in c-1 from a record, s-2 from its own token, s-3 not at all.
  await mark(server, teacher, record());
  await getJson(`${server.url}/api/students/notifications`, await server.student("s-2", "c-1"));

  assert.equal((await send(server, undefined, note({ classId: "c-1" }))).status, 401);
  assert.equal((await send(server, student, note({ classId: "c-1" }))).status, 403);
  assert.equal((await send(server, student, note({ studentId: "s-1" }))).status, 403);
  assert.equal((await send(server, other, note({ classId: "c-1" }))).status, 403);
  assert.equal((await send(server, other, note({ studentId: "s-1" }))).status, 403);
  assert.equal((await send(server, teacher, note({ studentId: "s-3" }))).status, 403);
  assert.equal((await send(server, teacher, note({ classId: "c-1" }))).status, 201);
  assert.equal((await send(server, teacher, note({ studentId: "s-1" }))).status, 201);
  assert.equal((await send(server, teacher, note({ studentId: "s-2" }))).status, 201);
  assert.equal((await send(server, admin, note({ studentId: "s-3" }))).status, 201);
  const sent = await send(
    server,
    admin,
    note({ classId: "c-9", actionUrl: "https://x.example/a" }),
  );
  assert.equal(sent.status, 201);
  assert.match(sent.body.id as string, /^[0-9a-f-]{36}$/);
  assert.deepEqual(Object.keys(sent.body.notification as object).sort(), [
    "actionUrl",
    "createdAt",
    "id",
    "message",
    "severity",
    "title",
  ]);
});

featureTest("POST /api/notifications: validation, unsafe actionUrl refused", async (server) => {
  const admin = await server.admin();
  for (const actionUrl of ["javascript:alert(1)", "data:text/html,<b>x</b>", "/relative"]) {
    const response = await send(server, admin, note({ classId: "c-1", actionUrl }));
    assert.equal(response.status, 400);
    assert.deepEqual(response.body.problems, [
      { field: "actionUrl", message: "must be an absolute http: or https: URL" },
    ]);
  }
  const bad = await send(server, admin, {
    studentId: "s-1",
    classId: "c-1",
    title: "",
    message: "x".repeat(2001),
    severity: "loud",
  });
  assert.equal(bad.status, 400);
  assert.deepEqual(
    (bad.body.problems as Array<{ field: string }>).map((p) => p.field),
    ["studentId", "title", "message", "severity"],
  );
  assert.equal((await send(server, admin, "[1, 2]")).status, 400);
});

featureTest("notifications reach a student who connects after they were sent", async (server) => {
  const teacher = await server.teacher("t-1", ["c-1"]);
  await mark(server, teacher, record());
  const toClass = await send(server, teacher, note({ classId: "c-1", title: "Class" }));
  const toMe = await send(server, teacher, note({ studentId: "s-1", title: "Personal" }));
  await send(server, teacher, note({ studentId: "s-2", title: "Not mine" }));

  // The student comes online afterwards: listed, in the snapshot, and replayed on the stream.
  const token = await server.student("s-1", "c-1");
  const listed = await getJson(`${server.url}/api/students/notifications?limit=20`, token);
  assert.equal(listed.status, 200);
  const list = listed.body.notifications as Array<Record<string, unknown>>;
  assert.deepEqual(list.map((n) => [n.title, n.read]), [["Personal", false], ["Class", false]]);
  assert.equal(typeof list[0].createdAt, "string");
  const summary = await getJson(`${server.url}/api/students/me/summary`, token);
  assert.deepEqual(
    (summary.body.notifications as Array<{ id: string }>).map((n) => n.id),
    [toMe.body.id, toClass.body.id],
  );
  const replay = await openStream(server.url, { token, lastEventId: "0" });
  await replay.waitFor((e) => e.envelope.data.id === toMe.body.id);
  assert.deepEqual(
    replay.events.filter((e) => e.event === "notification").map((e) => e.envelope.data.title),
    ["Class", "Personal"],
  );
  // A notification sent while connected arrives live.
  const live = await send(server, teacher, note({ studentId: "s-1", title: "Live" }));
  await replay.waitFor((e) => e.envelope.data.id === live.body.id);
  await replay.close();
});

featureTest(
  "POST /api/students/notifications/{id}/read marks one read for every device",
  async (server) => {
    const admin = await server.admin();
    const a = await send(server, admin, note({ classId: "c-1", title: "A" }));
    const b = await send(server, admin, note({ studentId: "s-1", title: "B" }));
    const phone = await server.student("s-1", "c-1");
    const laptop = await server.student("s-1", "c-1");
    const readUrl = (id: unknown) => `${server.url}/api/students/notifications/${id}/read`;

    const marked = await postJson(readUrl(a.body.id), phone, {});
    assert.equal(marked.status, 200);
    assert.equal((marked.body.notification as { read: boolean }).read, true);
    assert.equal((await postJson(readUrl(a.body.id), phone, {})).status, 200); // idempotent
    const seen = await getJson(`${server.url}/api/students/notifications`, laptop);
    assert.deepEqual(
      (seen.body.notifications as Array<Record<string, unknown>>).map((n) => [n.title, n.read]),
      [["B", false], ["A", true]],
    );
    // Class notifications are read per student.
    const classmate = await server.student("s-2", "c-1");
    const theirs = await getJson(`${server.url}/api/students/notifications`, classmate);
    assert.deepEqual(
      (theirs.body.notifications as Array<Record<string, unknown>>).map((n) => [n.title, n.read]),
      [["A", false]],
    );
    assert.equal((await postJson(readUrl(b.body.id), classmate, {})).status, 404);
    assert.equal((await postJson(readUrl("no-such-id"), phone, {})).status, 404);
    assert.equal((await postJson(readUrl(b.body.id), admin, {})).status, 403);
  },
);

featureTest(
  "GET /api/students/notifications: limit, order, retention and roles",
  async (server) => {
    const admin = await server.admin();
    for (let i = 0; i < 105; i++) {
      assert.equal(
        (await send(server, admin, note({ studentId: "s-1", title: `#${i}` }))).status,
        201,
      );
    }
    const token = await server.student("s-1", "c-1");
    const url = (q: string) => `${server.url}/api/students/notifications${q}`;
    const latest = await getJson(url(""), token);
    const titles = (latest.body.notifications as Array<{ title: string }>).map((n) => n.title);
    assert.equal(titles.length, 20);
    assert.deepEqual(titles.slice(0, 3), ["#104", "#103", "#102"]);
    const all = await getJson(url("?limit=100"), token);
    const kept = (all.body.notifications as Array<{ title: string }>).map((n) => n.title);
    assert.equal(kept.length, 100);
    assert.equal(kept.at(-1), "#5"); // bounded: the oldest five are gone
    assert.equal(
      ((await getJson(url("?limit=2"), token)).body.notifications as unknown[]).length,
      2,
    );
    for (const bad of ["0", "101", "abc", "-1"]) {
      assert.equal((await getJson(url(`?limit=${bad}`), token)).status, 400);
    }
    assert.equal((await getJson(url(""), admin)).status, 403);
    assert.equal((await getJson(url(""))).status, 401);
  },
);

featureTest(
  "notifications of the student and of its class are listed in event order",
  async (server) => {
    const admin = await server.admin();
    const sent = await Promise.all(
      Array.from(
        { length: 16 },
        (_, i) => send(server, admin, note(i % 2 ? { studentId: "s-1" } : { classId: "c-1" })),
      ),
    );
    assert.ok(sent.every((r) => r.status === 201));
    const byEvent = [...sent].sort((a, b) =>
      compareEventIds(b.body.eventId as string, a.body.eventId as string)
    )
      .map((r) => r.body.id);
    const token = await server.student("s-1", "c-1");
    const listed = await getJson(`${server.url}/api/students/notifications?limit=50`, token);
    assert.deepEqual(
      (listed.body.notifications as Array<{ id: string }>).map((n) => n.id),
      byEvent,
    );
  },
);
