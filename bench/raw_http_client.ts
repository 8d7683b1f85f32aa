/**
 * The driver's HTTP client for trigger requests: one keep-alive HTTP/1.1 connection over raw TCP.
 * `fetch` spent 0.3–0.8 ms of its own between the send time the driver stamps into an event and
 * the request's bytes leaving (request objects, connection pool, a thread hop), and that time was
 * counted as the server's latency in every scenario. Here the bytes are written right after the
 * stamp.
 *
 * @module
 */

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();
const RESPONSE_TIMEOUT_MS = 30_000;

/** A response, read whole. */
export interface RawResponse {
  status: number;
  body: string;
}

/**
 * @example
 * ```ts
 * const client = new RawHttpClient("http://127.0.0.1:8000");
 * const { status } = await client.post("/api/attendance", { Authorization: "Bearer …" }, "{}");
 * client.close();
 * ```
 */
export class RawHttpClient {
  #hostname: string;
  #port: number;
  #conn: Deno.TcpConn | null = null;
  /** Bytes read past the previous response (none in practice: one request at a time). */
  #buffered = new Uint8Array(0);
  #busy: Promise<unknown> = Promise.resolve();

  constructor(baseUrl: string) {
    const url = new URL(baseUrl);
    this.#hostname = url.hostname.replace(/^\[|\]$/g, "");
    this.#port = Number(url.port || 80);
  }

  /**
   * Sends a POST with a JSON body built by `body()` right before the write (so a send time taken
   * inside it is the moment the request leaves); resolves with the whole response. Requests made
   * while one is in flight wait their turn.
   */
  post(path: string, headers: Record<string, string>, body: () => string): Promise<RawResponse> {
    const run = this.#busy.then(() => this.#exchange(path, headers, body, true));
    this.#busy = run.catch(() => {});
    return run;
  }

  /** Closes the connection; a later request opens a new one. */
  close(): void {
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = null;
    this.#buffered = new Uint8Array(0);
  }

  async #exchange(
    path: string,
    headers: Record<string, string>,
    body: () => string,
    mayRetry: boolean,
  ): Promise<RawResponse> {
    const fresh = this.#conn === null;
    const conn = this.#conn ??= await Deno.connect({ hostname: this.#hostname, port: this.#port });
    conn.setNoDelay(true);
    const payload = encoder.encode(body());
    const head = [
      `POST ${path} HTTP/1.1`,
      `Host: ${this.#hostname}:${this.#port}`,
      "Content-Type: application/json",
      `Content-Length: ${payload.length}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      "",
      "",
    ].join("\r\n");
    const headBytes = encoder.encode(head);
    const request = new Uint8Array(headBytes.length + payload.length);
    request.set(headBytes);
    request.set(payload, headBytes.length);
    let wrote = false;
    try {
      await writeAll(conn, request);
      wrote = true;
      return await this.#readResponse(conn);
    } catch (error) {
      this.close();
      // A kept-alive connection the server closed while idle fails before any answer: once more
      // on a new connection (the body, and any send time in it, is built again).
      if (mayRetry && !fresh && !(error instanceof TimeoutError) && (!wrote || isEof(error))) {
        return await this.#exchange(path, headers, body, false);
      }
      throw error;
    }
  }

  async #readResponse(conn: Deno.TcpConn): Promise<RawResponse> {
    const timer = setTimeout(() => this.close(), RESPONSE_TIMEOUT_MS);
    try {
      let headEnd = indexOfBlankLine(this.#buffered);
      while (headEnd < 0) {
        await this.#fill(conn);
        headEnd = indexOfBlankLine(this.#buffered);
      }
      const head = latin1.decode(this.#buffered.subarray(0, headEnd));
      this.#buffered = this.#buffered.subarray(headEnd + 4);
      const [statusLine, ...lines] = head.split("\r\n");
      const status = Number(statusLine.split(" ")[1]);
      const header = (name: string) =>
        lines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim()
          .toLowerCase();
      // Both servers answer triggers with a Content-Length (c.json / a string body).
      if (header("transfer-encoding")) {
        throw new Error("Cannot read a response without a Content-Length");
      }
      const length = Number(header("content-length") ?? 0);
      while (this.#buffered.length < length) await this.#fill(conn);
      const body = this.#buffered.slice(0, length);
      this.#buffered = this.#buffered.subarray(length);
      if (header("connection") === "close") this.close();
      return { status, body: utf8.decode(body) };
    } catch (error) {
      if (this.#conn === null) throw new TimeoutError("No complete response in time");
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #fill(conn: Deno.TcpConn): Promise<void> {
    const chunk = new Uint8Array(16 * 1024);
    const n = await conn.read(chunk);
    if (n === null) throw new Deno.errors.UnexpectedEof("connection closed before the response");
    const joined = new Uint8Array(this.#buffered.length + n);
    joined.set(this.#buffered);
    joined.set(chunk.subarray(0, n), this.#buffered.length);
    this.#buffered = joined;
  }
}

class TimeoutError extends Error {
  override name = "TimeoutError";
}

const isEof = (error: unknown) =>
  error instanceof Deno.errors.UnexpectedEof || error instanceof Deno.errors.ConnectionReset ||
  error instanceof Deno.errors.BrokenPipe;

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}
