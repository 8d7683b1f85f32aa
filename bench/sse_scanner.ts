/**
 * Minimal HTTP/1.1 + SSE response scanner for the load generator: just enough parsing to find
 * frame boundaries, the `event:` name and the benchmark marker, at as little CPU as possible.
 * Pure: it is fed text and calls back, so it is unit-tested without sockets.
 *
 * @module
 */

/** What the scanner reports for each complete SSE frame. */
export interface ScannedFrame {
  /** The `event:` field ("message" when absent). */
  event: string;
  /** Broadcast number carried by the benchmark marker `bk=<k>;`, or -1 when absent. */
  k: number;
  /** Send time (epoch ms, fractional) carried by the marker `bt=<ms>;`, or NaN when absent. */
  sentAt: number;
}

/** Marker a benchmark event carries inside its payload, so receipt can be matched to the send. */
export function benchMarker(k: number, sentAtMs: number): string {
  return `bk=${k};bt=${sentAtMs.toFixed(3)};`;
}

/**
 * Incremental scanner of one response. Feed it the bytes of the socket decoded as latin1 (every
 * byte one char, so chunk sizes count right); it strips the status line, headers and chunked
 * transfer coding, splits frames at blank lines and reports each frame.
 *
 * @example
 * ```ts
 * const scanner = new SseScanner((frame) => console.log(frame.event));
 * scanner.feed("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\nevent: ping\ndata: {}\n\n");
 * scanner.status; // 200
 * ```
 */
export class SseScanner {
  /** HTTP status, 0 until the status line has arrived. */
  status = 0;
  #onFrame: (frame: ScannedFrame) => void;
  #inHeaders = true;
  #chunked = false;
  /** Bytes left in the current chunk; -1 while a chunk-size line is expected. */
  #chunkLeft = -1;
  /** Unparsed text: a partial header block, chunk-size line or frame. */
  #pending = "";
  /** Decoded body text not yet split into frames. */
  #body = "";

  constructor(onFrame: (frame: ScannedFrame) => void) {
    this.#onFrame = onFrame;
  }

  /** Feeds the next piece of the response. */
  feed(text: string): void {
    if (this.#inHeaders) {
      this.#pending += text;
      const end = this.#pending.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.#pending.slice(0, end);
      text = this.#pending.slice(end + 4);
      this.#pending = "";
      this.#inHeaders = false;
      this.status = Number(head.slice(9, 12));
      this.#chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    }
    if (this.#chunked) this.#dechunk(text);
    else this.#frames(text);
  }

  #dechunk(text: string): void {
    let data = "";
    let at = 0;
    if (this.#pending) {
      text = this.#pending + text;
      this.#pending = "";
    }
    while (at < text.length) {
      if (this.#chunkLeft < 0) {
        const eol = text.indexOf("\r\n", at);
        if (eol < 0) {
          this.#pending = text.slice(at);
          break;
        }
        const line = text.slice(at, eol);
        at = eol + 2;
        if (line === "") continue; // the CRLF that ends the last chunk's trailers
        const size = parseInt(line, 16) || 0;
        // The CRLF after the data is counted into the chunk and dropped below.
        this.#chunkLeft = size + 2;
        if (size === 0) this.#chunkLeft = -1;
        continue;
      }
      const take = Math.min(this.#chunkLeft, text.length - at);
      // Keep the data, drop the chunk's trailing CRLF (which may arrive split across reads).
      const dataTaken = Math.min(take, Math.max(0, this.#chunkLeft - 2));
      if (dataTaken > 0) data += text.slice(at, at + dataTaken);
      this.#chunkLeft -= take;
      at += take;
      if (this.#chunkLeft === 0) this.#chunkLeft = -1;
    }
    if (data) this.#frames(data);
  }

  #frames(text: string): void {
    let body = this.#body ? this.#body + text : text;
    let end = body.indexOf("\n\n");
    while (end >= 0) {
      this.#frame(body.slice(0, end));
      body = body.slice(end + 2);
      end = body.indexOf("\n\n");
    }
    this.#body = body;
  }

  #frame(frame: string): void {
    let event = "message";
    const e = frame.startsWith("event: ") ? 0 : frame.indexOf("\nevent: ");
    if (e >= 0) {
      const start = e === 0 ? 7 : e + 8;
      const eol = frame.indexOf("\n", start);
      event = frame.slice(start, eol < 0 ? frame.length : eol);
    } else if (!frame.includes("data:")) {
      return; // `retry:` or comment only
    }
    let k = -1;
    let sentAt = NaN;
    const m = frame.indexOf("bk=");
    if (m >= 0) {
      const semi = frame.indexOf(";", m);
      k = Number(frame.slice(m + 3, semi));
      const t = frame.indexOf("bt=", semi);
      sentAt = Number(frame.slice(t + 3, frame.indexOf(";", t)));
    }
    this.#onFrame({ event, k, sentAt });
  }
}
