/// <reference lib="dom" />
/**
 * The element's side effects, as a Lit ReactiveController: it opens a feed client when the element
 * is connected, closes it (stream, timers, listeners) when it is removed, keeps the view model,
 * and fires the element's events.
 *
 * @module
 */

import type { ReactiveController, ReactiveControllerHost } from "lit";
import { createFeedClient, type FeedClient, type StateChange } from "./feed_client.ts";
import type { FeedMessage } from "./feed_stream.ts";
import {
  applyEvent,
  applySnapshot,
  emptyView,
  type FeedView,
  localDay,
  markViewRead,
} from "./feed_view.ts";

/** What the controller reads from its element. */
export interface FeedHost extends ReactiveControllerHost, EventTarget {
  endpoint?: string;
  token?: string;
  tokenUrl?: string;
}

/** Element event names by stream event type, and the window events of the earlier client. */
const EVENT_NAMES: Record<string, [string, string]> = {
  attendance_update: ["attendance-update", "sse-attendance-update"],
  metrics_update: ["metrics-update", "sse-metrics-update"],
  notification: ["notification", "sse-notification"],
};

/**
 * Connects a host element to the feed.
 *
 * @example
 * ```ts
 * class MyFeed extends LitElement {
 *   #feed = new FeedConnection(this);
 *   override willUpdate() { this.#feed.configure(); }
 * }
 * ```
 */
export class FeedConnection implements ReactiveController {
  #host: FeedHost;
  #client?: FeedClient;
  #opened?: string;
  #tick?: ReturnType<typeof setInterval>;
  /** What to show. */
  view: FeedView = emptyView(localDay(new Date()));
  /** The connection state and when it last changed. */
  status: StateChange = { state: "connecting" };
  /** Screen-reader text for the latest notification that arrived live. */
  announcement = "";
  statusAt = Date.now();

  constructor(host: FeedHost) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected(): void {
    this.configure();
  }

  hostDisconnected(): void {
    this.#client?.close();
    this.#client = undefined;
    this.#opened = undefined;
    this.#setTick(false);
  }

  /** (Re)opens the feed when the endpoint or token-url changed; passes a new token on. */
  configure(): void {
    const { endpoint = "", token, tokenUrl } = this.#host;
    const key = `${endpoint}\n${tokenUrl ?? ""}`;
    if (this.#client && this.#opened === key) {
      this.#client.setToken(token);
      return;
    }
    this.#client?.close();
    this.#client = undefined;
    this.#opened = key;
    if (!token && !tokenUrl) {
      this.#state({ state: "unauthorized", reason: "No token: set 'token' or 'token-url'" });
      return;
    }
    this.view = emptyView(localDay(new Date()));
    const client = this.#client = createFeedClient({
      endpoint,
      token,
      tokenUrl,
      onSnapshot: (snapshot) => {
        this.view = applySnapshot(snapshot, localDay(new Date()), Date.now());
        this.#host.requestUpdate();
      },
      onEvent: (message) => this.#event(message),
      onStateChange: (change) => this.#client === client && this.#state(change),
      onRead: (id) => {
        this.view = markViewRead(this.view, id);
        this.#host.requestUpdate();
      },
    });
    client.connect();
  }

  /** Marks a notification read here, in the other tabs and on the server. */
  async markRead(id: string): Promise<void> {
    this.view = markViewRead(this.view, id);
    this.#host.requestUpdate();
    await this.#client?.markRead(id);
  }

  #event(message: FeedMessage): void {
    this.view = applyEvent(this.view, message, Date.now());
    if (message.type === "notification") {
      this.announcement = `New notification: ${(message.data as { title?: string })?.title ?? ""}`;
    }
    this.#host.requestUpdate();
    const names = EVENT_NAMES[message.type];
    if (!names) return;
    const init = { detail: message.data, bubbles: true, composed: true };
    this.#host.dispatchEvent(new CustomEvent(names[0], init));
    globalThis.dispatchEvent?.(new CustomEvent(names[1], { detail: message.data }));
  }

  #state(change: StateChange): void {
    this.status = change;
    this.statusAt = Date.now();
    if (change.state === "live") this.view = { ...this.view, updatedAt: this.statusAt };
    this.#setTick(change.state === "reconnecting");
    this.#host.requestUpdate();
    this.#host.dispatchEvent(
      new CustomEvent("connection-state-change", { detail: change, bubbles: true, composed: true }),
    );
  }

  /** A one-second tick while a countdown ("reconnecting in N s") is shown. */
  #setTick(on: boolean): void {
    if (on && !this.#tick) this.#tick = setInterval(() => this.#host.requestUpdate(), 1000);
    if (!on && this.#tick) {
      clearInterval(this.#tick);
      this.#tick = undefined;
    }
  }
}
