/**
 * The connection's state machine, pure: the feed client feeds it what happened and acts on the
 * status it returns (schedule a retry, stop, show "sign-in needed"). Time comes in as `now`, so
 * tests drive it without a real clock.
 *
 * ```
 *   connecting ──first frame──▶ live ──drop──▶ reconnecting(retryInMs) ──timer──▶ connecting
 *        │  ▲                                        ▲   │
 *        │  └──────────── online / token changed ────┘   │
 *        ├─401/403──▶ unauthorized (no retries until the token changes)
 *        └─browser offline / replaced / closed──▶ offline
 * ```
 *
 * @module
 */

import { nextDelay } from "./backoff.ts";

/** What the widget shows and the `connection-state-change` event carries. */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "offline" | "unauthorized";

/** The machine's whole state. */
export interface ConnectionStatus {
  state: ConnectionState;
  /** While `reconnecting`: the delay until the next attempt. */
  retryInMs?: number;
  /** Consecutive failed attempts; the backoff exponent. */
  attempt: number;
  /** Clock time the stream became live. */
  liveSince?: number;
  /** The server's `retry:` value, used as the backoff base. */
  serverRetryMs?: number;
  /** Why the state is `offline` or `unauthorized` (e.g. `replaced`, `browser_offline`). */
  reason?: string;
}

/** Something that happened to the connection. */
export type ConnectionInput =
  | { type: "connect" }
  | { type: "live"; now: number }
  | { type: "retry_hint"; ms: number }
  | { type: "dropped"; now: number; minDelayMs?: number }
  | { type: "unauthorized"; reason: string }
  | { type: "offline"; reason: string }
  | { type: "online" }
  | { type: "token_changed" };

/** Tuning of {@link transition}. */
export interface TransitionOptions {
  /** A stream live this long counts as healthy: the next drop starts the backoff over. */
  stableMs?: number;
  /** Injected randomness for the jitter. */
  random?: () => number;
}

/** A stream must stay live this long before a drop resets the backoff. */
export const STABLE_MS = 10_000;

/** The status before anything happened. */
export const INITIAL_STATUS: ConnectionStatus = { state: "connecting", attempt: 0 };

/**
 * Returns the next status; never mutates its input.
 *
 * @example
 * ```ts
 * let s = transition(INITIAL_STATUS, { type: "live", now: 0 });
 * s = transition(s, { type: "dropped", now: 500 }, { random: () => 0.5 });
 * s.state; // "reconnecting", s.retryInMs === 1000
 * ```
 */
export function transition(
  status: ConnectionStatus,
  input: ConnectionInput,
  options: TransitionOptions = {},
): ConnectionStatus {
  const base = { attempt: status.attempt, serverRetryMs: status.serverRetryMs };
  switch (input.type) {
    case "connect":
      return { state: "connecting", ...base };
    case "live":
      return status.state === "live" ? status : { state: "live", ...base, liveSince: input.now };
    case "retry_hint":
      return input.ms >= 0 ? { ...status, serverRetryMs: input.ms } : status;
    case "dropped": {
      // Stopped states stay stopped: a late network error must not restart a closed feed.
      if (status.state === "unauthorized" || status.state === "offline") return status;
      const stable = status.state === "live" && status.liveSince !== undefined &&
        input.now - status.liveSince >= (options.stableMs ?? STABLE_MS);
      const attempt = stable ? 0 : status.attempt;
      const delay = nextDelay(attempt, { baseMs: status.serverRetryMs, random: options.random });
      return {
        state: "reconnecting",
        attempt: attempt + 1,
        serverRetryMs: status.serverRetryMs,
        retryInMs: Math.max(delay, input.minDelayMs ?? 0),
      };
    }
    case "unauthorized":
      return { state: "unauthorized", attempt: 0, reason: input.reason };
    case "offline":
      return { state: "offline", ...base, reason: input.reason };
    case "online":
      // Only a feed that was waiting (for the network or its timer) comes back; a replaced or
      // refused one stays put.
      if (
        status.state === "reconnecting" ||
        (status.state === "offline" && status.reason === "browser_offline")
      ) {
        return { state: "connecting", attempt: 0, serverRetryMs: status.serverRetryMs };
      }
      return status;
    case "token_changed":
      return status.state === "unauthorized" ? { state: "connecting", attempt: 0 } : status;
  }
}
