/**
 * The benchmark's clock keeps sub-ms precision and follows the wall clock when it steps (a VM
 * paused and resumed), so that processes started before and after a step agree.
 */

import assert from "node:assert/strict";
import { type ClockSources, PreciseClock, preciseNow } from "../../bench/precise_clock.ts";

interface FakeMachine {
  offsetMs: number;
  monotonicMs: number;
  sources: ClockSources;
}

/** A machine whose monotonic clock advances 10 µs per reading, wall = offset + monotonic. */
function fakeMachine(offsetMs: number): FakeMachine {
  const machine: FakeMachine = {
    offsetMs,
    monotonicMs: 5_000.004,
    sources: {
      monotonic: () => (machine.monotonicMs += 0.01),
      wall: () => Math.floor(machine.offsetMs + machine.monotonicMs),
    },
  };
  return machine;
}

Deno.test("PreciseClock: sub-ms readings anchored on the wall clock", () => {
  const machine = fakeMachine(1_764_000_000_000);
  const clock = new PreciseClock(machine.sources);
  for (let i = 0; i < 1000; i++) {
    const reading = clock.now();
    // The anchor is found to within one step of the fake monotonic clock.
    assert.ok(Math.abs(reading - (machine.offsetMs + machine.monotonicMs)) < 0.03, `${reading}`);
    machine.monotonicMs += 0.337;
  }
  assert.equal(clock.steps, 0);
});

Deno.test("PreciseClock: follows a step of the wall clock, forward or back", () => {
  const machine = fakeMachine(1_764_000_000_000);
  const clock = new PreciseClock(machine.sources);
  const before = clock.now();
  machine.offsetMs += 12_000; // the VM was paused 12 s: the monotonic clock did not move
  const after = clock.now();
  // Re-anchoring waits for the wall clock's next ms (up to 1 ms of the fake clock).
  assert.ok(after - before > 12_000 && after - before < 12_001.1, `${after - before}`);
  assert.ok(Math.abs(after - (machine.offsetMs + machine.monotonicMs)) < 0.03);
  assert.equal(clock.steps, 1);
  machine.offsetMs -= 500;
  assert.ok(Math.abs(clock.now() - (machine.offsetMs + machine.monotonicMs)) < 0.03);
  assert.equal(clock.steps, 2);
});

Deno.test("preciseNow: the system clock, within a ms of Date.now()", () => {
  for (let i = 0; i < 100; i++) {
    const reading = preciseNow();
    const wall = Date.now();
    assert.ok(reading <= wall + 1 && reading > wall - 2, `${reading} vs ${wall}`);
  }
});
