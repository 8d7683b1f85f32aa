import assert from "node:assert/strict";
import { markAttendance } from "../../server/attendance/marking.ts";
import type { AttendanceStatus } from "../../server/events.ts";
import type { Principal } from "../../server/auth/claims.ts";
import { createRedisDeps } from "../../server/redis/redis_deps.ts";
import { RedisStore } from "../../server/store/redis_store.ts";
import { redisTest, until } from "../redis/support.ts";

const admin: Principal = { sub: "admin-1", role: "admin", classIds: [], expiresAt: Infinity };

const record = (studentId: string, classId: string, status: AttendanceStatus) => ({
  studentId,
  classId,
  date: "2026-11-02",
  period: 1,
  status,
  subject: "Maths",
});

/**
 * Commands sent to Redis by the clients that use keys under `prefix` (not by scripts), read from MONITOR
 * over a plain socket: each line reads `+<time> [<db> <source>] "<command>" "<arg>" ...`.
 */
async function watchCommands(url: string, prefix: string) {
  const { hostname, port, password } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port || 6379) });
  const encoder = new TextEncoder();
  if (password) await conn.write(encoder.encode(`AUTH ${decodeURIComponent(password)}\r\n`));
  await conn.write(encoder.encode("MONITOR\r\n"));
  const sent: string[] = [];
  const ours = new Set<string>();
  const reading = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of conn.readable) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\r\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const match = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"(.*)$/.exec(line);
        if (!match || match[1] === "lua") continue;
        // A connection is ours once it names a key of ours (MULTI and EXEC name none).
        if (match[3].includes(prefix)) ours.add(match[1]);
        if (ours.has(match[1])) sent.push(match[2].toLowerCase());
      }
    }
  })().catch(() => {});
  return {
    sent,
    close: () => {
      conn.close();
      return reading;
    },
  };
}

redisTest(
  "RedisStore marks: the lock script reads the tallies and counts a mark needs (no read after it)",
  async ({ url, prefix }) => {
    const deps = createRedisDeps({ url, prefix, instanceId: "reads-test", log: false });
    const store = new RedisStore({ redis: deps.redis, bus: deps.bus, keys: deps.keys });
    const monitor = await watchCommands(url, prefix);
    const sent = monitor.sent;
    const marking = { store, excusedAbsences: "absent" as const };
    const sentDuring = async (fn: () => Promise<unknown>) => {
      sent.splice(0);
      await fn();
      // MONITOR lines trail the replies a little: wait for the commit's EXEC to show up.
      await until(() => sent.includes("exec"), 2000, "the commit in MONITOR");
      return sent.splice(0);
    };
    try {
      await until(() => deps.bus.readiness().ready, 5000, "RedisBus ready");
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

      // A re-mark that changes only the subject reads no tallies at all.
      const subjectOnly = await sentDuring(() =>
        markAttendance(marking, admin, [{ ...record("s-3", "c-1", "PRESENT"), subject: "Art" }])
      );
      assert.deepEqual(beforeCommit(subjectOnly), ["evalsha"]);
    } finally {
      await monitor.close();
      await deps.close();
    }
  },
);
