/**
 * One attempt at the stream: `fetch` with `Authorization: Bearer` (never a token in the URL) and
 * `Last-Event-ID`, the body parsed by eventsource-parser (spec-conformant framing). Reconnecting is
 * the caller's job; this function only reports how the attempt ended.
 *
 * @module
 */

import { createParser } from "eventsource-parser";

/** One frame's envelope, plus the frame's `id:` when it had one. */
export interface FeedMessage<T = unknown> {
  id?: string;
  type: string;
  data: T;
  timestamp: string;
}

/** The service refused the stream (or a snapshot) with an HTTP status. */
export class FeedHttpError extends Error {
  override name = "FeedHttpError";
  /** The HTTP status. */
  readonly status: number;
  /** The service's `Retry-After`, in ms, when it sent one. */
  readonly retryAfterMs?: number;
  constructor(status: number, message: string, retryAfterMs?: number) {
    super(message);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Options of {@link readFeedStream}. */
export interface FeedStreamOptions {
  /** Full URL of `/api/students/notifications/sse`. */
  url: string;
  token: string;
  lastEventId?: string;
  signal: AbortSignal;
  onMessage(message: FeedMessage): void;
  onRetry(ms: number): void;
  fetch?: typeof fetch;
}

/**
 * Throws a {@link FeedHttpError} for a non-2xx response, after reading its JSON `error`.
 *
 * @example
 * ```ts
 * await ensureOk(await fetch(url), "load snapshot");
 * ```
 */
export async function ensureOk(response: Response, action: string): Promise<void> {
  if (response.ok) return;
  const body = await response.json().catch(() => null);
  const retryAfter = Number(response.headers.get("retry-after"));
  throw new FeedHttpError(
    response.status,
    `Cannot ${action}: ${body?.error ?? `HTTP ${response.status}`}`,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
  );
}

/**
 * Opens the stream and feeds every frame to `onMessage` until the server ends it (resolves) or the
 * network fails (rejects). A non-JSON frame is skipped: one bad frame must not kill the feed.
 *
 * @example
 * ```ts
 * await readFeedStream({ url, token, signal, onMessage: console.log, onRetry() {} });
 * ```
 */
export async function readFeedStream(options: FeedStreamOptions): Promise<void> {
  const headers: Record<string, string> = {
    accept: "text/event-stream",
    authorization: `Bearer ${options.token}`,
  };
  if (options.lastEventId) headers["last-event-id"] = options.lastEventId;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const response = await doFetch(options.url, {
    headers,
    signal: options.signal,
    cache: "no-store",
  });
  await ensureOk(response, "open stream");
  if (!response.body) throw new FeedHttpError(response.status, "Cannot open stream: no body");
  const parser = createParser({
    onEvent(event) {
      let envelope: FeedMessage;
      try {
        envelope = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!envelope || typeof envelope !== "object") return;
      options.onMessage({
        id: event.id,
        type: event.event ?? envelope.type,
        data: envelope.data,
        timestamp: envelope.timestamp,
      });
    },
    onRetry: options.onRetry,
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let done = false;
  try {
    while (!done) {
      const chunk = await reader.read();
      done = chunk.done;
      if (chunk.value) parser.feed(chunk.value);
    }
  } finally {
    // Whatever ended the loop, the body must not stay open (one exit path that cleans up).
    if (!done) await reader.cancel().catch(() => {});
  }
}
