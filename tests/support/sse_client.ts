/**
 * A test client for the stream: fetch + a spec-conformant SSE parser, collecting every frame so
 * tests can wait for what they expect, with a deadline.
 *
 * @module
 */

import { createParser, type EventSourceMessage } from "eventsource-parser";

/** One received frame, with its parsed envelope. */
export interface ReceivedEvent {
  id?: string;
  event: string;
  envelope: { type: string; data: Record<string, unknown>; timestamp: string };
  receivedAt: number;
}

/** An open stream under test. */
export interface TestStream {
  status: number;
  headers: Headers;
  events: ReceivedEvent[];
  retry?: number;
  /** Resolves when the server ended the stream (cleanly or not). */
  ended: Promise<void>;
  hasEnded(): boolean;
  /** Waits for the first event (from `from` on) matching `match`. */
  waitFor(
    match: (event: ReceivedEvent) => boolean,
    timeoutMs?: number,
    from?: number,
  ): Promise<ReceivedEvent>;
  /** Aborts the request from the client side. */
  close(): Promise<void>;
}

/** Options for {@link openStream}. */
export interface OpenStreamOptions {
  token?: string;
  lastEventId?: string;
  headers?: Record<string, string>;
  query?: string;
}

/**
 * Opens `GET /api/students/notifications/sse`. Non-200 answers are returned with their status and
 * an empty event list (the body is consumed).
 */
export async function openStream(
  baseUrl: string,
  options: OpenStreamOptions = {},
): Promise<TestStream> {
  const abort = new AbortController();
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId;
  const response = await fetch(
    `${baseUrl}/api/students/notifications/sse${options.query ? `?${options.query}` : ""}`,
    { headers, signal: abort.signal },
  );
  const events: ReceivedEvent[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const stream: TestStream = {
    status: response.status,
    headers: response.headers,
    events,
    ended: Promise.resolve(),
    hasEnded: () => ended,
    waitFor(match, timeoutMs = 3000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.slice(from).find(match);
          if (found) {
            cleanup();
            resolve(found);
          } else if (ended) {
            cleanup();
            reject(new Error(`stream ended before the awaited event; got ${describe(events)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms; got ${describe(events)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      abort.abort();
      await stream.ended;
    },
  };
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel();
    ended = true;
    return stream;
  }
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      events.push({
        id: message.id,
        event: message.event ?? "message",
        envelope: JSON.parse(message.data),
        receivedAt: performance.now(),
      });
      for (const waiter of [...waiters]) waiter();
    },
    onRetry(ms) {
      stream.retry = ms;
    },
  });
  stream.ended = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body!) {
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
    } catch {
      // Aborted by either side.
    } finally {
      ended = true;
      for (const waiter of [...waiters]) waiter();
    }
  })();
  return stream;
}

function describe(events: ReceivedEvent[]): string {
  return `[${events.map((e) => e.event).join(", ")}]`;
}
