import assert from "node:assert/strict";
import {
  compareEventIds,
  compareParsedIds,
  EventIdSequence,
  parseEventId,
} from "../server/event_id.ts";

Deno.test("parseEventId() accepts ms-seq and 0, rejects the rest", () => {
  assert.deepEqual(parseEventId("1700000000000-3"), { ms: 1700000000000, seq: 3 });
  assert.deepEqual(parseEventId("0"), { ms: 0, seq: 0 });
  for (const bad of ["", "1-", "-1", "a-1", "1-1-1", "1 -1", "1".repeat(20) + "-0"]) {
    assert.equal(parseEventId(bad), null, bad);
  }
});

Deno.test("compareEventIds() orders numerically, not as text", () => {
  assert.ok(compareEventIds("5-2", "5-10") < 0);
  assert.ok(compareEventIds("10-0", "9-99") > 0);
  assert.equal(compareEventIds("7-1", "7-1"), 0);
  assert.ok(compareEventIds("0", "1-0") < 0);
});

Deno.test("compareEventIds() agrees with comparing parsed ids, invalid ones first", () => {
  const ids = [
    "0",
    "0-0",
    "0-1",
    "1-0",
    "00-1",
    "5-2",
    "5-10",
    "9-99",
    "10-0",
    "1700000000000-3",
    "999999999999999-999999999999999",
    "",
    "-1",
    "1-",
    "a-1",
    "1-1-1",
    "1 -1",
    "1-a",
    "1".repeat(16) + "-0",
    "0-" + "1".repeat(16),
    "1700000000000-0",
  ];
  const reference = (a: string, b: string) =>
    compareParsedIds(
      parseEventId(a) ?? { ms: -1, seq: -1 },
      parseEventId(b) ?? { ms: -1, seq: -1 },
    );
  for (const a of ids) {
    for (const b of ids) {
      assert.equal(Math.sign(compareEventIds(a, b)), Math.sign(reference(a, b)), `${a} vs ${b}`);
    }
  }
});

Deno.test("EventIdSequence.next() stays strictly increasing when the clock stalls or steps back", () => {
  const ids = new EventIdSequence();
  assert.equal(ids.last, "0");
  const issued = [100, 100, 100, 99, 101, 50].map((t) => ids.next(t));
  assert.deepEqual(issued, ["100-0", "100-1", "100-2", "100-3", "101-0", "101-1"]);
  assert.equal(ids.last, "101-1");
});
