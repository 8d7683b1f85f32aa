/**
 * The instance's one pub/sub connection, shared by the bus (live channels) and the connection
 * tracker (its control channel). Channels are reference-counted by handler; when the connection
 * comes back after an outage every channel that still has handlers is subscribed again and
 * `onRestore` listeners run (the bus then catches up on what it missed).
 *
 * @module
 */

import type { Redis } from "./client.ts";
import { TurnBatch } from "./turn_batch.ts";

/** Receives the raw message of one pub/sub channel. */
export type MessageHandler = (message: string) => void;

/** Channels per SUBSCRIBE command at most. */
const SUBSCRIBE_BATCH = 500;

/**
 * @example
 * ```ts
 * const subscriber = new RedisSubscriber(createRedisClient(url, { name: "sub" }));
 * const stop = await subscriber.subscribe("sse:live:class:c-1", (m) => console.log(m));
 * stop();
 * ```
 */
export class RedisSubscriber {
  readonly client: Redis;
  #handlers = new Map<string, Set<MessageHandler>>();
  /** Channels the server has acknowledged on the current connection. */
  #active = new Set<string>();
  #pending = new Map<string, Promise<void>>();
  #restoreListeners: Array<() => void> = [];
  #lostListeners: Array<() => void> = [];
  #closed = false;
  /** Channels subscribed to in one loop turn: one SUBSCRIBE. */
  #subscribing = new TurnBatch<string, void>(
    (channels) => this.client.subscribe(...channels).then(() => channels.map((): void => {})),
    SUBSCRIBE_BATCH,
  );

  constructor(client: Redis) {
    this.client = client;
    client.on("message", (channel: string, message: string) => {
      for (const handler of this.#handlers.get(channel) ?? []) {
        try {
          handler(message);
        } catch (error) {
          console.error("pub/sub handler failed:", error);
        }
      }
    });
    client.on("close", () => {
      if (this.#active.size === 0 && this.#pending.size === 0) return;
      this.#active.clear();
      for (const listener of this.#lostListeners) listener();
    });
    client.on("ready", () => this.#restore());
  }

  /** True while the connection is up. */
  get ready(): boolean {
    return this.client.status === "ready";
  }

  /** Runs after every restore of subscriptions following an outage. */
  onRestore(listener: () => void): void {
    this.#restoreListeners.push(listener);
  }

  /** Runs when the connection drops while subscriptions were held. */
  onLost(listener: () => void): void {
    this.#lostListeners.push(listener);
  }

  /**
   * Adds a handler; resolves once the server has acknowledged the channel. Rejects (and forgets the
   * handler) when the connection is down.
   */
  async subscribe(channel: string, handler: MessageHandler): Promise<() => void> {
    this.#add(channel, handler);
    try {
      await this.#ensure(channel);
    } catch (error) {
      this.#remove(channel, handler);
      throw error;
    }
    return () => this.#remove(channel, handler);
  }

  /** Adds a handler that stays registered across outages: subscribed now if possible, else later. */
  listen(channel: string, handler: MessageHandler): () => void {
    this.#add(channel, handler);
    this.#ensure(channel).catch(() => {/* restored on the next `ready` */});
    return () => this.#remove(channel, handler);
  }

  /**
   * Resolves once the server has acknowledged `channel` on the current connection (subscribing it
   * if it is not); rejects when the connection is down. For a channel held with {@link listen}.
   */
  whenActive(channel: string): Promise<void> {
    return this.#ensure(channel);
  }

  /** Forgets every handler; the caller closes the client. */
  close(): void {
    this.#closed = true;
    this.#handlers.clear();
    this.#restoreListeners = [];
    this.#lostListeners = [];
  }

  #add(channel: string, handler: MessageHandler): void {
    let handlers = this.#handlers.get(channel);
    if (!handlers) this.#handlers.set(channel, handlers = new Set());
    handlers.add(handler);
  }

  #remove(channel: string, handler: MessageHandler): void {
    const handlers = this.#handlers.get(channel);
    if (!handlers?.delete(handler) || handlers.size > 0) return;
    this.#handlers.delete(channel);
    if (this.#active.delete(channel) && this.ready) {
      this.client.unsubscribe(channel).catch(() => {/* gone with the connection */});
    }
  }

  #ensure(channel: string): Promise<void> {
    if (this.#active.has(channel)) return Promise.resolve();
    let pending = this.#pending.get(channel);
    if (!pending) {
      pending = this.#subscribing.add(channel).then(() => {
        this.#active.add(channel);
        // Every handler left while the subscription was on its way: give it back.
        if (!this.#handlers.has(channel) && this.#active.delete(channel)) {
          this.client.unsubscribe(channel).catch(() => {/* gone with the connection */});
        }
      }).finally(() => this.#pending.delete(channel));
      this.#pending.set(channel, pending);
    }
    return pending;
  }

  async #restore(): Promise<void> {
    if (this.#closed) return;
    const channels = [...this.#handlers.keys()].filter((c) => !this.#active.has(c));
    if (channels.length === 0) return;
    try {
      await this.client.subscribe(...channels);
    } catch (error) {
      console.error("pub/sub restore failed, reconnecting:", (error as Error)?.message ?? error);
      // A fresh connection (after the client's backoff) brings another `ready` and another try.
      if (!this.#closed) this.client.disconnect(true);
      return;
    }
    for (const channel of channels) this.#active.add(channel);
    for (const listener of this.#restoreListeners) listener();
  }
}
