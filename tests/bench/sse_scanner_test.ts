import assert from "node:assert/strict";
import { LatencyHistogram } from "../../bench/latency_histogram.ts";
import { benchMarker, type ScannedFrame, SseScanner } from "../../bench/sse_scanner.ts";

const HEAD =
  "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

function chunk(text: string): string {
  return `${text.length.toString(16)}\r\n${text}\r\n`;
}

Deno.test("SseScanner reads chunked frames split at every byte", () => {
  const frames = [
    "retry: 1000\n\n",
    'event: ping\ndata: {"type":"ping"}\n\n',
    `id: 1-0\nevent: notification\ndata: {"message":"bench ${benchMarker(7, 1234.5)}"}\n\n`,
  ];
  const wire = HEAD + frames.map(chunk).join("") + "0\r\n\r\n";
  const seen: ScannedFrame[] = [];
  const scanner = new SseScanner((frame) => seen.push(frame));
  for (const char of wire) scanner.feed(char);
  assert.equal(scanner.status, 200);
  assert.deepEqual(seen.map((f) => f.event), ["ping", "notification"]);
  assert.equal(seen[0].k, -1);
  assert.equal(seen[1].k, 7);
  assert.equal(seen[1].sentAt, 1234.5);
});

Deno.test("SseScanner reads a frame spread over several chunks in one read", () => {
  const seen: ScannedFrame[] = [];
  const scanner = new SseScanner((frame) => seen.push(frame));
  scanner.feed(HEAD + chunk("event: pi") + chunk("ng\ndata: {}\n") + chunk("\n"));
  assert.deepEqual(seen.map((f) => f.event), ["ping"]);
});

Deno.test("SseScanner reports a refusal's status", () => {
  const scanner = new SseScanner(() => {});
  scanner.feed("HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\n{}");
  assert.equal(scanner.status, 401);
});

Deno.test("LatencyHistogram.percentile() is exact to 10 µs and merges", () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  for (let i = 1; i <= 100; i++) (i % 2 ? a : b).record(i);
  a.merge(b.toSparse());
  assert.equal(a.count, 100);
  assert.equal(a.percentile(0.5), 50.01);
  assert.equal(a.percentile(0.99), 99.01);
  assert.equal(a.percentile(1), 100);
});
