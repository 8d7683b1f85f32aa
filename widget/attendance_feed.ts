/// <reference lib="dom" />
/**
 * `<attendance-feed>`: a student's attendance, metrics and notifications, live.
 *
 * @module
 */

import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from "lit";
import type { ConnectionState } from "./connection_state.ts";
import type { StateChange } from "./feed_client.ts";
import { FeedConnection } from "./feed_connection.ts";
import { safeLink, unreadCount } from "./feed_view.ts";
import type { AttendancePayload, MetricsPayload, StoredNotification } from "./snapshot.ts";
import { feedStyles } from "./styles.ts";

const STATUS_LABELS: Record<string, string> = {
  PRESENT: "Present",
  ABSENT: "Absent",
  SICK: "Sick",
  LEAVE: "Leave",
};
const TRENDS: Record<string, [string, string]> = {
  improving: ["↑", "improving"],
  declining: ["↓", "declining"],
  stable: ["→", "stable"],
};

/**
 * A student's live attendance feed.
 *
 * @example
 * ```html
 * <script type="module" src="https://feed.school.example/widget.js"></script>
 * <attendance-feed endpoint="https://feed.school.example" token-url="/portal/feed-token">
 * </attendance-feed>
 * ```
 *
 * @attr endpoint - the service's base URL (default: the page's origin)
 * @attr token - a student JWT (or set the `token` property)
 * @attr token-url - a portal URL answering `{"token": "..."}`, fetched with credentials
 * @attr lang - language for dates and numbers (default: the page's)
 * @fires attendance-update - `detail`: the attendance_update payload
 * @fires metrics-update - `detail`: the metrics_update payload
 * @fires notification - `detail`: the notification payload
 * @fires connection-state-change - `detail`: `{state, retryInMs?, reason?}`
 * @csspart status - the connection indicator (also `live`, `reconnecting`, … as extra parts)
 * @csspart updated - the "updated at" time
 * @csspart records - today's list; `record` each entry; `chip` its status; `correction` its note
 * @csspart metrics - the metrics list
 * @csspart notifications - the list; `notification` each; `badge` the unread count
 * @csspart mark-read - each "Mark as read" button
 * @cssproperty --attendance-feed-background - and -color, -muted-color, -border-color,
 *   -accent-color, -on-accent-color, -present-color/-background, -absent-…, -sick-…, -leave-…,
 *   -radius, -font, -max-width (see docs/WIDGET.md)
 */
export class AttendanceFeed extends LitElement {
  static override properties = {
    endpoint: { type: String },
    token: { type: String },
    tokenUrl: { type: String, attribute: "token-url" },
    lang: { type: String, reflect: true },
  };
  static override styles = feedStyles;
  static override shadowRootOptions = { ...LitElement.shadowRootOptions, mode: "open" as const };

  declare endpoint?: string;
  declare token?: string;
  declare tokenUrl?: string;
  declare lang: string;

  #feed = new FeedConnection(this);

  /** The connection state: connecting, live, reconnecting, offline or unauthorized. */
  get connectionState(): ConnectionState {
    return this.#feed.status.state;
  }

  /** The state with the retry delay and reason. */
  get connectionStatus(): StateChange {
    return this.#feed.status;
  }

  /** Unread notifications. */
  get unreadCount(): number {
    return unreadCount(this.#feed.view);
  }

  /** Marks a notification read (here, in other tabs and on the server). */
  markRead(id: string): Promise<void> {
    return this.#feed.markRead(id);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("endpoint") || changed.has("token") || changed.has("tokenUrl")) {
      this.#feed.configure();
    }
  }

