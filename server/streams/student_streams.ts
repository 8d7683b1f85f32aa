/**
 * Opening a student's stream: capacity checks, tracking, subscription, replay; and ending every
 * stream on shutdown. The HTTP route only authenticates and calls {@link StudentStreams.open}.
 *
 * @module
 */

import { type Bus, classChannel, studentChannel } from "../bus/bus.ts";
import { compareEventIds, parseEventId } from "../event_id.ts";
import { feedEvent } from "../events.ts";
import { RateLimitedError, UnavailableError } from "../errors.ts";
import type { ConnectRateLimiter } from "../limits/connect_rate_limiter.ts";
import { ChannelFanout } from "./channel_fanout.ts";
import { ConnectionRegistry } from "./connection_registry.ts";
import type { ConnectionTracker, TrackedConnection } from "./connection_tracker.ts";
import { SseConnection } from "./sse_connection.ts";
import { encodeUncheckedFrame } from "./sse_frame.ts";
import { freshPingTime, nextPingTime, PingSchedule } from "./ping_schedule.ts";

/** Width of a heartbeat slot: pings due within it go out together. */
export const PING_SLOT_MS = 25;

/**
 * Pings sent per {@link PING_SLOT_MS} at most: four times the steady rate of `streams` streams at
 * one ping per `periodMs` (at least 64), so a backlog after a stall drains within about a third of
 * the time the stall lasted, a few dozen writes at a time.
 *
 * @example
 * ```ts
 * pingsPerTake(10_000, 15_000); // 67
 * ```
 */
export function pingsPerTake(streams: number, periodMs: number): number {
  return Math.max(64, Math.ceil((4 * streams * PING_SLOT_MS) / periodMs));
}

/** Limits and timings of streams. */
export interface StreamSettings {
  instanceId: string;
  heartbeatMs: number;
  maxConnections: number;
  maxStreamsPerStudent: number;
  maxQueuedEvents: number;
  /** `retry:` hint sent on connect. */
  retryMs?: number;
}

/** Who opens a stream, and from where they resume. */
export interface StreamRequest {
  studentId: string;
  classId: string;
  expiresAt: number;
  /** `Last-Event-ID` (or `lastEventId`), when resuming. */
  lastEventId?: string;
}

/**
 * The streams of this instance.
 *
 * @example
 * ```ts
 * const streams = new StudentStreams({ bus, tracker, limiter, settings });
 * const connection = await streams.open({ studentId: "s-1", classId: "c-1", expiresAt });
 * return new Response(connection.body, { headers: SSE_HEADERS });
 * ```
 */
export class StudentStreams {
  readonly registry = new ConnectionRegistry();
  #pings = new PingSchedule<SseConnection>(PING_SLOT_MS);
  readonly fanout: ChannelFanout;
  readonly tracker: ConnectionTracker;
  #bus: Bus;
  #limiter: ConnectRateLimiter;
  #settings: StreamSettings;
  #tracked = new Map<string, TrackedConnection>();
  #draining = false;
  #pingParts = { at: -1, head: "", tail: "" };
  /** Streams being opened: counted against the cap before they are registered. */
  #opening = 0;

