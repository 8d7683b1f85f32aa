/**
 * One client's event stream: a byte queue with a bound, replay-then-live ordering, and a single
 * exit path that always cleans up.
 *
 * @module
 */

import type { Delivery } from "../bus/bus.ts";
import { compareEventIds } from "../event_id.ts";
import type { CloseReason } from "../events.ts";
import { encodeFrame, encodeRetry } from "./sse_frame.ts";

/** Why a connection ended; the registry and logs see this. */
export type EndReason = CloseReason | "client_closed" | "stale" | "too_slow";

/** Identity and limits of one stream. */
export interface SseConnectionOptions {
  id: string;
  studentId: string;
  classId: string;
  /** Token expiry, ms since epoch: the stream ends itself then. */
  expiresAt: number;
  /** Unsent frames allowed before the client counts as too slow and is cut off. */
  maxQueuedEvents: number;
  /** Live deliveries held while the replay is read; more than this cuts the client off. */
  maxReplayBuffer?: number;
  now?: () => number;
}

/**
 * The stream behind one SSE response. The fan-out calls {@link SseConnection.deliver} with events
 * whose frame bytes are already encoded; this class only enqueues them.
 */
export class SseConnection {
  readonly id: string;
  readonly studentId: string;
  readonly classId: string;
  readonly expiresAt: number;
  readonly connectedAt: number;
  /** The response body. */
  readonly body: ReadableStream<Uint8Array>;
  /** When the next heartbeat is due (ms since epoch), kept by the heartbeat sweep. */
  nextPingAt = 0;

  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #ended: EndReason | null = null;
  #onEnd: Array<(reason: EndReason) => void> = [];
  #maxQueuedEvents: number;
  #maxReplayBuffer: number;
  #now: () => number;
  /** Live deliveries held back while replaying; null once live. */
  #held: Delivery[] | null = null;
  /** Drop live deliveries up to this id (already replayed); cleared once one passes. */
  #skipThrough: string | null = null;
  /** Frames enqueued so far; with the queue length it tells how many the client has taken. */
  #written = 0;
  /** Frames taken by the client at the last progress check. */
  #takenAtCheck = 0;
  /**
   * Since when frames have waited without the client taking any (ms since epoch); -1 while it
   * keeps up. Only a check that finds frames waiting sets a time, so a sweep over 10,000
   * caught-up streams boxes none (it used to, per stream per tick: ~0.4 MB/s of garbage).
   */
  #waitingSince = -1;
  /**
   * Frames enqueued when a check last found the queue empty (-1: none has yet). Only our writes
   * add to the queue, so while the count is unchanged it is still empty and the check need not ask
   * the stream's controller (a WebIDL getter: most of what a sweep over 10,000 idle streams cost).
   */
  #writtenWhenEmpty = -1;

