/**
 * The snapshot a widget starts from (`GET /api/students/me/summary`) and the event types it shares
 * with the stream. Payload types come from the server's wire contract (type-only: nothing of the
 * server is bundled).
 *
 * @module
 */

import type { AttendancePayload, MetricsPayload, NotificationPayload } from "../server/events.ts";
import { ensureOk } from "./feed_stream.ts";

export type { AttendancePayload, MetricsPayload, NotificationPayload };

/** How long a snapshot request may take before it counts as failed (and is retried). */
export const SNAPSHOT_TIMEOUT_MS = 15_000;

/** A notification as the snapshot lists it. */
export type StoredNotification = NotificationPayload & { read?: boolean };

/** What a cold widget loads before it opens the stream. */
export interface FeedSnapshot {
  records: AttendancePayload[];
  metrics: MetricsPayload | null;
  notifications: StoredNotification[];
  /** The id of the latest event reflected here; the stream resumes after it. */
  lastEventId: string;
}

/**
 * Loads the snapshot; null when the service has no snapshot route (an older server: the feed
 * then starts with live events only).
 *
 * @example
 * ```ts
 * const snapshot = await loadSnapshot("https://feed.example", token);
 * ```
 */
export async function loadSnapshot(
  endpoint: string,
  token: string,
  options: { fetch?: typeof fetch; signal?: AbortSignal; date?: string; timeoutMs?: number } = {},
): Promise<FeedSnapshot | null> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  // The student's own "today" (the service would otherwise use the UTC date).
  const query = options.date ? `?date=${encodeURIComponent(options.date)}` : "";
  // A snapshot that hangs (a captive portal, a stalled proxy) must not stall the feed: give up and
  // let the client's backoff retry.
  const timeout = AbortSignal.timeout?.(options.timeoutMs ?? SNAPSHOT_TIMEOUT_MS);
  const signal = options.signal && timeout && "any" in AbortSignal
    ? AbortSignal.any([options.signal, timeout])
    : options.signal ?? timeout;
  const response = await doFetch(`${endpoint}/api/students/me/summary${query}`, {
    headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    signal,
    cache: "no-store",
  });
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  await ensureOk(response, "load snapshot");
  const body = await response.json();
  return {
    records: Array.isArray(body?.records) ? body.records : [],
    metrics: body?.metrics && typeof body.metrics === "object" ? body.metrics : null,
    notifications: Array.isArray(body?.notifications) ? body.notifications : [],
    lastEventId: typeof body?.lastEventId === "string" ? body.lastEventId : "0",
  };
}

/**
 * Marks a notification read for all the student's devices.
 *
 * @example
 * ```ts
 * await markNotificationRead("https://feed.example", token, "n-1");
 * ```
 */
export async function markNotificationRead(
  endpoint: string,
  token: string,
  id: string,
  options: { fetch?: typeof fetch } = {},
): Promise<void> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const response = await doFetch(
    `${endpoint}/api/students/notifications/${encodeURIComponent(id)}/read`,
    { method: "POST", headers: { authorization: `Bearer ${token}` } },
  );
  await ensureOk(response, "mark notification read");
  await response.body?.cancel();
}
