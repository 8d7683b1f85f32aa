/**
 * The heartbeat: pings the streams that are due, ends streams whose token expired, cuts off stale
 * clients, and refreshes cross-instance tracking. Pings go out from a schedule every
 * {@link PING_SLOT_MS}; the checks of every stream are spread over the same ticks, a slice each
 * ({@link StreamSweep}), so no tick holds the event loop for the whole registry.
 *
 * @module
 */

import { feedEvent } from "../events.ts";
import type { SseConnection } from "./sse_connection.ts";
import { freshPingTime, pingLongOverdue } from "./ping_schedule.ts";
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
 * One stream's check at `now`: ends it if its token expired, cuts it off if stale, pings it if the
 * schedule missed its ping (more than half a period late: a backlog after a stall takes a while to
 * drain at the schedule's pace, and pinging it from here would bunch it up again).
 */
function checkStream(
  streams: StudentStreams,
  connection: SseConnection,
  options: HeartbeatOptions,
  now: number,
): void {
  if (connection.expiresAt <= now) {
    const json = JSON.stringify(
      feedEvent("close", { reason: "token_expired", reconnect: true }, new Date(now)),
    );
    connection.end("token_expired", { event: "close", json });
  } else if (connection.isStale(options.staleMs, now)) {
    connection.abort("stale");
  } else if (pingLongOverdue(connection.nextPingAt, now, options.heartbeatMs)) {
    // That late, the next ping starts a new phase (what nextPingTime() gives such a ping).
    streams.ping(connection, now, freshPingTime(now, options.heartbeatMs));
  }
}

/**
 * Checks every local stream at `now` in one go. Pure with respect to time, so tests drive it with a
 * fake clock.
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
  for (const connection of streams.registry.all()) checkStream(streams, connection, options, now);
}

/**
 * The same checks as {@link sweepStreams}, a slice at a time: each {@link step} checks the next
 * streams of the registry, resuming where the last one stopped, and starts over once it has been
 * through them all. Checking 10,000 streams at once held the event loop 3–8 ms on a 2-vCPU VM
 * (up to 30 when preempted), four times a second; a mark arriving then waited for it.
 *
 * @example
 * ```ts
 * const sweep = new StreamSweep(streams, { heartbeatMs: 15_000, staleMs: 30_000 });
 * sweep.step(1000, Date.now()); // the next 1,000 streams
 * ```
 */
export class StreamSweep {
  #streams: StudentStreams;
  #options: HeartbeatOptions;
  /**
   * A live iterator over the registry's map: it skips streams deleted since it was made and
   * reaches those added after its position, so a pass sees every stream that stays open through it.
   */
  #cursor: Iterator<SseConnection> | null = null;

  constructor(streams: StudentStreams, options: HeartbeatOptions) {
    this.#streams = streams;
    this.#options = options;
  }

  /**
   * Checks up to `count` streams; returns true when it reached the end of the registry (the next
   * step starts a new pass).
   */
  step(count: number, now: number): boolean {
    this.#cursor ??= this.#streams.registry.all();
    for (let checked = 0; checked < count; checked++) {
      const next = this.#cursor.next();
      if (next.done) {
        this.#cursor = null;
        return true;
      }
      checkStream(this.#streams, next.value, this.#options, now);
    }
    return false;
  }
}

/**
 * How often each stream is checked: an eighth of the shorter of the heartbeat and staleness
 * periods, between 25 and 250 ms.
 */
export function sweepPeriodMs(options: HeartbeatOptions): number {
  return Math.max(
    PING_SLOT_MS,
    Math.min(250, Math.floor(Math.min(options.heartbeatMs, options.staleMs) / 8)),
  );
}

/**
 * Streams to check per tick of {@link PING_SLOT_MS} so that each is checked about every
 * `periodMs` (at least one per tick while there are any).
 *
 * @example
 * ```ts
 * sweepSliceSize(10_000, 250); // 1000
 * ```
 */
export function sweepSliceSize(streamCount: number, periodMs: number): number {
  return Math.ceil((streamCount * PING_SLOT_MS) / periodMs);
}

/**
 * Starts the heartbeat; returns a function that stops it.
 *
 * @example
 * ```ts
 * const stop = startHeartbeat(streams, { heartbeatMs: 15_000, staleMs: 30_000 });
 * ```
 */
export function startHeartbeat(streams: StudentStreams, options: HeartbeatOptions): () => void {
  const now = options.now ?? Date.now;
  const periodMs = sweepPeriodMs(options);
  const refreshMs = options.trackingRefreshMs ?? 60_000;
  const sweep = new StreamSweep(streams, options);
  let refreshedAt = now();
  // Every PING_SLOT_MS: the pings due (10,000 streams at 15 s: ~17 per slot) and a slice of the
  // checks (10,000 streams every 250 ms: 1,000 per slot), so a mark never waits behind a long
  // burst of writes or checks.
  const tick = setInterval(() => {
    const at = now();
    streams.pingDue(at);
    sweep.step(sweepSliceSize(streams.registry.size, periodMs), at);
    if (at - refreshedAt >= refreshMs) {
      refreshedAt = at;
      streams.tracker.heartbeat(streams.tracked()).catch((error) =>
        console.error("connection tracking refresh failed:", error?.message ?? error)
      );
    }
  }, PING_SLOT_MS);
  return () => clearInterval(tick);
}
