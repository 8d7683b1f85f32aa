import assert from "node:assert/strict";
import {
  type ConnectionStatus,
  INITIAL_STATUS,
  transition,
} from "../../widget/connection_state.ts";

const opts = { random: () => 0.5, stableMs: 10_000 };

function run(inputs: Parameters<typeof transition>[1][]): ConnectionStatus {
  return inputs.reduce((s, input) => transition(s, input, opts), INITIAL_STATUS);
}

Deno.test("transition() goes connecting -> live on the first frame", () => {
  const s = transition(INITIAL_STATUS, { type: "live", now: 5 }, opts);
  assert.equal(s.state, "live");
  assert.equal(s.liveSince, 5);
});

Deno.test("transition() backs off 1, 2, 4 s over repeated failures", () => {
  const delays: number[] = [];
  let s = INITIAL_STATUS;
  for (let i = 0; i < 3; i++) {
    s = transition(s, { type: "dropped", now: i }, opts);
    assert.equal(s.state, "reconnecting");
    delays.push(s.retryInMs!);
    s = transition(s, { type: "connect" }, opts);
  }
  assert.deepEqual(delays, [1000, 2000, 4000]);
});

Deno.test("transition() resets the backoff after a stream was live for stableMs", () => {
  let s = run([
    { type: "dropped", now: 0 },
    { type: "connect" },
    { type: "dropped", now: 1 },
    { type: "connect" },
    { type: "live", now: 100 },
  ]);
  assert.equal(s.attempt, 2);
  const early = transition(s, { type: "dropped", now: 100 + 9_999 }, opts);
  assert.equal(early.retryInMs, 4000, "a short-lived stream keeps growing the delay");
  s = transition(s, { type: "dropped", now: 100 + 10_000 }, opts);
  assert.equal(s.retryInMs, 1000);
  assert.equal(s.attempt, 1);
});

Deno.test("transition() honours the server's retry: and Retry-After", () => {
  let s = run([{ type: "retry_hint", ms: 2500 }, { type: "live", now: 0 }]);
  s = transition(s, { type: "dropped", now: 1 }, opts);
  assert.equal(s.retryInMs, 2500);
  s = transition(transition(s, { type: "connect" }, opts), {
    type: "dropped",
    now: 2,
    minDelayMs: 60_000,
  }, opts);
  assert.equal(s.retryInMs, 60_000, "Retry-After wins over a shorter backoff");
  assert.equal(transition(s, { type: "retry_hint", ms: -1 }, opts), s);
});

Deno.test("transition() stops at unauthorized until the token changes", () => {
  let s = run([{ type: "live", now: 0 }, { type: "unauthorized", reason: "Token expired" }]);
  assert.equal(s.state, "unauthorized");
  assert.equal(transition(s, { type: "dropped", now: 1 }, opts), s);
  assert.equal(transition(s, { type: "online" }, opts), s);
  s = transition(s, { type: "token_changed" }, opts);
  assert.equal(s.state, "connecting");
  assert.equal(s.attempt, 0);
});

Deno.test("transition() reconnects at once when the browser comes online", () => {
  let s = run([{ type: "dropped", now: 0 }, { type: "connect" }, { type: "dropped", now: 1 }]);
  assert.equal(s.state, "reconnecting");
  s = transition(s, { type: "online" }, opts);
  assert.deepEqual([s.state, s.attempt], ["connecting", 0]);
  s = run([{ type: "offline", reason: "browser_offline" }, { type: "online" }]);
  assert.equal(s.state, "connecting");
});

Deno.test("transition() keeps a replaced feed offline", () => {
  const s = run([{ type: "live", now: 0 }, { type: "offline", reason: "replaced" }]);
  assert.deepEqual([s.state, s.reason], ["offline", "replaced"]);
  assert.equal(transition(s, { type: "online" }, opts), s);
  assert.equal(transition(s, { type: "dropped", now: 5 }, opts), s);
  assert.equal(transition(s, { type: "token_changed" }, opts), s);
});

Deno.test("transition() does not mutate its input", () => {
  const before = structuredClone(INITIAL_STATUS);
  transition(INITIAL_STATUS, { type: "dropped", now: 0 }, opts);
  assert.deepEqual(INITIAL_STATUS, before);
});
