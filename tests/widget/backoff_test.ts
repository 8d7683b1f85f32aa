import assert from "node:assert/strict";
import { MAX_DELAY_MS, nextDelay } from "../../widget/backoff.ts";

const middle = () => 0.5;

Deno.test("nextDelay() doubles from 1 s: 1, 2, 4, 8, 16 s", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((n) => nextDelay(n, { random: middle })),
    [1000, 2000, 4000, 8000, 16000],
  );
});

Deno.test("nextDelay() caps at 30 s", () => {
  assert.equal(nextDelay(5, { random: middle }), MAX_DELAY_MS);
  assert.equal(nextDelay(60, { random: middle }), MAX_DELAY_MS);
  assert.equal(nextDelay(1e9, { random: () => 0.999 }), MAX_DELAY_MS);
});

Deno.test("nextDelay() jitters within ±20 %", () => {
  assert.equal(nextDelay(0, { random: () => 0 }), 800);
  assert.equal(nextDelay(0, { random: () => 0.9999999 }), 1200);
  assert.equal(nextDelay(3, { random: () => 0 }), 6400);
  assert.equal(nextDelay(5, { random: () => 0 }), 24000);
  for (let i = 0; i < 200; i++) {
    const d = nextDelay(2);
    assert.ok(d >= 3200 && d <= 4800, `delay ${d} outside [3200, 4800]`);
  }
});

Deno.test("nextDelay() uses the server's retry: as its base", () => {
  assert.equal(nextDelay(0, { baseMs: 3000, random: middle }), 3000);
  assert.equal(nextDelay(2, { baseMs: 3000, random: middle }), 12000);
  assert.equal(nextDelay(0, { baseMs: 0, random: middle }), 0);
});

Deno.test("nextDelay() treats bad attempts as 0", () => {
  assert.equal(nextDelay(-3, { random: middle }), 1000);
  assert.equal(nextDelay(1.7, { random: middle }), 2000);
});
