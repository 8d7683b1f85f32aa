/**
 * What the element shows, as a pure function of the snapshot and the events after it: today's
 * records by period, the latest metrics, notifications newest first. The element renders it; tests
 * check it without a browser.
 *
 * @module
 */

import type { FeedMessage } from "./feed_stream.ts";
import type {
  AttendancePayload,
  FeedSnapshot,
  MetricsPayload,
  StoredNotification,
} from "./snapshot.ts";

/** Notifications kept in memory; the snapshot lists 20, the stream may add more. */
export const MAX_NOTIFICATIONS = 50;

/** The element's data. */
export interface FeedView {
  /** The school day shown (`YYYY-MM-DD`). */
  day: string;
  /** That day's records, by period. */
  records: AttendancePayload[];
  metrics: MetricsPayload | null;
  /** Newest first, at most {@link MAX_NOTIFICATIONS}. */
  notifications: StoredNotification[];
  /** Clock time of the latest data. */
  updatedAt?: number;
}

/**
 * An empty view for the given day.
 *
 * @example
 * ```ts
 * emptyView(localDay(new Date())); // { day: "2026-11-27", records: [], ... }
 * ```
 */
export function emptyView(day: string): FeedView {
  return { day, records: [], metrics: null, notifications: [] };
}

/** The local calendar day of `date` as `YYYY-MM-DD`. */
export function localDay(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

const recordKey = (r: AttendancePayload) => `${r.date}|${r.period ?? 0}`;
const byPeriod = (a: AttendancePayload, b: AttendancePayload) => (a.period ?? 0) - (b.period ?? 0);

function sortNotifications(list: StoredNotification[]): StoredNotification[] {
  // Stable sort: notifications without createdAt keep their arrival order.
  return list
    .map((n, i) => ({ n, i, t: Date.parse(n.createdAt ?? "") }))
    .sort((a, b) => (Number.isNaN(b.t) || Number.isNaN(a.t) ? a.i - b.i : b.t - a.t || a.i - b.i))
    .map(({ n }) => n)
    .slice(0, MAX_NOTIFICATIONS);
}

/**
 * The view of a snapshot. The snapshot's records define the day when it has any (the
 * service's "today"), else `today`.
 *
 * @example
 * ```ts
 * view = applySnapshot(snapshot, localDay(new Date()), Date.now());
 * ```
 */
export function applySnapshot(
  snapshot: FeedSnapshot,
  today: string,
  now: number,
): FeedView {
  const day = snapshot.records.find((r) => typeof r.date === "string")?.date ?? today;
  return {
    day,
    records: snapshot.records.filter((r) => r.date === day).sort(byPeriod),
    metrics: snapshot.metrics,
    notifications: sortNotifications(snapshot.notifications),
    updatedAt: now,
  };
}

/**
 * Applies one stream event. A record of a later day starts that day; one of an earlier day
 * changes nothing shown. A notification already listed is replaced, not duplicated.
 *
 * @example
 * ```ts
 * view = applyEvent(view, { type: "metrics_update", data: metrics, timestamp }, Date.now());
 * ```
 */
export function applyEvent(view: FeedView, message: FeedMessage, now: number): FeedView {
  switch (message.type) {
    case "attendance_update": {
      const record = message.data as AttendancePayload;
      if (!record || typeof record.date !== "string" || record.date < view.day) return view;
      const sameDay = record.date === view.day ? view.records : [];
      const records = sameDay.filter((r) => recordKey(r) !== recordKey(record));
      records.push(record);
      return { ...view, day: record.date, records: records.sort(byPeriod), updatedAt: now };
    }
    case "metrics_update":
      return { ...view, metrics: message.data as MetricsPayload, updatedAt: now };
    case "notification": {
      const data = message.data as StoredNotification;
      const known = view.notifications.find((n) => n.id === data?.id);
      const incoming = { ...data, read: known?.read ?? false };
      const others = view.notifications.filter((n) => n.id !== incoming.id);
      return { ...view, notifications: sortNotifications([incoming, ...others]), updatedAt: now };
    }
    default:
      return view;
  }
}

/** Marks one notification read. */
export function markViewRead(view: FeedView, id: string): FeedView {
  return {
    ...view,
    notifications: view.notifications.map((n) => n.id === id ? { ...n, read: true } : n),
  };
}

/** Unread notifications. */
export function unreadCount(view: FeedView): number {
  return view.notifications.filter((n) => !n.read).length;
}

/**
 * Whether `url` may become a link: absolute `http:` or `https:` only (no `javascript:`, `data:`).
 *
 * @example
 * ```ts
 * safeLink("javascript:alert(1)"); // undefined
 * ```
 */
export function safeLink(url: unknown): string | undefined {
  if (typeof url !== "string") return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}
