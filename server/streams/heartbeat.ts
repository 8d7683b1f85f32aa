/**
 * One sweep over the local streams instead of a timer per stream: pings those that are due, ends
 * streams whose token expired, cuts off stale clients, and refreshes cross-instance tracking.
 *
 * @module
 */

import { feedEvent } from "../events.ts";
import { PING_SLOT_MS, type StudentStreams } from "./student_streams.ts";

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
  // Pings go out every PING_SLOT_MS, only to the streams due (10,000 streams at 15 s: ~17 per
  // slot), so a mark never waits behind a long burst of writes. The sweep ends expired and stale
  // streams (and pings any the schedule missed).
  const tickMs = Math.max(
    25,
    Math.min(250, Math.floor(Math.min(options.heartbeatMs, options.staleMs) / 8)),
  );
  const refreshMs = options.trackingRefreshMs ?? 60_000;
  let refreshedAt = now();
  const pings = setInterval(() => streams.pingDue(now()), PING_SLOT_MS);
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
  return () => {
    clearInterval(pings);
    clearInterval(sweep);
  };
}
