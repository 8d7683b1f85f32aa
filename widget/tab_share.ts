/// <reference lib="dom" />
/**
 * One stream per student per browser: the tabs of a portal elect a leader with a Web Lock named
 * after the endpoint and the token's `sub`; the leader holds the stream and relays what it
 * receives over a BroadcastChannel of the same name. When the leader's tab closes, the browser
 * releases its lock and the next waiting tab is granted it at once and takes over.
 *
 * @module
 */

/** What tabs tell each other. */
export type TabMessage =
  | { kind: "event"; message: unknown }
  | { kind: "state"; status: unknown }
  | { kind: "read"; id: string }
  | { kind: "hello" };

/** Callbacks of {@link TabShare}. */
export interface TabShareOptions {
  /** This tab now holds the lock: open the stream. */
  onLeader(): void;
  /** A message from another tab. */
  onMessage(message: TabMessage): void;
}

/** Whether this browser can share a stream between tabs. */
export function canShareTabs(): boolean {
  return typeof BroadcastChannel === "function" &&
    typeof navigator !== "undefined" && typeof navigator.locks?.request === "function";
}

/**
 * Leader election plus relay for one key.
 *
 * @example
 * ```ts
 * const share = new TabShare("attendance-feed:https://feed.example:s-1", {
 *   onLeader: () => client.openStream(),
 *   onMessage: (m) => console.log(m),
 * });
 * share.start();
 * share.stop(); // releases the lock (another tab takes over) and closes the channel
 * ```
 */
export class TabShare {
  #key: string;
  #options: TabShareOptions;
  #channel?: BroadcastChannel;
  #abort?: AbortController;
  #release?: () => void;
  #leader = false;

  constructor(key: string, options: TabShareOptions) {
    this.#key = key;
    this.#options = options;
  }

  /** Whether this tab holds the stream. */
  get isLeader(): boolean {
    return this.#leader;
  }

  /** Joins the channel and queues for the lock. */
  start(): void {
    if (this.#channel) return;
    const channel = new BroadcastChannel(this.#key);
    channel.onmessage = (event: MessageEvent<TabMessage>) => this.#options.onMessage(event.data);
    this.#channel = channel;
    const abort = new AbortController();
    this.#abort = abort;
    navigator.locks.request(this.#key, { signal: abort.signal }, () => {
      if (abort.signal.aborted) return;
      this.#leader = true;
      // Held until stop(): the lock's lifetime is the leadership's.
      const held = new Promise<void>((resolve) => this.#release = resolve);
      // Outside the lock callback, so a throwing handler cannot end the leadership.
      queueMicrotask(() => this.#leader && this.#options.onLeader());
      return held;
    }).catch(() => {
      // AbortError when stop() withdrew a request that was still queued.
    });
    channel.postMessage({ kind: "hello" } satisfies TabMessage);
  }

  /** Sends to every other tab of this key. */
  post(message: TabMessage): void {
    this.#channel?.postMessage(message);
  }

  /** Leaves: releases the lock (or the queued request) and closes the channel. */
  stop(): void {
    this.#abort?.abort();
    this.#release?.();
    this.#release = undefined;
    this.#leader = false;
    this.#channel?.close();
    this.#channel = undefined;
  }
}
