/**
 * The bus: records events in per-channel history and delivers them live.
 *
 * Two implementations: {@link MemoryBus} (one process) and `RedisBus` (many instances).
 * A shared contract test (tests/bus/bus_contract_test.ts) runs against both.
 *
 * @module
 */

import type { FeedEvent } from "../events.ts";

/** A channel name, built only by {@link studentChannel} and {@link classChannel}. */
export type Channel = string;

/** The channel of one student's own events. */
export function studentChannel(studentId: string): Channel {
  return `student:${studentId}`;
}

/** The channel of a class's broadcasts. */
export function classChannel(classId: string): Channel {
  return `class:${classId}`;
}

/** How long a channel's events are kept for replay unless configured (`HISTORY_MAX_AGE_MS`): 24 h. */
export const DEFAULT_HISTORY_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** An event to record and deliver on one channel. */
export interface Outgoing {
  channel: Channel;
  event: FeedEvent;
}

/**
 * A recorded event as subscribers and replay see it. `json` is the serialized envelope, produced
 * once at publish time; `frame` caches the encoded SSE bytes so that fan-out encodes once per
 * instance, not once per recipient.
 */
export interface Delivery {
  id: string;
  channel: Channel;
  type: string;
  json: string;
  frame?: Uint8Array;
}

/** What history holds after a cursor. */
export interface HistorySlice {
  /** Events after the cursor across the requested channels, in id order. */
  events: Delivery[];
  /**
   * False when events after the cursor may have been dropped (trimmed by retention) or the cursor is
   * unknown: the caller must tell the client to resync instead of replaying a gap.
   */
  complete: boolean;
  /** The latest id issued by this bus when the slice was read ("0" when none). */
  headId: string;
}

/** Called for each live delivery, synchronously and in id order per channel. */
export type DeliveryListener = (delivery: Delivery) => void;

/** Health of the bus, for /readyz. */
export interface BusReadiness {
  ready: boolean;
  reason?: string;
}

/** Thrown when an event cannot be recorded; mapped to 503 by the app. */
export class BusUnavailableError extends Error {
  override name = "BusUnavailableError";
}

/**
 * Contract:
 * - `publish` records every event of one call atomically, with increasing ids in call order, and
 *   resolves with those ids only once recorded; it rejects with {@link BusUnavailableError} when it
 *   cannot record. Live delivery is best-effort after recording (replay recovers the rest).
 * - Ids are issued from one sequence across all channels (see server/event_id.ts), so one cursor
 *   covers several channels.
 * - `subscribe` resolves once the subscription is active: any event published after it resolves is
 *   delivered to the listener, in id order. Callers reference-count; the bus need not.
 * - `history` is bounded by the implementation's retention (count and age).
 */
export interface Bus {
  publish(events: Outgoing[]): Promise<string[]>;
  subscribe(channel: Channel, listener: DeliveryListener): Promise<() => void>;
  history(channels: Channel[], afterId: string): Promise<HistorySlice>;
  readiness(): BusReadiness;
  close(): Promise<void>;
}
