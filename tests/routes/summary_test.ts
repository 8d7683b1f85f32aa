/**
 * The snapshot-then-stream contract: a widget that loads `GET /api/students/me/summary` and opens
 * the stream with its `lastEventId` sees every change exactly once, even while writes race it.
 */
import assert from "node:assert/strict";
import type { Delivery } from "../../server/bus/bus.ts";
import { openStream, type TestStream } from "../support/sse_client.ts";
import type { TestServer } from "../support/test_server.ts";
import {
  envelope,
  eventsOf,
  featureTest,
  getJson,
  mark,
  postJson,
  record,
} from "../support/feature_modes.ts";

const DAY = "2026-11-27";
const STATUSES = ["PRESENT", "ABSENT", "SICK", "LEAVE"];

interface View {
  records: Map<string, string>;
  metrics: unknown;
  notifications: Set<string>;
}

/** Applies events to a view the way a widget does. */
function apply(view: View, events: Array<{ type: string; data: Record<string, unknown> }>): View {
  for (const e of events) {
    if (e.type === "attendance_update" && e.data.date === DAY) {
      view.records.set(`${e.data.period}`, `${e.data.status}/${e.data.subject}`);
    } else if (e.type === "metrics_update") {
      view.metrics = e.data;
    } else if (e.type === "notification") {
      view.notifications.add(e.data.id as string);
    }
  }
  return view;
}

function viewOf(summary: Record<string, unknown>): View {
  return {
    records: new Map(
      (summary.records as Array<Record<string, unknown>>).map((r) => [
        `${r.period}`,
        `${r.status}/${r.subject}`,
      ]),
    ),
    metrics: summary.metrics,
    notifications: new Set(
      (summary.notifications as Array<{ id: string }>).map((n) => n.id),
    ),
  };
}

const emptyView = (): View => ({ records: new Map(), metrics: null, notifications: new Set() });

async function summaryOf(server: TestServer, token: string) {
  const response = await getJson(`${server.url}/api/students/me/summary?date=${DAY}`, token);
  assert.equal(response.status, 200);
  return response.body;
}

featureTest("summary: before any record, metrics are null and lastEventId is 0", async (server) => {
  const token = await server.student("s-1", "c-1");
  assert.deepEqual(await summaryOf(server, token), {
    records: [],
    metrics: null,
    notifications: [],
    lastEventId: "0",
  });
  const teacher = await server.teacher("t-1", ["c-1"]);
  assert.equal((await getJson(`${server.url}/api/students/me/summary`, teacher)).status, 403);
  assert.equal((await getJson(`${server.url}/api/students/me/summary`)).status, 401);
  assert.equal(
    (await getJson(`${server.url}/api/students/me/summary?date=2026-02-30`, token)).status,
    400,
  );
});

featureTest(
  "summary: snapshot then stream gives every change exactly once while writes race",
  async (server) => {
    const teacher = await server.teacher("t-1", ["c-1"]);
    const token = await server.student("s-1", "c-1");
    await mark(server, teacher, {
      records: [record({ date: DAY }), record({ date: DAY, studentId: "s-2", status: "ABSENT" })],
    });

    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 60; i++) {
        if (i % 3 === 2) {
          const target = i % 2 === 0 ? { classId: "c-1" } : { studentId: "s-1" };
          const sent = await postJson(`${server.url}/api/notifications`, teacher, {
            ...target,
            title: `Note ${i}`,
            message: "m",
            severity: "info",
          });
          assert.equal(sent.status, 201);
        } else {
          // s-1's own records (corrections included) and a classmate's, which move s-1's ranking.
          const response = await mark(server, teacher, {
            records: [
              record({
                date: DAY,
                period: 1 + (i % 6),
                status: STATUSES[i % 4],
                subject: `S${i % 5}`,
              }),
              record({
                date: DAY,
                studentId: "s-2",
                period: 1 + (i % 4),
                status: STATUSES[(i + 1) % 4],
              }),
            ],
          });
          assert.equal(response.status, 200);
        }
      }
      writing = false;
    })();

    const sessions: Array<{ snapshot: Record<string, unknown>; stream: TestStream }> = [];
    while (writing && sessions.length < 4) {
      const snapshot = await summaryOf(server, token);
      const stream = await openStream(server.url, {
        token,
        lastEventId: snapshot.lastEventId as string,
      });
      assert.equal(stream.status, 200);
      sessions.push({ snapshot, stream });
      await new Promise((r) => setTimeout(r, 15));
    }
    await writer;
    assert.ok(sessions.length >= 2, "snapshots were taken while writes were in flight");

    const history = await eventsOf(server, ["s-1"], ["c-1"]);
    const final = viewOf(await summaryOf(server, token));
    const ids = history.map((d) => d.id);
    for (const { snapshot, stream } of sessions) {
      const cut = snapshot.lastEventId as string;
      const before = cut === "0" ? [] : history.slice(0, ids.indexOf(cut) + 1);
      assert.ok(cut === "0" || ids.includes(cut), "lastEventId is an event of the student");
      const after: Delivery[] = history.slice(before.length);
      // What the snapshot shows is exactly the events up to its id…
      assert.deepEqual(viewOf(snapshot), apply(emptyView(), before.map(envelope)));
      // …and the stream carries exactly the ones after it, in order.
      if (after.length > 0) await stream.waitFor((e) => e.id === after.at(-1)!.id, 5000);
      const received = stream.events.filter((e) => e.id !== undefined);
      assert.deepEqual(received.map((e) => e.id), after.map((d) => d.id));
      // Snapshot + stream = the state at the end, with no notification counted twice.
      const folded = apply(viewOf(snapshot), received.map((e) => e.envelope));
      assert.deepEqual(folded, final);
      const streamed = received.filter((e) => e.event === "notification").map((e) =>
        e.envelope.data.id
      );
      assert.ok(streamed.every((id) => !viewOf(snapshot).notifications.has(id as string)));
      await stream.close();
    }
  },
);
