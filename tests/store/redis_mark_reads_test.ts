import assert from "node:assert/strict";
import { markAttendance } from "../../server/attendance/marking.ts";
import type { AttendanceStatus } from "../../server/events.ts";
import type { Principal } from "../../server/auth/claims.ts";
import {
  redisStoreOn,
  redisTest,
  subscriptionsActive,
  until,
  watchCommands,
} from "../redis/support.ts";

const admin: Principal = { sub: "admin-1", role: "admin", classIds: [], expiresAt: Infinity };

const record = (studentId: string, classId: string, status: AttendanceStatus) => ({
  studentId,
  classId,
  date: "2026-11-02",
  period: 1,
  status,
  subject: "Maths",
});

/** Runs `fn`, then returns the commands sent meanwhile, once `execs` EXECs showed in MONITOR. */
async function commandsDuring(
  monitor: Awaited<ReturnType<typeof watchCommands>>,
  fn: () => Promise<unknown>,
  execs = 1,
) {
  // Lines of earlier commands (another instance's commit) may still be on their way.
  await monitor.caughtUp();
  const sent = monitor.sent;
  sent.splice(0);
  await fn();
  // MONITOR lines trail the replies a little.
  await until(() => sent.filter((c) => c === "exec").length >= execs, 2000, "commits in MONITOR");
  return sent.splice(0);
}

redisTest(
  "RedisStore marks: the lock script reads the tallies and counts a mark needs (no read after it)",
  async ({ url, prefix }) => {
    const { deps, store } = redisStoreOn(url, prefix, "reads-test");
    const monitor = await watchCommands(url, prefix);
    const marking = { store, excusedAbsences: "absent" as const };
    const sentDuring = (fn: () => Promise<unknown>) => commandsDuring(monitor, fn);
    try {
      await subscriptionsActive(deps);
      const students = ["s-1", "s-2", "s-3", "s-4"];
      // Warm-up (the first calls load the scripts), then only the marks' own commands count.
      await sentDuring(() => markAttendance(marking, admin, [record("s-9", "c-9", "SICK")]));
      // Before the commit's MULTI: the lock script only, no read of tallies or counts.
      const beforeCommit = (sent: string[]) => sent.slice(0, sent.indexOf("multi"));

      // First marks of the day move every tally: one script call, then the commit.
      const first = await sentDuring(() =>
        markAttendance(marking, admin, students.map((s) => record(s, "c-1", "PRESENT")))
      );
      assert.deepEqual(beforeCommit(first), ["evalsha"]);
      assert.ok(first.includes("exec"));

      // Corrections, and a stored record moved to another class (both classes' counts change).
      const corrected = await sentDuring(async () => {
        const result = await markAttendance(marking, admin, [
          record("s-1", "c-1", "ABSENT"),
          record("s-2", "c-2", "PRESENT"),
        ]);
        assert.equal(result.stored, 2);
        assert.equal(result.corrections, 1);
      });
      // Two classes: the first one's lock is a plain SET NX, the script takes the last one's.
      assert.deepEqual(beforeCommit(corrected), ["set", "evalsha"]);

      // What was computed from the script's reads is what a plain read finds afterwards.
      const c1 = await store.classCounts("c-1");
      assert.deepEqual([...c1.keys()].sort(), ["s-1", "s-3", "s-4"]);
      assert.equal(c1.get("s-1")!.all.absent, 1);
      assert.deepEqual([...(await store.classCounts("c-2")).keys()], ["s-2"]);
      assert.equal((await store.dayTallies("c-1", "s-2")).size, 0);
      assert.deepEqual((await store.dayTallies("c-2", "s-2")).get("2026-11-02"), {
        present: 1,
        absent: 0,
        sick: 0,
        leave: 0,
      });

      // A re-mark of slots this instance has seen is planned from what it saw: one round trip,
      // nothing before the commit's MULTI (whose guard checks it all still holds).
      const subjectOnly = await sentDuring(() =>
        markAttendance(marking, admin, [{ ...record("s-3", "c-1", "PRESENT"), subject: "Art" }])
      );
      assert.deepEqual(beforeCommit(subjectOnly), []);
    } finally {
      await monitor.close();
      await deps.close();
    }
  },
);