  #locale(): string | undefined {
    return this.lang || document.documentElement.lang || undefined;
  }

  #time(ms: number | string | undefined): string {
    if (ms === undefined) return "";
    const date = new Date(ms);
    if (Number.isNaN(date.getTime())) return "";
    return new Intl.DateTimeFormat(this.#locale(), { hour: "numeric", minute: "2-digit" })
      .format(date);
  }

  override render(): TemplateResult {
    const { view } = this.#feed;
    return html`
      <header>
        <h2>Attendance</h2>
        ${this.#renderStatus()}
        ${view.updatedAt
          ? html`<span part="updated">Updated ${this.#time(view.updatedAt)}</span>`
          : nothing}
      </header>
      <section aria-label="Today">
        <h3>Today</h3>
        ${view.records.length === 0
          ? html`<p class="muted">No attendance recorded yet today.</p>`
          : html`<ul part="records">${view.records.map((r) => this.#renderRecord(r))}</ul>`}
      </section>
      ${view.metrics ? this.#renderMetrics(view.metrics) : nothing}
      ${this.#renderNotifications(view.notifications)}
    `;
  }

  #renderStatus(): TemplateResult {
    const { state, retryInMs } = this.#feed.status;
    const label = {
      connecting: "Connecting…",
      live: "Live",
      reconnecting: "Reconnecting",
      offline: "Offline",
      unauthorized: "Sign-in needed",
    }[state];
    let countdown = "";
    if (state === "reconnecting" && retryInMs !== undefined) {
      const left = Math.max(0, retryInMs - (Date.now() - this.#feed.statusAt));
      countdown = ` in ${Math.ceil(left / 1000)} s`;
    }
    // Only the state is announced; the ticking countdown is hidden from screen readers.
    return html`<p part="status ${state}" class=${state} role="status" aria-live="polite">
      <span class="dot" aria-hidden="true"></span><span>${label}</span><span aria-hidden="true"
      >${countdown}</span>
    </p>`;
  }

  #renderRecord(record: AttendancePayload): TemplateResult {
    const status = STATUS_LABELS[record.status] ?? String(record.status);
    const previous = record.previousStatus
      ? STATUS_LABELS[record.previousStatus] ?? record.previousStatus
      : undefined;
    return html`<li part="record">
      <span>${record.period ? `Period ${record.period}` : "Day"} · ${record.subject}</span>
      <span part="chip" class=${STATUS_LABELS[record.status] ? record.status : ""}>${status}</span>
      ${
      record.correction
        ? html`<span part="correction">corrected${previous ? ` (was ${previous})` : ""}</span>`
        : nothing
    }
    </li>`;
  }

  #renderMetrics(m: MetricsPayload): TemplateResult {
    const locale = this.#locale();
    const pct = (n: number) =>
      new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(n / 100);
    const int = (n: number) => new Intl.NumberFormat(locale).format(n);
    const [arrow, trend] = TRENDS[m.trend] ?? ["", String(m.trend)];
    return html`
      <section aria-label="Metrics">
        <h3>Your attendance</h3>
        <dl part="metrics">
          <div>
            <dt>Rate</dt>
            <dd>${pct(m.attendanceRate)}</dd>
          </div>
          <div>
            <dt>Rank</dt>
            <dd>${int(m.ranking)}${m.classSize ? ` of ${int(m.classSize)}` : ""}</dd>
          </div>
          <div>
            <dt>Class average</dt>
            <dd>${pct(m.classAverage)}</dd>
          </div>
          <div>
            <dt>Trend</dt>
            <dd><span aria-hidden="true">${arrow}</span> ${trend}</dd>
          </div>
        </dl>
      </section>
    `;
  }

  #renderNotifications(list: StoredNotification[]): TemplateResult {
    const unread = list.filter((n) => !n.read).length;
    return html`<section aria-label="Notifications">
      <h3>Notifications${
      unread ? html`<span part="badge" aria-label="${unread} unread">${unread}</span>` : nothing
    }</h3>
      ${list.length === 0 ? html`<p class="muted">No notifications.</p>` : nothing}
      <p class="sr-only" aria-live="polite">${this.#feed.announcement}</p>
      <ul part="notifications">
        ${list.map((n) => this.#renderNotification(n))}
      </ul>
    </section>`;
  }

  #renderNotification(n: StoredNotification): TemplateResult {
    const link = safeLink(n.actionUrl);
    const severity = ["info", "warning", "error", "success"].includes(n.severity)
      ? n.severity
      : "info";
    return html`
      <li part="notification ${severity}${n.read ? "" : " unread"}"
        class="${severity}${n.read ? " read" : ""}">
        <div class="title">${n.title}</div>
        <p class="message">${n.message}</p>
        <div class="actions">
              <span class="muted">${this.#time(n.createdAt)}</span>
              ${link
                ? html`<a href=${link} target="_blank" rel="noopener noreferrer">Open</a>`
                : nothing}
              ${n.read ? nothing : html`
                <button part="mark-read"
                  @click=${() =>
                    this.markRead(n.id).catch(() => {})}>Mark as read<span class="sr-only">: ${n
                    .title}</span></button>
              `}
            </div>
      </li>
    `;
  }
}
