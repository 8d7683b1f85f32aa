// Random marks (statuses, corrections, moves between classes, a few at a time) through two
// instances: the first half through one (whose marks then mostly commit optimistically), the rest
// through both (refused when the other wrote first); then counts must equal a recount of the records.
import assert from "node:assert/strict";
import { eventually, getJson, postJson, startTestServer } from "../support/test_server.ts";
import { redisTest, until } from "../redis/support.ts";
import { createRedisDeps } from "../../server/redis/redis_deps.ts";
import { RedisStore } from "../../server/store/redis_store.ts";

async function startRedisServer(url: string, prefix: string) {
  const server = await startTestServer({ REDIS_URL: url, REDIS_PREFIX: prefix });
  await eventually(() => server.internals.bus.readiness().ready, 5000, "Redis ready");
  return server;
}

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
      const deps = createRedisDeps({ url, prefix, instanceId: "reader", log: false });
      await until(() => deps.bus.readiness().ready, 5000, "reader ready");
      const reader = new RedisStore({ redis: deps.redis, bus: deps.bus, keys: deps.keys });
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