  constructor(deps: {
    bus: Bus;
    tracker: ConnectionTracker;
    limiter: ConnectRateLimiter;
    settings: StreamSettings;
    /** Called after each bus delivery was handed to its local streams (see ChannelFanout). */
    onDeliver?: () => void;
  }) {
    this.#bus = deps.bus;
    this.tracker = deps.tracker;
    this.#limiter = deps.limiter;
    this.#settings = deps.settings;
    this.fanout = new ChannelFanout(deps.bus, deps.onDeliver);
    this.tracker.onCloseRequest((id) => this.#closeReplaced(id));
  }

  /** The settings streams run with. */
  get settings(): StreamSettings {
    return this.#settings;
  }

  /** Tracking entries of local streams, for heartbeats. */
  tracked(): TrackedConnection[] {
    return [...this.#tracked.values()];
  }

  /** True once shutdown has begun: no new streams. */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Opens a stream: throws {@link UnavailableError} (503) or {@link RateLimitedError} (429) before
   * anything is sent. The returned connection already holds `retry:`, the first ping and the replay.
   */
  async open(request: StreamRequest): Promise<SseConnection> {
    if (this.#draining) {
      throw new UnavailableError("Cannot open stream: the server is shutting down", 2);
    }
    if (this.registry.size + this.#opening >= this.#settings.maxConnections) {
      throw new UnavailableError(
        "Cannot open stream: this instance is at its connection limit",
        10,
      );
    }
    this.#opening++;
    try {
      return await this.#open(request);
    } finally {
      this.#opening--;
    }
  }

  async #open(request: StreamRequest): Promise<SseConnection> {
    const decision = await this.#limiter.hit(request.studentId).catch(() => {
      throw new UnavailableError("Cannot open stream: rate limiter unavailable", 5);
    });
    if (!decision.allowed) {
      throw new RateLimitedError(
        "Cannot open stream: too many connection attempts, try again later",
        decision.retryAfterS,
      );
    }
    const connection = new SseConnection({
      id: crypto.randomUUID(),
      studentId: request.studentId,
      classId: request.classId,
      expiresAt: request.expiresAt,
      maxQueuedEvents: this.#settings.maxQueuedEvents,
    });
    const channels = [studentChannel(request.studentId), classChannel(request.classId)];
    connection.onEnd(() => {
      for (const channel of channels) this.fanout.leave(channel, connection);
    });
    const resuming = request.lastEventId !== undefined;
    if (resuming) connection.holdLive();
    const tracked: TrackedConnection = {
      id: connection.id,
      studentId: request.studentId,
      classId: request.classId,
      instanceId: this.#settings.instanceId,
      connectedAt: connection.connectedAt,
    };
    // Registered before tracking starts, so a stream that fails half-way is untracked too
    // (closing an entry that was never opened is harmless).
    connection.onEnd(() => {
      this.#tracked.delete(connection.id);
      this.tracker.close(tracked).catch((error) =>
        console.error("connection tracking cleanup failed:", error?.message ?? error)
      );
    });
    try {
      // Tracking and subscribing are independent: one round trip for both in Redis mode.
      const [evict] = await Promise.all([
        this.tracker.open(tracked, this.#settings.maxStreamsPerStudent),
        ...channels.map((channel) => this.fanout.join(channel, connection)),
      ]);
      this.#tracked.set(connection.id, tracked);
      this.registry.add(connection);
      connection.sendRetry(this.#settings.retryMs ?? 1000);
      // The second ping comes after a random 50-100 % of the period: streams opened together
      // (8 a.m., a redeploy) do not heartbeat together ever after.
      const openedAt = Date.now();
      this.ping(connection, openedAt, freshPingTime(openedAt, this.#settings.heartbeatMs));
      if (resuming) await this.#replay(connection, channels, request.lastEventId!);
      for (const id of evict) {
        this.tracker.requestClose(id).catch(() => {});
      }
      return connection;
    } catch (error) {
      connection.abort("server_error");
      if (error instanceof UnavailableError) throw error;
      console.error("cannot open stream:", (error as Error)?.message ?? error);
      throw new UnavailableError("Cannot open stream: event bus unavailable", 5);
    }
  }

  async #replay(connection: SseConnection, channels: string[], lastEventId: string): Promise<void> {
    const slice = await this.#bus.history(channels, lastEventId);
    if (slice.complete) {
      connection.replay(slice.events, slice.events.at(-1)?.id ?? lastEventId);
      return;
    }
    // A gap we cannot fill: say so, move the client's cursor to the head, and go live from there.
    const known = parseEventId(lastEventId) !== null &&
      compareEventIds(lastEventId, slice.headId) <= 0;
    const resync = feedEvent("resync", {
      reason: known ? "history_trimmed" : "unknown_id",
      lastEventId: slice.headId,
    });
    connection.replay(
      [{ id: slice.headId, channel: "", type: "resync", json: JSON.stringify(resync) }],
      slice.headId,
    );
  }

  /**
   * Sends one heartbeat to a stream and schedules the next at `nextAt` (default: a period from now).
   * The envelope's fixed parts are formatted once per instant, not once per stream.
   */
  ping(
    connection: SseConnection,
    now = Date.now(),
    nextAt = now + this.#settings.heartbeatMs,
  ): void {
    connection.nextPingAt = nextAt;
    this.#pings.add(connection);
    if (this.#pingParts.at !== now) {
      const at = new Date(now).toISOString();
      this.#pingParts = {
        at: now,
        head: `{"type":"ping","data":{"timestamp":"${at}","connectionId":"`,
        tail: `","heartbeatMs":${this.#settings.heartbeatMs}},"timestamp":"${at}"}`,
      };
    }
    // Every part is a single line by construction: an ISO time, a number, a server-made uuid.
    connection.sendEncoded(
      encodeUncheckedFrame("ping", this.#pingParts.head + connection.id + this.#pingParts.tail),
    );
  }

  /**
   * Pings the local streams whose heartbeat is due by `now`, looking only at those (see
   * {@link PingSchedule}); the heartbeat calls it every {@link PING_SLOT_MS}. Streams whose token
   * has expired are left to the sweep, which ends them.
   */
  pingDue(now = Date.now()): void {
    const periodMs = this.#settings.heartbeatMs;
    for (const connection of this.#pings.takeDue(now, pingsPerTake(this.registry.size, periodMs))) {
      if (connection.ended || connection.nextPingAt > now || connection.expiresAt <= now) continue;
      if (this.registry.get(connection.id) !== connection) continue;
      this.ping(connection, now, nextPingTime(connection.nextPingAt, now, periodMs));
    }
  }

  /** Tells every stream to reconnect after `retryAfterMs`, ends them, and refuses new ones. */
  drain(retryAfterMs: number): void {
    this.#draining = true;
    const json = JSON.stringify(
      feedEvent("close", { reason: "shutdown", reconnect: true, retryAfterMs }),
    );
    for (const connection of [...this.registry.all()]) {
      connection.end("shutdown", { event: "close", json });
    }
  }

  #closeReplaced(id: string): void {
    const connection = this.registry.get(id);
    if (!connection) return;
    const json = JSON.stringify(feedEvent("close", { reason: "replaced", reconnect: false }));
    connection.end("replaced", { event: "close", json });
  }
}
