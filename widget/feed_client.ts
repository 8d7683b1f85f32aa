/**
 * `createFeedClient`: the whole connection logic, framework-free — snapshot, stream with
 * Last-Event-ID, dedupe, backoff, watchdog, token renewal and one shared stream per student across
 * tabs. `<attendance-feed>` is built on it; portals that draw their own UI use it directly.
 *
 * @module
 */

import {
  type ConnectionInput,
  type ConnectionStatus,
  INITIAL_STATUS,
  transition,
} from "./connection_state.ts";
import { FeedCursor } from "./feed_cursor.ts";
import { localDay } from "./feed_view.ts";
import { type FeedMessage, readFeedStream } from "./feed_stream.ts";
import { afterClose, afterError, type Recovery } from "./recovery.ts";
import { loadSnapshot, markNotificationRead } from "./snapshot.ts";
import { canShareTabs, type TabMessage, TabShare } from "./tab_share.ts";
import { decodeClaims, TokenSource } from "./token_source.ts";
import {
  type Clock,
  type CloseData,
  type FeedClient,
  type FeedClientOptions,
  type StateChange,
  systemClock,
} from "./feed_options.ts";

export type { Clock, FeedClient, FeedClientOptions, StateChange };

const DEFAULT_HEARTBEAT_MS = 15_000;

/**
 * Creates a feed client; nothing happens until `connect()`.
 *
 * @example
 * ```ts
 * const feed = createFeedClient({
 *   endpoint: "https://feed.school.example",
 *   tokenUrl: "/portal/feed-token",
 *   onEvent: (e) => console.log(e.type, e.data),
 *   onStateChange: ({ state }) => console.log(state),
 * });
 * feed.connect();
 * ```
 */
export function createFeedClient(options: FeedClientOptions): FeedClient {
  return new Feed(options);
}

class Feed implements FeedClient {
  #o: FeedClientOptions;
  #clock: Clock;
  #tokens: TokenSource;
  #status: ConnectionStatus = INITIAL_STATUS;
  #role: "idle" | "follower" | "leader" = "idle";
  #share?: TabShare;
  #sub?: string;
  #gen = 0;
  #closed = true;
  #abort?: AbortController;
  #retryTimer?: number;
  #watchdog?: number;
  #heartbeatMs = DEFAULT_HEARTBEAT_MS;
  #cursor: FeedCursor;
  #snapshotLoaded = false;
  #snapshotLoading?: Promise<void>;
  #closeFrame?: CloseData;
  #renewed = false;
  /** Aborted by close(): snapshot loads outlive single attempts (a retry reuses one in flight). */
  #lifetime = new AbortController();
  #onOnline = () => {
    if (this.#role !== "follower" && this.#input({ type: "online" })) void this.#attempt();
  };
  #onOffline = () => {
    if (this.#role === "follower") return;
    this.#stopAttempt();
    this.#input({ type: "offline", reason: "browser_offline" });
  };

