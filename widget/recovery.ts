/**
 * What the feed does after a stream ended or an attempt failed, as a pure decision: retry with
 * backoff, renew the token and retry at once, or stop in a state that waits for the page or the
 * network.
 *
 * @module
 */

import type { ConnectionInput } from "./connection_state.ts";
import { FeedHttpError } from "./feed_stream.ts";
import type { CloseData } from "./feed_options.ts";
import { TokenUnavailableError } from "./token_source.ts";

/** The decision. */
export type Recovery =
  | { action: "retry"; minDelayMs?: number }
  | { action: "renew"; reason: string }
  | { action: "stop"; input: ConnectionInput };

/**
 * After the server ended the stream, with the `close` frame it sent (if any).
 *
 * @example
 * ```ts
 * afterClose({ reason: "shutdown", reconnect: true, retryAfterMs: 3000 });
 * // { action: "retry", minDelayMs: 3000 }
 * ```
 */
export function afterClose(close: CloseData | undefined): Recovery {
  if (close?.reason === "token_expired") return { action: "renew", reason: "Token expired" };
  if (close?.reason === "replaced" || close?.reconnect === false) {
    return { action: "stop", input: { type: "offline", reason: close.reason ?? "closed" } };
  }
  return { action: "retry", minDelayMs: close?.retryAfterMs };
}

/**
 * After an attempt failed: 401 renews the token, 403 or no token stops, anything else (network,
 * 429, 5xx, watchdog) retries, at least after the server's `Retry-After`.
 *
 * @example
 * ```ts
 * afterError(new FeedHttpError(503, "busy", 5000)); // { action: "retry", minDelayMs: 5000 }
 * ```
 */
export function afterError(error: unknown): Recovery {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof FeedHttpError && error.status === 401) {
    return { action: "renew", reason: message };
  }
  if (
    error instanceof TokenUnavailableError ||
    (error instanceof FeedHttpError && error.status === 403)
  ) {
    return { action: "stop", input: { type: "unauthorized", reason: message } };
  }
  return {
    action: "retry",
    minDelayMs: error instanceof FeedHttpError ? error.retryAfterMs : undefined,
  };
}
