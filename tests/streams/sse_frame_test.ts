import assert from "node:assert/strict";
import {
  encodeFrame,
  encodeRetry,
  encodeUncheckedFrame,
  formatFrame,
} from "../../server/streams/sse_frame.ts";

Deno.test("formatFrame() writes id, event, one data line and a blank line", () => {
  assert.equal(
    formatFrame({ id: "1-0", event: "notification", data: '{"a":1}' }),
    'id: 1-0\nevent: notification\ndata: {"a":1}\n\n',
  );
  assert.equal(formatFrame({ event: "ping", data: "{}" }), "event: ping\ndata: {}\n\n");
});

Deno.test("formatFrame() refuses line breaks that would split a frame", () => {
  assert.throws(() => formatFrame({ event: "x", data: "a\nb" }), /single lines/);
  assert.throws(() => formatFrame({ event: "x\r", data: "a" }), /single lines/);
  assert.throws(() => formatFrame({ id: "1\n", event: "x", data: "a" }), /line breaks/);
  // JSON.stringify escapes newlines inside strings, so envelopes are always one line.
  assert.doesNotThrow(() => formatFrame({ event: "x", data: JSON.stringify({ m: "a\nb" }) }));
});

Deno.test("encodeFrame() and encodeRetry() produce UTF-8 bytes", () => {
  const decoded = new TextDecoder().decode(encodeFrame({ event: "n", data: '"é"' }));
  assert.equal(decoded, 'event: n\ndata: "é"\n\n');
  assert.equal(new TextDecoder().decode(encodeRetry(1500.7)), "retry: 1500\n\n");
});

Deno.test("encodeUncheckedFrame() is encodeFrame() without an id, for single-line parts", () => {
  const data =
    '{"type":"ping","data":{"connectionId":"c-1"},"timestamp":"2026-11-29T08:00:00.000Z"}';
  assert.deepEqual(encodeUncheckedFrame("ping", data), encodeFrame({ event: "ping", data }));
});
