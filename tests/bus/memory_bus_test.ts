/**
 * MemoryBus retention beyond the shared contract: exact counts and ages, also after many drops
 * (the dropped slots are cut off in bulk, see server/bus/memory_bus.ts).
 */

import assert from "node:assert/strict";
import { studentChannel } from "../../server/bus/bus.ts";
import { MemoryBus } from "../../server/bus/memory_bus.ts";
import { feedEvent } from "../../server/events.ts";

const note = (n: number) => ({
  channel: studentChannel("s-1"),
  event: feedEvent("notification", { id: `n${n}`, title: `T${n}`, message: "m", severity: "info" }),
});

const titles = (json: string[]) => json.map((j) => JSON.parse(j).data.title);

Deno.test("MemoryBus keeps exactly the newest maxEvents of a channel, publish after publish", async () => {
  const bus = new MemoryBus({ maxEvents: 5 });
  const ids: string[] = [];
  for (let n = 0; n < 2000; n++) ids.push(...await bus.publish([note(n)]));
  const all = await bus.history([studentChannel("s-1")], "0");
  assert.deepEqual(all.events.map((d) => d.id), ids.slice(-5));
  assert.deepEqual(titles(all.events.map((d) => d.json)), [
    "T1995",
    "T1996",
    "T1997",
    "T1998",
    "T1999",
  ]);
  // The newest dropped event is the last cursor that still has no gap after it.
  assert.equal((await bus.history([studentChannel("s-1")], ids[1994])).complete, true);
  assert.equal((await bus.history([studentChannel("s-1")], ids[1993])).complete, false);
  const recent = await bus.history([studentChannel("s-1")], ids[1997]);
  assert.deepEqual(recent.events.map((d) => d.id), ids.slice(1998));
});

Deno.test("MemoryBus drops events older than maxAgeMs, also across many drops", async () => {
  let now = 1_000_000;
  const bus = new MemoryBus({ maxEvents: 1000, maxAgeMs: 10_000, now: () => now });
  const ids: string[] = [];
  for (let n = 0; n < 600; n++) {
    ids.push(...await bus.publish([note(n)]));
    now += 100; // 100 events span 10 s
  }
  // Now 1,060,000: kept are the events stamped from 1,050,000 on (n ≥ 500).
  const kept = await bus.history([studentChannel("s-1")], "0");
  assert.equal(kept.events.length, 100);
  assert.equal(kept.events[0].id, ids[500]);
  assert.equal((await bus.history([studentChannel("s-1")], ids[499])).complete, true);
  assert.equal((await bus.history([studentChannel("s-1")], ids[498])).complete, false);
  now += 20_000;
  const none = await bus.history([studentChannel("s-1")], ids[599]);
  assert.deepEqual(none, { events: [], complete: true, headId: ids[599] });
  assert.equal((await bus.history([studentChannel("s-1")], ids[598])).complete, false);
});