redisTest(
  "RedisStore marks: planned from what the instance saw, one round trip; when that is stale, the lock",
  async ({ url, prefix }) => {
    const { deps: a, store: storeA } = redisStoreOn(url, prefix, "optimistic-a");
    const { deps: b, store: storeB } = redisStoreOn(url, prefix, "optimistic-b");
    const monitor = await watchCommands(url, prefix);
    const markA = (records: ReturnType<typeof record>[]) =>
      markAttendance({ store: storeA, excusedAbsences: "absent" }, admin, records);
    const markB = (records: ReturnType<typeof record>[]) =>
      markAttendance({ store: storeB, excusedAbsences: "absent" }, admin, records);
    const counts = async (classId: string, studentId: string) =>
      (await storeB.classCounts(classId)).get(studentId)?.all;
    try {
      await Promise.all([subscriptionsActive(a), subscriptionsActive(b)]);

      // A's first mark of c-1 takes the lock (nothing seen yet); its correction then does not.
      await markA([record("s-1", "c-1", "PRESENT"), record("s-2", "c-1", "PRESENT")]);
      const corrected = await commandsDuring(
        monitor,
        () => markA([record("s-1", "c-1", "ABSENT")]),
      );
      assert.equal(corrected[0], "multi", corrected.join(" "));
      assert.deepEqual(await counts("c-1", "s-1"), { present: 0, absent: 1, sick: 0, leave: 0 });

      // B corrects s-2; A, still seeing s-2 PRESENT, corrects s-1 again: its guard refuses the
      // stale plan (nothing written), and the mark goes the locked path on fresh data.
      await markB([record("s-2", "c-1", "SICK")]);
      const refused = await commandsDuring(
        monitor,
        () => markA([record("s-1", "c-1", "LEAVE")]),
        2,
      );
      const afterRefusal = refused.slice(refused.indexOf("exec") + 1);
      assert.equal(afterRefusal[0], "evalsha", refused.join(" ")); // the lock script
      assert.deepEqual(await counts("c-1", "s-1"), { present: 0, absent: 0, sick: 0, leave: 1 });
      assert.deepEqual(await counts("c-1", "s-2"), { present: 0, absent: 0, sick: 1, leave: 0 });
      const c1 = await storeB.classCounts("c-1");
      assert.deepEqual([...c1.keys()].sort(), ["s-1", "s-2"]);

      // An identical re-post of a slot another instance changed is a change, not a no-op.
      await markA([record("s-7", "c-4", "PRESENT")]);
      await markB([record("s-7", "c-4", "ABSENT")]);
      const again = await markA([record("s-7", "c-4", "PRESENT")]);
      assert.equal(again.stored, 1);
      assert.equal(again.corrections, 1);

      // A class locked by a mark in progress elsewhere: the guard refuses, the mark waits.
      await markA([record("s-5", "c-5", "PRESENT")]);
      await markA([record("s-5", "c-5", "ABSENT")]); // optimistic from here on
      await a.redis.set(a.keys.attendanceLock("c-5"), "elsewhere", "PX", 300);
      const started = Date.now();
      await markA([record("s-5", "c-5", "SICK")]);
      assert.ok(Date.now() - started >= 250, "waited for the other mark's lock");
      assert.deepEqual(await counts("c-5", "s-5"), { present: 0, absent: 0, sick: 1, leave: 0 });

      // A slot this instance never saw is planned as empty; the guard checks that too. B records
      // s-9 for another date in c-8 (which moves s-9 there); A, whose c-7 is cached, then marks
      // that date in c-7: refused, and the locked path moves the record out of c-8's tallies.
      await markA([record("s-9", "c-7", "PRESENT")]);
      await markA([record("s-9", "c-7", "ABSENT")]);
      await markB([{ ...record("s-9", "c-8", "PRESENT"), date: "2026-11-03" }]);
      assert.deepEqual(await counts("c-8", "s-9"), { present: 1, absent: 0, sick: 0, leave: 0 });
      const moved = await commandsDuring(
        monitor,
        () => markA([{ ...record("s-9", "c-7", "SICK"), date: "2026-11-03" }]),
        2,
      );
      assert.equal(moved[0], "multi", moved.join(" "));
      assert.equal(await counts("c-8", "s-9"), undefined);
      assert.deepEqual(await counts("c-7", "s-9"), { present: 0, absent: 1, sick: 1, leave: 0 });

      // Nothing the guards refused was left behind.
      assert.deepEqual(await a.redis.keys(`${prefix}att:guard:*`), []);
    } finally {
      await monitor.close();
      await a.close();
      await b.close();
    }
  },
);
