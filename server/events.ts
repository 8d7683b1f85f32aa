/**
 * The wire contract: event types and payload shapes that every stream carries.
 * See docs/API.md for the documented form; this file is its source of truth in code.
 *
 * @module
 */

/** Event types a stream can carry. `resync` and `close` are control events. */
export const EVENT_TYPES = [
  "attendance_update",
  "metrics_update",
  "notification",
  "ping",
  "resync",
  "close",
] as const;

/** One of {@link EVENT_TYPES}. */
export type EventType = typeof EVENT_TYPES[number];

/** Attendance statuses, in the order the docs list them. */
export const ATTENDANCE_STATUSES = ["PRESENT", "ABSENT", "SICK", "LEAVE"] as const;
/** One of {@link ATTENDANCE_STATUSES}. */
export type AttendanceStatus = typeof ATTENDANCE_STATUSES[number];

/** Notification severities. */
export const SEVERITIES = ["info", "warning", "error", "success"] as const;
/** One of {@link SEVERITIES}. */
export type Severity = typeof SEVERITIES[number];

/** Payload of `attendance_update`. */
export interface AttendancePayload {
  studentId: string;
  date: string;
  period?: number;
  status: AttendanceStatus;
  subject: string;
  markedBy: string;
  classId: string;
  correction?: boolean;
  previousStatus?: AttendanceStatus;
}

/** Payload of `metrics_update`. */
export interface MetricsPayload {
  studentId: string;
  attendanceRate: number;
  totalClasses: number;
  presentDays: number;
  ranking: number;
  classSize?: number;
  classAverage: number;
  trend: "improving" | "declining" | "stable";
}

/** Payload of `notification`. */
export interface NotificationPayload {
  id: string;
  title: string;
  message: string;
  severity: Severity;
  actionUrl?: string;
  createdAt?: string;
}

/** Why a stream is being closed by the server, sent in the final `close` event. */
export type CloseReason =
  | "token_expired"
  | "replaced"
  | "shutdown"
  | "server_error";

/** The JSON envelope carried on every frame's `data:` line. */
export interface FeedEvent<T = unknown> {
  type: EventType;
  data: T;
  timestamp: string;
}

/**
 * Builds an envelope stamped with `at`: a time, or its ISO text already made (a mark stamps its
 * many events with one).
 *
 * @example
 * ```ts
 * const event = feedEvent("notification", { id: "n1", title: "Hi", message: "…", severity: "info" });
 * ```
 */
export function feedEvent<T>(
  type: EventType,
  data: T,
  at: Date | string = new Date(),
): FeedEvent<T> {
  return { type, data, timestamp: typeof at === "string" ? at : at.toISOString() };
}
