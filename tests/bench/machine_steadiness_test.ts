/**
 * The machine-steadiness summary: percentiles and the share of slow units, on known durations.
 *
 * @module
 */

import assert from "node:assert/strict";
import { describeSteadiness, summarizeSteadiness } from "../../bench/machine_steadiness.ts";

Deno.test("summarizeSteadiness: median, nearest-rank p99, max and the share over twice the median", () => {
  // 200 units: 190 of 0.5 ms, 8 of 1.2 ms, one of 6 ms, one of 20 ms.
  const durations = [
    ...Array(190).fill(0.5),
    ...Array(8).fill(1.2),
    6,
    20,
  ];
  const s = summarizeSteadiness(durations.reverse());
  assert.equal(s.units, 200);
  assert.equal(s.p50Ms, 0.5);
  // floor(0.99 × 199) = 197: the 198th smallest, the last of the 1.2 ms units.
  assert.equal(s.p99Ms, 1.2);
  assert.equal(s.maxMs, 20);
  // 1.2, 6 and 20 are over 1 ms: 10 of 200.
  assert.equal(s.slowShare, 10 / 200);
  assert.equal(
    describeSteadiness(s),
    "0.5 ms of work: p50 0.50, p99 1.20, max 20.0 ms; 5.0 % over 2x the median (200 units)",
  );
});

Deno.test("summarizeSteadiness: a steady machine has no slow share; no units is an error", () => {
  const s = summarizeSteadiness([0.5, 0.52, 0.49, 0.51]);
  assert.equal(s.slowShare, 0);
  assert.equal(s.p99Ms, 0.51);
  assert.throws(() => summarizeSteadiness([]), /no durations/);
});