  constructor(options: FeedClientOptions) {
    this.#o = { ...options, endpoint: options.endpoint.replace(/\/+$/, "") };
    this.#clock = options.clock ?? systemClock;
    this.#tokens = new TokenSource({
      token: options.token,
      tokenUrl: options.tokenUrl,
      fetch: options.fetch,
      now: () => this.#clock.now(),
    });
    this.#cursor = new FeedCursor((message) => this.#o.onEvent?.(message));
  }

  get status(): StateChange {
    const { state, retryInMs, reason } = this.#status;
    return { state, retryInMs, reason };
  }
  get lastEventId(): string | undefined {
    return this.#cursor.lastEventId;
  }
  get isLeader(): boolean {
    return this.#role === "leader";
  }

  connect(): void {
    if (!this.#closed) return;
    this.#closed = false;
    this.#lifetime = new AbortController();
    globalThis.addEventListener?.("online", this.#onOnline);
    globalThis.addEventListener?.("offline", this.#onOffline);
    this.#status = INITIAL_STATUS;
    void this.#attempt();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopAttempt();
    this.#lifetime.abort();
    globalThis.removeEventListener?.("online", this.#onOnline);
    globalThis.removeEventListener?.("offline", this.#onOffline);
    this.#share?.stop();
    this.#share = undefined;
    this.#role = "idle";
    this.#input({ type: "offline", reason: "closed" });
  }

  setToken(token: string | undefined): void {
    this.#tokens.set(token);
    if (this.#closed) return;
    const sub = token ? decodeClaims(token)?.sub : undefined;
    if (this.#sub !== undefined && sub !== undefined && sub !== this.#sub) {
      // Another student: nothing of the old feed (cursor, snapshot, tab group) carries over.
      this.close();
      this.#cursor = new FeedCursor((message) => this.#o.onEvent?.(message));
      this.#snapshotLoaded = false;
      this.connect();
    } else if (this.#input({ type: "token_changed" })) {
      void this.#attempt();
    }
  }

  async markRead(id: string): Promise<void> {
    await this.#tokens.withToken((token) =>
      markNotificationRead(this.#o.endpoint, token, id, { fetch: this.#o.fetch })
    );
    this.#share?.post({ kind: "read", id });
  }

  /** Applies a state-machine input; emits and relays a change. True when now `connecting`. */
  #input(input: ConnectionInput): boolean {
    const before = this.#status;
    this.#status = transition(before, input, { random: this.#o.random });
    const after = this.#status;
    if (after.state !== before.state || after.retryInMs !== before.retryInMs) {
      this.#o.onStateChange?.(this.status);
      if (this.#role === "leader") this.#share?.post({ kind: "state", status: this.status });
    }
    return after.state === "connecting" && before.state !== "connecting";
  }

  #stopAttempt(): void {
    this.#gen++;
    this.#abort?.abort();
    this.#abort = undefined;
    this.#clock.clearTimeout(this.#retryTimer!);
    this.#clock.clearTimeout(this.#watchdog!);
  }

  async #attempt(): Promise<void> {
    if (this.#closed || this.#role === "follower") return;
    this.#stopAttempt();
    const gen = this.#gen;
    const abort = this.#abort = new AbortController();
    this.#input({ type: "connect" });
    try {
      const token = await this.#tokens.get();
      if (gen !== this.#gen) return;
      if (this.#role === "idle" && this.#join(token)) return;
      if (!this.#snapshotLoaded) await this.#loadSnapshot(token);
      if (gen !== this.#gen) return;
      this.#armWatchdog(abort);
      await readFeedStream({
        url: `${this.#o.endpoint}/api/students/notifications/sse`,
        token,
        lastEventId: this.#cursor.lastEventId,
        signal: abort.signal,
        fetch: this.#o.fetch,
        onMessage: (message) => gen === this.#gen && this.#receive(message, abort),
        onRetry: (ms) => this.#input({ type: "retry_hint", ms }),
      });
      const close = this.#closeFrame;
      this.#closeFrame = undefined;
      if (gen === this.#gen) this.#recover(afterClose(close));
    } catch (error) {
      if (gen === this.#gen) this.#recover(afterError(error));
    }
  }

  /** Decides this tab's role; true when another tab holds the stream. */
  #join(token: string): boolean {
    this.#sub = decodeClaims(token)?.sub;
    if (this.#o.shareTabs === false || !this.#sub || !canShareTabs()) {
      this.#role = "leader";
      return false;
    }
    this.#role = "follower";
    this.#share = new TabShare(`attendance-feed:${this.#o.endpoint}:${this.#sub}`, {
      onLeader: () => {
        this.#role = "leader";
        this.#status = { ...this.#status, attempt: 0 };
        void this.#attempt();
      },
      onMessage: (message) => this.#relayed(message),
    });
    this.#share.start();
    this.#loadSnapshot(token).catch(() => this.#snapshotLoaded = false);
    return true;
  }

  #relayed(message: TabMessage): void {
    if (message.kind === "read") this.#o.onRead?.(message.id);
    else if (message.kind === "hello" && this.#role === "leader") {
      this.#share?.post({ kind: "state", status: this.status });
    } else if (this.#role === "follower" && message.kind === "event") {
      this.#receive(message.message as FeedMessage);
    } else if (this.#role === "follower" && message.kind === "state") {
      const { state, retryInMs, reason } = message.status as StateChange;
      this.#status = { ...this.#status, state, retryInMs, reason };
      this.#o.onStateChange?.(this.status);
    }
  }

  #loadSnapshot(token: string): Promise<void> {
    if (this.#snapshotLoading) return this.#snapshotLoading;
    const cursor = this.#cursor;
    cursor.hold();
    const date = localDay(new Date(this.#clock.now()));
    const signal = this.#lifetime.signal;
    const loading = loadSnapshot(this.#o.endpoint, token, { fetch: this.#o.fetch, signal, date })
      .then((snapshot) => {
        this.#snapshotLoaded = true;
        // No snapshot route (an older server): replay all retained history rather than risk a gap.
        if (!snapshot) cursor.lastEventId ??= "0";
        cursor.release(snapshot, this.#o.onSnapshot);
      }, (error) => {
        cursor.release(null);
        throw error;
      })
      .finally(() => this.#snapshotLoading = undefined);
    return this.#snapshotLoading = loading;
  }

  #receive(message: FeedMessage, abort?: AbortController): void {
    if (message.type === "ping") {
      const period = (message.data as { heartbeatMs?: unknown })?.heartbeatMs;
      if (typeof period === "number" && period > 0) this.#heartbeatMs = period;
    }
    if (abort) {
      // Any frame, a ping included, proves the stream alive.
      this.#armWatchdog(abort);
      if (this.#status.state !== "live") this.#renewed = false;
      this.#input({ type: "live", now: this.#clock.now() });
    }
    if (message.type === "ping") return;
    if (message.type === "close") {
      this.#closeFrame = message.data as CloseData;
      return;
    }
    if (this.#role === "leader") this.#share?.post({ kind: "event", message });
    if (!this.#cursor.accept(message) || message.type !== "resync") return;
    // The cursor was unusable: the server moved it to its head; reload the snapshot.
    this.#snapshotLoaded = false;
    this.#tokens.get().then((t) => this.#loadSnapshot(t)).catch(() => {});
  }

  #armWatchdog(abort: AbortController): void {
    this.#clock.clearTimeout(this.#watchdog!);
    this.#watchdog = this.#clock.setTimeout(() => abort.abort(), 2 * this.#heartbeatMs);
  }

  /** Acts on a {@link Recovery} decision. */
  #recover(recovery: Recovery): void {
    this.#clock.clearTimeout(this.#watchdog!);
    if (recovery.action === "renew") void this.#renewAndRetry(recovery.reason);
    else if (recovery.action === "retry") this.#retryLater(recovery.minDelayMs);
    else {
      this.#stopAttempt();
      this.#input(recovery.input);
    }
  }

  /** A refused or expired token: one renewal through token-url, else `unauthorized`. */
  async #renewAndRetry(reason: string): Promise<void> {
    if (!this.#tokens.canRefresh || this.#renewed) {
      this.#input({ type: "unauthorized", reason });
      return;
    }
    this.#renewed = true;
    const gen = this.#gen;
    try {
      await this.#tokens.refresh();
      if (gen === this.#gen) void this.#attempt();
    } catch (error) {
      if (gen === this.#gen) this.#recover(afterError(error));
    }
  }

  #retryLater(minDelayMs?: number): void {
    this.#input({ type: "dropped", now: this.#clock.now(), minDelayMs });
    this.#clock.clearTimeout(this.#retryTimer!);
    this.#retryTimer = this.#clock.setTimeout(() => this.#attempt(), this.#status.retryInMs!);
  }
}
