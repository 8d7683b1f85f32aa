import assert from "node:assert/strict";
import { nextPingTime, PingSchedule } from "../../server/streams/ping_schedule.ts";

const at = (nextPingAt: number) => ({ nextPingAt });

Deno.test("PingSchedule.takeDue() returns the entries of every slot begun by now, once", () => {
  const schedule = new PingSchedule<{ nextPingAt: number }>(25);
  const a = at(1_000), b = at(1_024), c = at(1_025), d = at(1_100);
  for (const item of [d, c, b, a]) schedule.add(item);
  assert.deepEqual(schedule.takeDue(999), [], "nothing due before its slot");
  assert.deepEqual(new Set(schedule.takeDue(1_010)), new Set([a, b]), "same 25 ms slot as 1000");
  assert.deepEqual(schedule.takeDue(1_010), [], "taken once");
  assert.deepEqual(schedule.takeDue(1_099), [c]);
  assert.deepEqual(schedule.takeDue(1_100), [d]);
  assert.equal(schedule.size, 0);
});

Deno.test("PingSchedule: an entry already past due comes out at the next take", () => {
  const schedule = new PingSchedule<{ nextPingAt: number }>(25);
  schedule.takeDue(5_000);
  const late = at(4_000);
  schedule.add(late);
  assert.deepEqual(schedule.takeDue(5_001), [late]);
});

Deno.test("PingSchedule: after a long pause every due slot is taken, later ones stay", () => {
  const schedule = new PingSchedule<{ nextPingAt: number }>(25);
  schedule.takeDue(0);
  const early = at(100), later = at(10_000_000);
  schedule.add(early);
  schedule.add(later);
  assert.deepEqual(schedule.takeDue(9_000_000), [early]);
  assert.equal(schedule.size, 1);
  assert.deepEqual(schedule.takeDue(10_000_000), [later]);
});

Deno.test("PingSchedule.takeDue(now, limit): the earliest first, the rest at the next takes", () => {
  const schedule = new PingSchedule<{ nextPingAt: number }>(25);
  const items = Array.from({ length: 10 }, (_, i) => at(1_000 + i * 25));
  for (const item of [...items].reverse()) schedule.add(item);
  assert.deepEqual(schedule.takeDue(2_000, 4), items.slice(0, 4));
  const later = at(2_010); // due in the slot already taken: behind the backlog
  schedule.add(later);
  assert.deepEqual(schedule.takeDue(2_001, 4), items.slice(4, 8));
  assert.deepEqual(schedule.takeDue(2_002, 4), [...items.slice(8), later]);
  assert.deepEqual(schedule.takeDue(2_003, 4), []);
  assert.equal(schedule.size, 0);
});

Deno.test("nextPingTime() keeps a late ping's phase, and starts a new one past half a period", () => {
  assert.equal(nextPingTime(15_000, 15_000, 15_000), 30_000);
  assert.equal(nextPingTime(15_000, 15_250, 15_000), 30_000, "250 ms late: same phase");
  assert.equal(nextPingTime(15_000, 22_500, 15_000), 30_000, "half a period late: same phase");
  assert.equal(nextPingTime(15_000, 40_000, 15_000, () => 0), 47_500, "a new phase: 50 % ...");
  assert.equal(nextPingTime(15_000, 40_000, 15_000, () => 1), 55_000, "... to 100 % from now");
});
