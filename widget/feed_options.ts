/**
 * The shapes of `createFeedClient`'s options and result, apart from its logic so that both
 * stay readable.
 *
 * @module
 */

import type { ConnectionState } from "./connection_state.ts";
import type { FeedMessage } from "./feed_stream.ts";
import type { FeedSnapshot } from "./snapshot.ts";

/** The `detail` of `connection-state-change`. */
export interface StateChange {
  state: ConnectionState;
  retryInMs?: number;
  reason?: string;
}

/** The `data` of a `close` frame. */
export interface CloseData {
  reason?: string;
  reconnect?: boolean;
  retryAfterMs?: number;
}

/** Timers and time, injectable for tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

/** Options of `createFeedClient`. */
export interface FeedClientOptions {
  /** The service's base URL; `""` for the page's own origin. */
  endpoint: string;
  token?: string;
  /** A portal URL answering `{"token": "..."}`, fetched with credentials. */
  tokenUrl?: string;
  /** Every event after the snapshot: attendance_update, metrics_update, notification, resync. */
  onEvent?(message: FeedMessage): void;
  /** The snapshot, on cold start and after a `resync`. */
  onSnapshot?(snapshot: FeedSnapshot): void;
  onStateChange?(change: StateChange): void;
  /** A notification was marked read in another tab. */
  onRead?(id: string): void;
  /** Share one stream between the tabs of this student (default true). */
  shareTabs?: boolean;
  fetch?: typeof fetch;
  clock?: Clock;
  random?: () => number;
}

/** A running feed. */
export interface FeedClient {
  /** Starts (or resumes, from the last event seen) the feed. */
  connect(): void;
  /** Closes the stream and clears every timer and listener. */
  close(): void;
  /** Replaces the token; an `unauthorized` feed retries with it. */
  setToken(token: string | undefined): void;
  /** Marks a notification read for all the student's devices and tabs. */
  markRead(id: string): Promise<void>;
  readonly status: StateChange;
  readonly lastEventId: string | undefined;
  /** Whether this tab holds the shared stream. */
  readonly isLeader: boolean;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as number,
  clearTimeout: (id) => clearTimeout(id),
};
