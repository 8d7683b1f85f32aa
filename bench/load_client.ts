/**
 * One raw TCP HTTP/1.1 SSE client of the load generator: no fetch, no EventSource, one small read
 * buffer, the {@link SseScanner} on the bytes.
 *
 * @module
 */

import { preciseNow } from "./precise_clock.ts";
import { SseScanner } from "./sse_scanner.ts";

/** Where and as whom a client connects. */
export interface LoadClientTarget {
  hostname: string;
  port: number;
  path: string;
  token: string;
}

/** What every client of a worker reports into. */
export interface LoadClientSink {
  /** A benchmark-marked event arrived: its number and latency in ms. */
  onBench(client: LoadClient, k: number, latencyMs: number): void;
  /** The server closed the connection (or it failed) after it had opened. */
  onClosed(client: LoadClient): void;
}

// latin1: one char per byte, so chunk sizes stay byte counts; the markers are ASCII.
const latin1 = new TextDecoder("latin1");
const READ_BUFFER_BYTES = 4096;
const OPEN_TIMEOUT_MS = 20_000;

/**
 * @example
 * ```ts
 * const client = new LoadClient(target, sink);
 * const status = await client.open(); // 200 once the first ping arrived
 * client.close();
 * ```
 */
export class LoadClient {
  /** Last broadcast number seen, to count reordering or duplicates. */
  lastK = -1;
  /** Benchmark events received. */
  received = 0;
  /** Events seen with a number not above the previous one. */
  outOfOrder = 0;
  #target: LoadClientTarget;
  #sink: LoadClientSink;
  #conn: Deno.TcpConn | null = null;
  #closing = false;

  constructor(target: LoadClientTarget, sink: LoadClientSink) {
    this.#target = target;
    this.#sink = sink;
  }

  /**
   * Connects and resolves with the HTTP status once the stream is live (first `ping` seen), or
   * with the refusal's status; 0 when the connection itself failed, -1 when it was not live
   * within 20 s.
   */
  async open(): Promise<number> {
    const ready = Promise.withResolvers<number>();
    let live = false;
    const scanner = new SseScanner((frame) => {
      if (frame.k >= 0) {
        this.received++;
        if (frame.k <= this.lastK) this.outOfOrder++;
        this.lastK = frame.k;
        this.#sink.onBench(this, frame.k, at - frame.sentAt);
      } else if (!live && frame.event === "ping") {
        live = true;
        ready.resolve(200);
      }
    });
    let at = 0;
    try {
      this.#conn = await Deno.connect({ hostname: this.#target.hostname, port: this.#target.port });
    } catch {
      return 0;
    }
    const conn = this.#conn;
    const request = `GET ${this.#target.path} HTTP/1.1\r\nHost: ${this.#target.hostname}\r\n` +
      `Authorization: Bearer ${this.#target.token}\r\nAccept: text/event-stream\r\n\r\n`;
    (async () => {
      const buf = new Uint8Array(READ_BUFFER_BYTES);
      try {
        await conn.write(new TextEncoder().encode(request));
        while (true) {
          const n = await conn.read(buf);
          if (n === null) break;
          at = preciseNow();
          scanner.feed(latin1.decode(buf.subarray(0, n)));
          if (!live && scanner.status !== 0 && scanner.status !== 200) break;
        }
      } catch {
        // reset or closed by us: handled below
      }
      ready.resolve(scanner.status === 200 ? 0 : scanner.status);
      if (live && !this.#closing) this.#sink.onClosed(this);
      this.close();
    })();
    // A stream that never goes live counts as failed instead of holding the run forever.
    const timer = setTimeout(() => {
      ready.resolve(-1);
      this.close();
    }, OPEN_TIMEOUT_MS);
    try {
      return await ready.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
  }
}
