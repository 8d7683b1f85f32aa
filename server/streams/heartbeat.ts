/**
 * One sweep over the local streams instead of a timer per stream: pings those that are due, ends
 * streams whose token expired, cuts off stale clients, and refreshes cross-instance tracking.
 *
 * @module
 */

import { feedEvent } from "../events.ts";
import type { StudentStreams } from "./student_streams.ts";

/** Timings of the sweep. */
export interface HeartbeatOptions {
  heartbeatMs: number;
  staleMs: number;
  /** How often tracking entries are refreshed (their TTL is 5 minutes). Default 60 s. */
  trackingRefreshMs?: number;
  now?: () => number;
}

/**
 * Runs one sweep at `now`. Pure with respect to time, so tests drive it with a fake clock.
 *
 * @example
 * ```ts
 * sweepStreams(streams, { heartbeatMs: 15_000, staleMs: 30_000 }, Date.now());
 * ```
 */
export function sweepStreams(
  streams: StudentStreams,
  options: HeartbeatOptions,
  now: number,
): void {
  // Map iteration tolerates the deletions that ending a stream makes.
  for (const connection of streams.registry.all()) {
    if (connection.expiresAt <= now) {
      const json = JSON.stringify(
        feedEvent("close", { reason: "token_expired", reconnect: true }, new Date(now)),
      );
      connection.end("token_expired", { event: "close", json });
    } else if (connection.isStale(options.staleMs, now)) {
      connection.abort("stale");
    } else if (now >= connection.nextPingAt) {
      streams.ping(connection, now);
    }
  }
}

/**
 * Starts the sweep; returns a function that stops it.
 *
 * @example
 * ```ts
 * const stop = startHeartbeat(streams, { heartbeatMs: 15_000, staleMs: 30_000 });
 * ```
 */
export function startHeartbeat(streams: StudentStreams, options: HeartbeatOptions): () => void {
  const now = options.now ?? Date.now;
  // Short ticks keep each sweep's burst of pings small (10,000 streams at 15 s: ~170 per 250 ms
  // tick), so a mark arriving mid-sweep waits a millisecond or two, not tens.
  const tickMs = Math.max(
    25,
    Math.min(250, Math.floor(Math.min(options.heartbeatMs, options.staleMs) / 8)),
  );
  const refreshMs = options.trackingRefreshMs ?? 60_000;
  let refreshedAt = now();
  const sweep = setInterval(() => {
    const at = now();
    sweepStreams(streams, options, at);
    if (at - refreshedAt >= refreshMs) {
      refreshedAt = at;
      streams.tracker.heartbeat(streams.tracked()).catch((error) =>
        console.error("connection tracking refresh failed:", error?.message ?? error)
      );
    }
  }, tickMs);
  return () => clearInterval(sweep);
}
