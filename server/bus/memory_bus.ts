/**
 * In-process {@link Bus}: a bounded ring of history per channel and synchronous live delivery.
 *
 * @module
 */

import { compareEventIds, EventIdSequence, parseEventId } from "../event_id.ts";
import type {
  Bus,
  BusReadiness,
  Channel,
  Delivery,
  DeliveryListener,
  HistorySlice,
  Outgoing,
} from "./bus.ts";

/** Retention of each channel's history. */
export interface RetentionOptions {
  /** Events kept per channel (default 1000). */
  maxEvents?: number;
  /** Age after which events are dropped (default 24 h). */
  maxAgeMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface ChannelHistory {
  events: Delivery[];
  /** The newest id ever dropped from this channel: a cursor before it has a gap. */
  maxDeletedId: string;
}

/**
 * A {@link Bus} for one process.
 *
 * @example
 * ```ts
 * const bus = new MemoryBus();
 * const stop = await bus.subscribe("student:s-1", (d) => console.log(d.json));
 * await bus.publish([{ channel: "student:s-1", event: feedEvent("notification", n) }]);
 * ```
 */
export class MemoryBus implements Bus {
  #ids = new EventIdSequence();
  #listeners = new Map<Channel, Set<DeliveryListener>>();
  #histories = new Map<Channel, ChannelHistory>();
  #maxEvents: number;
  #maxAgeMs: number;
  #now: () => number;

  constructor(options: RetentionOptions = {}) {
    this.#maxEvents = options.maxEvents ?? 1000;
    this.#maxAgeMs = options.maxAgeMs ?? 24 * 60 * 60 * 1000;
    this.#now = options.now ?? Date.now;
  }

  publish(events: Outgoing[]): Promise<string[]> {
    const deliveries = events.map(({ channel, event }): Delivery => ({
      id: this.#ids.next(this.#now()),
      channel,
      type: event.type,
      json: JSON.stringify(event),
    }));
    for (const delivery of deliveries) this.#record(delivery);
    for (const delivery of deliveries) {
      for (const listener of this.#listeners.get(delivery.channel) ?? []) {
        try {
          listener(delivery);
        } catch (error) {
          console.error("bus listener failed:", error);
        }
      }
    }
    return Promise.resolve(deliveries.map((d) => d.id));
  }

  subscribe(channel: Channel, listener: DeliveryListener): Promise<() => void> {
    let listeners = this.#listeners.get(channel);
    if (!listeners) this.#listeners.set(channel, listeners = new Set());
    listeners.add(listener);
    return Promise.resolve(() => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(channel) === listeners) {
        this.#listeners.delete(channel);
      }
    });
  }

  history(channels: Channel[], afterId: string): Promise<HistorySlice> {
    const headId = this.#ids.last;
    const cursor = parseEventId(afterId);
    if (!cursor || compareEventIds(afterId, headId) > 0) {
      return Promise.resolve({ events: [], complete: false, headId });
    }
    let complete = true;
    const events: Delivery[] = [];
    for (const channel of channels) {
      const history = this.#histories.get(channel);
      if (!history) continue;
      this.#expire(history);
      if (afterId !== "0" && compareEventIds(afterId, history.maxDeletedId) < 0) complete = false;
      for (const delivery of history.events) {
        if (compareEventIds(delivery.id, afterId) > 0) events.push(delivery);
      }
    }
    events.sort((a, b) => compareEventIds(a.id, b.id));
    return Promise.resolve({ events, complete, headId });
  }

  readiness(): BusReadiness {
    return { ready: true };
  }

  close(): Promise<void> {
    this.#listeners.clear();
    return Promise.resolve();
  }

  #record(delivery: Delivery): void {
    let history = this.#histories.get(delivery.channel);
    if (!history) {
      this.#histories.set(delivery.channel, history = { events: [], maxDeletedId: "0" });
    }
    history.events.push(delivery);
    if (history.events.length > this.#maxEvents) {
      const dropped = history.events.splice(0, history.events.length - this.#maxEvents);
      history.maxDeletedId = dropped[dropped.length - 1].id;
    }
    this.#expire(history);
  }

  #expire(history: ChannelHistory): void {
    const oldestKept = this.#now() - this.#maxAgeMs;
    let drop = 0;
    while (drop < history.events.length && parseEventId(history.events[drop].id)!.ms < oldestKept) {
      drop++;
    }
    if (drop > 0) history.maxDeletedId = history.events.splice(0, drop)[drop - 1].id;
  }
}