  constructor(options: SseConnectionOptions) {
    this.id = options.id;
    this.studentId = options.studentId;
    this.classId = options.classId;
    this.expiresAt = options.expiresAt;
    this.#maxQueuedEvents = options.maxQueuedEvents;
    this.#maxReplayBuffer = options.maxReplayBuffer ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.connectedAt = this.#now();
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      // No pull() and no size(): either would add a callback (and promise work) per frame per
      // stream on the fan-out path. Queue length and progress are sampled instead.
      cancel: () => this.#finish("client_closed"),
    });
  }

  /** True once the stream has ended for any reason. */
  get ended(): boolean {
    return this.#ended !== null;
  }

  /** Frames enqueued but not yet taken by the client. */
  get queuedEvents(): number {
    // Default strategy: desiredSize = highWaterMark (1) - queued chunks.
    const desired = this.#controller.desiredSize;
    return desired === null ? 0 : Math.max(0, 1 - desired);
  }

  /** Registers cleanup; runs once, with the reason, whichever way the stream ends. */
  onEnd(callback: (reason: EndReason) => void): void {
    if (this.#ended) callback(this.#ended);
    else this.#onEnd.push(callback);
  }

  /**
   * Samples progress (the heartbeat sweep calls it every tick): true when frames have waited in
   * the queue and the client has taken none of them for at least `staleMs`.
   */
  isStale(staleMs: number, now = this.#now()): boolean {
    if (this.#written === this.#writtenWhenEmpty) return false;
    const queued = this.queuedEvents;
    if (queued === 0) {
      this.#writtenWhenEmpty = this.#written;
      this.#waitingSince = -1;
      return false;
    }
    const taken = this.#written - queued;
    if (this.#waitingSince === -1 || taken !== this.#takenAtCheck) {
      this.#takenAtCheck = taken;
      this.#waitingSince = now;
      return false;
    }
    return now - this.#waitingSince >= staleMs;
  }

  /** Sends the `retry:` hint. */
  sendRetry(ms: number): void {
    this.#write(encodeRetry(ms));
  }

  /** Sends a frame that is not part of history (ping, close). */
  sendControl(event: string, json: string): void {
    this.#write(encodeFrame({ event, data: json }));
  }

  /** Enqueues a frame that is already encoded (see `encodeUncheckedFrame`). */
  sendEncoded(frame: Uint8Array): void {
    this.#write(frame);
  }

  /** Starts holding live deliveries until {@link SseConnection.replay} runs. */
  holdLive(): void {
    this.#held ??= [];
  }

  /**
   * Writes replayed events (in id order), then the held live ones not already replayed, and goes
   * live. `events` may start with a control event such as `resync`.
   */
  replay(events: Delivery[], skipThrough: string | null): void {
    for (const delivery of events) this.#writeDelivery(delivery);
    const held = this.#held ?? [];
    this.#held = null;
    this.#skipThrough = skipThrough;
    for (const delivery of held) this.deliver(delivery);
  }

  /** Delivers one live event: held during replay, dropped if already replayed. */
  deliver(delivery: Delivery): void {
    if (this.#ended) return;
    if (this.#held) {
      if (this.#held.length >= this.#maxReplayBuffer) this.#finish("too_slow");
      else this.#held.push(delivery);
      return;
    }
    if (this.#skipThrough !== null) {
      if (compareEventIds(delivery.id, this.#skipThrough) <= 0) return;
      this.#skipThrough = null;
    }
    this.#writeDelivery(delivery);
  }

  /** Ends the stream after a final frame (if given) has been queued. */
  end(reason: EndReason, finalFrame?: { event: string; json: string }): void {
    if (this.#ended) return;
    if (finalFrame) this.sendControl(finalFrame.event, finalFrame.json);
    if (this.#ended) return;
    try {
      this.#controller.close();
    } catch {
      // Already closed by the reader side.
    }
    this.#finish(reason);
  }

  /**
   * Cuts the stream off at once, dropping whatever is queued. When the client is already gone
   * there is nothing to cut, so the stream just closes.
   */
  abort(reason: EndReason): void {
    if (this.#ended) return;
    try {
      if (reason === "client_closed") this.#controller.close();
      // Deno's server logs the error value as is: a plain string makes it a one-line log entry.
      else this.#controller.error(`attendance-feed: stream ${this.id} cut off (${reason})`);
    } catch {
      // Already errored or closed.
    }
    this.#finish(reason);
  }

  #writeDelivery(delivery: Delivery): void {
    delivery.frame ??= encodeFrame({ id: delivery.id, event: delivery.type, data: delivery.json });
    this.#write(delivery.frame);
  }

  /** The hot path of fan-out: one check of the queue, one enqueue. */
  #write(bytes: Uint8Array): void {
    if (this.#ended) return;
    // desiredSize = highWaterMark (1) - queued frames.
    if (1 - this.#controller.desiredSize! > this.#maxQueuedEvents) {
      // A client that cannot keep up is cut off rather than buffered without limit.
      this.abort("too_slow");
      return;
    }
    try {
      this.#controller.enqueue(bytes);
    } catch {
      this.#finish("client_closed");
      return;
    }
    this.#written++;
  }

  #finish(reason: EndReason): void {
    if (this.#ended) return;
    this.#ended = reason;
    this.#held = null;
    const callbacks = this.#onEnd;
    this.#onEnd = [];
    for (const callback of callbacks) {
      try {
        callback(reason);
      } catch (error) {
        console.error("stream cleanup failed:", error);
      }
    }
  }
}
