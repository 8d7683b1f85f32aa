import assert from "node:assert/strict";
import {
  applyEvent,
  applySnapshot,
  emptyView,
  localDay,
  markViewRead,
  MAX_NOTIFICATIONS,
  safeLink,
  unreadCount,
} from "../../widget/feed_view.ts";
import type { FeedMessage } from "../../widget/feed_stream.ts";
import type { AttendancePayload } from "../../widget/snapshot.ts";

const record = (period: number, status: AttendancePayload["status"], date = "2026-11-27") => ({
  studentId: "s-1",
  date,
  period,
  status,
  subject: `Subject ${period}`,
  markedBy: "t-1",
  classId: "c-1",
});
const message = (type: string, data: unknown): FeedMessage => ({
  type,
  data,
  timestamp: "2026-11-27T08:00:00.000Z",
});
const note = (id: string, createdAt: string, read = false) => ({
  id,
  title: `Title ${id}`,
  message: "m",
  severity: "info" as const,
  createdAt,
  read,
});

Deno.test("localDay() formats the local calendar day", () => {
  assert.equal(localDay(new Date(2026, 0, 5, 23, 59)), "2026-01-05");
});

Deno.test("applySnapshot() keeps the snapshot's day, records by period, notifications newest first", () => {
  const view = applySnapshot(
    {
      records: [record(3, "ABSENT"), record(1, "PRESENT")],
      metrics: null,
      notifications: [note("a", "2026-11-27T07:00:00Z"), note("b", "2026-11-27T09:00:00Z", true)],
      lastEventId: "5-0",
    },
    "2026-11-28",
    42,
  );
  assert.equal(view.day, "2026-11-27");
  assert.deepEqual(view.records.map((r) => r.period), [1, 3]);
  assert.deepEqual(view.notifications.map((n) => n.id), ["b", "a"]);
  assert.equal(unreadCount(view), 1);
  assert.equal(view.updatedAt, 42);
});

Deno.test("applyEvent() upserts a record by period and marks corrections", () => {
  let view = emptyView("2026-11-27");
  view = applyEvent(view, message("attendance_update", record(2, "PRESENT")), 1);
  view = applyEvent(view, message("attendance_update", record(1, "PRESENT")), 2);
  view = applyEvent(
    view,
    message("attendance_update", {
      ...record(2, "SICK"),
      correction: true,
      previousStatus: "PRESENT",
    }),
    3,
  );
  assert.deepEqual(view.records.map((r) => [r.period, r.status, r.correction ?? false]), [
    [1, "PRESENT", false],
    [2, "SICK", true],
  ]);
});

Deno.test("applyEvent() moves to a later day and ignores earlier days", () => {
  let view = applyEvent(
    emptyView("2026-11-27"),
    message("attendance_update", record(1, "PRESENT")),
    1,
  );
  view = applyEvent(view, message("attendance_update", record(1, "ABSENT", "2026-11-26")), 2);
  assert.equal(view.records[0].status, "PRESENT");
  view = applyEvent(view, message("attendance_update", record(4, "LEAVE", "2026-11-30")), 3);
  assert.equal(view.day, "2026-11-30");
  assert.deepEqual(view.records.map((r) => r.period), [4]);
});

Deno.test("applyEvent() replaces a known notification, keeps its read flag, and bounds the list", () => {
  let view = emptyView("2026-11-27");
  view = applyEvent(view, message("notification", note("n1", "2026-11-27T08:00:00Z")), 1);
  view = markViewRead(view, "n1");
  view = applyEvent(view, message("notification", note("n1", "2026-11-27T08:00:00Z")), 2);
  assert.equal(view.notifications.length, 1);
  assert.equal(view.notifications[0].read, true);
  for (let i = 0; i < MAX_NOTIFICATIONS + 10; i++) {
    const at = new Date(Date.UTC(2026, 10, 27, 9, i)).toISOString();
    view = applyEvent(view, message("notification", note(`x${i}`, at)), 3);
  }
  assert.equal(view.notifications.length, MAX_NOTIFICATIONS);
  assert.equal(view.notifications[0].id, `x${MAX_NOTIFICATIONS + 9}`);
});

Deno.test("applyEvent() takes the latest metrics and ignores control events", () => {
  const metrics = {
    studentId: "s-1",
    attendanceRate: 92.5,
    totalClasses: 40,
    presentDays: 18,
    ranking: 3,
    classSize: 30,
    classAverage: 88.1,
    trend: "improving" as const,
  };
  const view = applyEvent(emptyView("2026-11-27"), message("metrics_update", metrics), 1);
  assert.deepEqual(view.metrics, metrics);
  assert.equal(applyEvent(view, message("resync", {}), 2), view);
});

Deno.test("safeLink() allows only absolute http(s) URLs", () => {
  assert.equal(safeLink("https://school.example/a?b=1"), "https://school.example/a?b=1");
  assert.equal(safeLink("http://school.example"), "http://school.example/");
  for (const bad of ["javascript:alert(1)", "data:text/html,x", "/relative", "  ", 42, undefined]) {
    assert.equal(safeLink(bad), undefined, String(bad));
  }
});
