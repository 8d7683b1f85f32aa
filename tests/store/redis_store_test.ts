/**
 * RedisStore beyond the shared HTTP tests: data outlives the service, and a write that cannot be
 * recorded is refused loudly instead of half-done.
 */
import assert from "node:assert/strict";
import {
  eventually,
  getJson,
  postJson,
  startTestServer,
  type TestServer,
} from "../support/test_server.ts";
import { closeRedisClient, createRedisClient } from "../../server/redis/client.ts";
import { RedisKeys } from "../../server/redis/keys.ts";
import {
  hasRedisServer,
  redisStoreOn,
  redisTest,
  startPrivateRedis,
  subscriptionsActive,
  until,
  watchCommands,
} from "../redis/support.ts";

async function startRedisServer(url: string, prefix: string) {
  const server = await startTestServer({ REDIS_URL: url, REDIS_PREFIX: prefix });
  await eventually(() => server.internals.bus.readiness().ready, 5000, "Redis ready");
  return server;
}

const markBody = {
  records: [
    {
      studentId: "s-1",
      classId: "c-1",
      date: "2026-11-27",
      period: 1,
      status: "PRESENT",
      subject: "Maths",
    },
    {
      studentId: "s-2",
      classId: "c-1",
      date: "2026-11-27",
      period: 1,
      status: "ABSENT",
      subject: "Maths",
    },
  ],
};

redisTest(
  "RedisStore: records, metrics, rosters and notifications survive a service restart",
  async ({ url, prefix }) => {
    let server: TestServer & AsyncDisposable = await startRedisServer(url, prefix);
    const teacher = await server.teacher("t-1", ["c-1"]);
    try {
      assert.equal((await postJson(`${server.url}/api/attendance`, teacher, markBody)).status, 200);
      const sent = await postJson(`${server.url}/api/notifications`, teacher, {
        studentId: "s-1",
        title: "Kept",
        message: "m",
        severity: "success",
      });
      assert.equal(sent.status, 201);
      const before = await getJson(
        `${server.url}/api/students/me/summary?date=2026-11-27`,
        await server.student("s-1", "c-1"),
      );
      await server.shutdown();

      server = await startRedisServer(url, prefix);
      const token = await server.student("s-1", "c-1");
      const after = await getJson(`${server.url}/api/students/me/summary?date=2026-11-27`, token);
      assert.deepEqual(after.body, before.body);
      assert.equal((after.body.metrics as { ranking: number }).ranking, 1);
      assert.deepEqual(
        (after.body.notifications as Array<{ title: string }>).map((n) => n.title),
        ["Kept"],
      );
      // A retry after the restart is still recognized as a no-op.
      assert.deepEqual((await postJson(`${server.url}/api/attendance`, teacher, markBody)).body, {
        stored: 0,
        corrections: 0,
        unchanged: 2,
      });
      const roster = await getJson(`${server.url}/api/classes/c-1/roster`, teacher);
      assert.deepEqual(roster.body.studentIds, ["s-1", "s-2"]);
    } finally {
      await server.shutdown();
    }
  },
);

if (!hasRedisServer()) console.log("skipping the Redis-down test: no redis-server on PATH");
Deno.test({
  name: "RedisStore: with Redis down, marks, notifications and snapshots answer 503",
  ignore: !hasRedisServer() && Deno.env.get("CI") !== "true",
  async fn() {
    const redis = await startPrivateRedis();
    const server = await startRedisServer(redis.url, "fault:");
    try {
      const teacher = await server.teacher("t-1", ["c-1"]);
      assert.equal((await postJson(`${server.url}/api/attendance`, teacher, markBody)).status, 200);
      await redis.stop();
      await eventually(() => !server.internals.bus.readiness().ready, 5000, "Redis lost");
      const refused = await postJson(`${server.url}/api/attendance`, teacher, {
        ...markBody.records[0],
        status: "SICK",
      });
      assert.equal(refused.status, 503);
      assert.ok(refused.headers.get("retry-after"));
      const note = await postJson(`${server.url}/api/notifications`, teacher, {
        classId: "c-1",
        title: "t",
        message: "m",
        severity: "info",
      });
      assert.equal(note.status, 503);
      const summary = await getJson(
        `${server.url}/api/students/me/summary`,
        await server.student("s-1", "c-1"),
      );
      assert.equal(summary.status, 503);
    } finally {
      await server.shutdown();
      await redis.stop();
    }
  },
});

