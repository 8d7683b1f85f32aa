/**
 * Fans bus deliveries out to local streams. One bus subscription per channel per instance,
 * reference-counted by the local streams that need it; each delivery's frame is encoded once.
 *
 * @module
 */

import type { Bus, Channel, Delivery } from "../bus/bus.ts";
import type { SseConnection } from "./sse_connection.ts";

interface ChannelEntry {
  members: Set<SseConnection>;
  /** Resolves to the bus unsubscribe function once the subscription is active. */
  subscribed: Promise<() => void>;
}

/**
 * @example
 * ```ts
 * const fanout = new ChannelFanout(bus);
 * await fanout.join("class:c-1", connection);
 * fanout.leave("class:c-1", connection);
 * ```
 */
export class ChannelFanout {
  #bus: Bus;
  #channels = new Map<Channel, ChannelEntry>();
  #onDeliver: () => void;

  /** @param onDeliver called after each delivery was handed to the channel's streams. */
  constructor(bus: Bus, onDeliver: () => void = () => {}) {
    this.#bus = bus;
    this.#onDeliver = onDeliver;
  }

  /** Number of channels with a live bus subscription on this instance. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** Adds a stream to a channel; resolves once the channel's bus subscription is active. */
  async join(channel: Channel, connection: SseConnection): Promise<void> {
    let entry = this.#channels.get(channel);
    if (!entry) {
      const members = new Set<SseConnection>();
      entry = {
        members,
        subscribed: this.#bus.subscribe(channel, (delivery) => {
          deliverAll(members, delivery);
          this.#onDeliver();
        }),
      };
      this.#channels.set(channel, entry);
      entry.subscribed.catch(() => {
        if (this.#channels.get(channel) === entry) this.#channels.delete(channel);
      });
    }
    entry.members.add(connection);
    try {
      await entry.subscribed;
    } catch (error) {
      entry.members.delete(connection);
      throw error;
    }
  }

  /** Removes a stream; the last one out ends the bus subscription. */
  leave(channel: Channel, connection: SseConnection): void {
    const entry = this.#channels.get(channel);
    if (!entry || !entry.members.delete(connection) || entry.members.size > 0) return;
    this.#channels.delete(channel);
    entry.subscribed.then((unsubscribe) => unsubscribe(), () => {});
  }
}

/** The first member to write the delivery encodes its frame; the rest reuse those bytes. */
function deliverAll(members: Set<SseConnection>, delivery: Delivery): void {
  for (const connection of members) connection.deliver(delivery);
}
