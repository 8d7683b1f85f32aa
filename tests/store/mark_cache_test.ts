import assert from "node:assert/strict";
import { MarkCache } from "../../server/store/mark_cache.ts";

const tallies = (version: string) => ({ version, counts: new Map(), days: new Map() });

Deno.test("MarkCache tells a slot seen empty (null) from one never seen (undefined)", () => {
  const cache = new MarkCache();
  assert.equal(cache.slot("s-1", "2026-11-27|01"), undefined);
  cache.rememberSlot("s-1", "2026-11-27|01", null);
  assert.equal(cache.slot("s-1", "2026-11-27|01"), null);
  cache.rememberSlot("s-1", "2026-11-27|01", '{"status":"PRESENT"}');
  assert.equal(cache.slot("s-1", "2026-11-27|01"), '{"status":"PRESENT"}');
  cache.forgetSlot("s-1", "2026-11-27|01");
  assert.equal(cache.slot("s-1", "2026-11-27|01"), undefined);
});

Deno.test("MarkCache keeps at most its bounds, dropping the least recently used first", () => {
  const cache = new MarkCache(3, 2);
  for (const s of ["a", "b", "c"]) cache.rememberSlot(s, "d|01", null);
  assert.equal(cache.slot("a", "d|01"), null); // used: "b" is now the oldest
  cache.rememberSlot("d", "d|01", null);
  assert.equal(cache.slot("b", "d|01"), undefined);
  assert.equal(cache.slot("a", "d|01"), null);
  assert.equal(cache.slot("c", "d|01"), null);

  cache.rememberClass("c-1", tallies("1"));
  cache.rememberClass("c-2", tallies("4"));
  assert.equal(cache.classTallies("c-1")?.version, "1");
  cache.rememberClass("c-3", tallies("2"));
  assert.equal(cache.classTallies("c-2"), undefined);
  assert.equal(cache.classTallies("c-3")?.version, "2");
  cache.forgetClass("c-3");
  assert.equal(cache.classTallies("c-3"), undefined);
});