redisTest(
  "RedisStore: concurrent marks through two instances keep metrics equal to the records",
  async ({ url, prefix }) => {
    const a = await startRedisServer(url, prefix);
    const b = await startRedisServer(url, prefix);
    try {
      const teacher = await a.teacher("t-1", ["c-1"]);
      const statuses = ["PRESENT", "ABSENT", "SICK", "LEAVE"];
      const students = Array.from({ length: 8 }, (_, i) => `s-${i}`);
      const responses = await Promise.all(
        Array.from(
          { length: 24 },
          (_, i) =>
            postJson(`${(i % 2 ? a : b).url}/api/attendance`, teacher, {
              records: students.map((studentId, s) => ({
                studentId,
                classId: "c-1",
                date: `2026-11-${String(10 + (i % 3)).padStart(2, "0")}`,
                period: 1 + (s % 2),
                status: statuses[(i + s) % 4],
                subject: "Maths",
              })),
            }),
        ),
      );
      assert.ok(responses.every((r) => r.status === 200));
      // Every mark released its class lock (in its transaction, or on its own when it changed
      // nothing and so ran none): none is left behind to hold up the next mark.
      const extra = {
        records: [{
          studentId: "s-0",
          classId: "c-1",
          date: "2026-11-20",
          period: 1,
          status: "PRESENT",
          subject: "Maths",
        }],
      };
      assert.equal((await postJson(`${a.url}/api/attendance`, teacher, extra)).body.stored, 1);
      assert.equal((await postJson(`${a.url}/api/attendance`, teacher, extra)).body.unchanged, 1);
      const redis = createRedisClient(url, { name: "test:locks", log: false });
      try {
        await until(() => redis.status === "ready", 5000, "client ready");
        assert.equal(await redis.exists(new RedisKeys(prefix).attendanceLock("c-1")), 0);
      } finally {
        await closeRedisClient(redis);
      }
      const records = (await getJson(`${a.url}/api/attendance?classId=c-1`, teacher)).body
        .records as Array<{ studentId: string; status: string }>;
      for (const studentId of students) {
        const mine = records.filter((r) => r.studentId === studentId);
        const present = mine.filter((r) => r.status === "PRESENT").length;
        const summary = await getJson(
          `${b.url}/api/students/me/summary`,
          await b.student(studentId, "c-1"),
        );
        const metrics = summary.body.metrics as { totalClasses: number; attendanceRate: number };
        assert.equal(metrics.totalClasses, mine.length, studentId);
        assert.equal(
          metrics.attendanceRate,
          Math.floor((2000 * present + mine.length) / (2 * mine.length)) / 10,
        );
      }
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  },
);

// Random marks (statuses, corrections, moves between classes, a few at a time) through two
// instances: the first half through one (whose marks then mostly commit optimistically), the rest
// through both (refused when the other wrote first); then counts must equal a recount of records.
redisTest(
  "RedisStore: random concurrent marks through two instances keep counts equal to the records",
  async ({ url, prefix }) => {
    const a = await startRedisServer(url, prefix);
    const b = await startRedisServer(url, prefix);
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    try {
      const classes = ["c-1", "c-2", "c-3"];
      const teacher = await a.teacher("t-1", classes);
      const statuses = ["PRESENT", "ABSENT", "SICK", "LEAVE"];
      const students = Array.from({ length: 5 }, (_, i) => `s-${i}`);
      for (let round = 0; round < 300; round++) {
        const batch = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
          const seen = new Set<string>();
          const records = [];
          for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) {
            const studentId = pick(students);
            const date = `2026-11-${String(10 + Math.floor(rand() * 2)).padStart(2, "0")}`;
            const period = 1 + Math.floor(rand() * 2);
            const key = `${studentId}|${date}|${period}`;
            if (seen.has(key)) continue;
            seen.add(key);
            records.push({
              studentId,
              classId: rand() < 0.85 ? "c-1" : pick(classes),
              date,
              period,
              status: pick(statuses),
              subject: rand() < 0.5 ? "Maths" : "Art",
            });
          }
          return postJson(`${(round < 150 || rand() < 0.7 ? a : b).url}/api/attendance`, teacher, {
            records,
          });
        });
        const responses = await Promise.all(batch);
        for (const r of responses) assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      const { deps, store: reader } = redisStoreOn(url, prefix, "reader");
      await until(() => deps.bus.readiness().ready, 5000, "reader ready");
      for (const classId of classes) {
        const records = (await getJson(`${a.url}/api/attendance?classId=${classId}`, teacher)).body
          .records as Array<{ studentId: string; status: string; date: string }>;
        const byStudent = new Map<string, typeof records>();
        for (const r of records) {
          byStudent.set(r.studentId, [...(byStudent.get(r.studentId) ?? []), r]);
        }
        const counts = await reader.classCounts(classId);
        for (const [studentId, mine] of byStudent) {
          const c = counts.get(studentId);
          assert.ok(c, `${classId} ${studentId} counts missing`);
          const want = { present: 0, absent: 0, sick: 0, leave: 0 } as Record<string, number>;
          for (const r of mine) want[r.status.toLowerCase()]++;
          assert.deepEqual(c.all, want, `${classId} ${studentId}`);
          assert.equal(
            c.dates,
            new Set(mine.map((r) => r.date)).size,
            `${classId} ${studentId} dates`,
          );
        }
        for (const studentId of counts.keys()) {
          assert.ok(byStudent.has(studentId), `${classId} ${studentId} has counts but no records`);
        }
      }
      await deps.close();
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  },
);

redisTest(
  "RedisStore.learnMember(): memberships learned together take one script call, in order",
  async ({ url, prefix }) => {
    const { deps, store } = redisStoreOn(url, prefix, "learn-test");
    const monitor = await watchCommands(url, prefix);
    try {
      await subscriptionsActive(deps);
      // s-0 starts in c-old; the batch moves it, and moves s-1 twice (the later move wins).
      await store.learnMember("c-old", "s-0");
      await monitor.clearAfterScript();
      const students = Array.from({ length: 30 }, (_, i) => `s-${i}`);
      // As after one socket read: every request continues from the same resolution.
      const woken = Promise.resolve();
      await Promise.all([
        ...students.map((s) => woken.then(() => store.learnMember("c-a", s))),
        woken.then(() => store.learnMember("c-b", "s-1")),
      ]);
      assert.deepEqual(await monitor.settled(), ["evalsha"]);
      assert.deepEqual(await store.roster("c-a"), students.filter((s) => s !== "s-1").sort());
      assert.deepEqual(await store.roster("c-b"), ["s-1"]);
      assert.deepEqual(await store.roster("c-old"), []);
      assert.equal(await store.classOf("s-1"), "c-b");
      assert.equal(await store.classOf("s-0"), "c-a");
    } finally {
      await monitor.close();
      await deps.close();
    }
  },
);
