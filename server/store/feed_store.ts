/**
 * What attendance, notifications and the snapshot need from storage. Two implementations:
 * {@link MemoryStore} (one process, paired with MemoryBus) and `RedisStore` (paired with RedisBus;
 * survives restarts). One contract test suite (tests/routes/*) runs over HTTP against both.
 *
 * Contract:
 * - `commitMark` and `commitNotification` record their data and their events' history in one
 *   atomic step: a crash never leaves a record without its event or an event without its record.
 *   They resolve with the event ids (in the order given) once both are recorded, and reject with
 *   `BusUnavailableError` when nothing could be recorded. Live delivery is best effort after that.
 * - `exclusive` serializes read-diff-write cycles of marks on the same classes (in Redis mode,
 *   across instances), so a diff is never computed against records another mark is replacing.
 * - `readSnapshot` reads records, counts, notifications and the id of the latest event of the
 *   student's channels at one instant: nothing written after that id is reflected, everything up
 *   to it is.
 * - Callers validate input; stores trust it.
 *
 * @module
 */

import type { Outgoing } from "../bus/bus.ts";
import type { NotificationPayload } from "../events.ts";
import type { StudentCounts, Tally } from "../attendance/metrics.ts";
import type { AttendanceRecord, RecordKey } from "../attendance/record.ts";

/** One store write of a mark. */
export interface MarkWrite {
  /** Records replacing whatever their slot held. */
  records: AttendanceRecord[];
  /** New per-date tallies; null removes the date. */
  days: Array<{ classId: string; studentId: string; date: string; tally: Tally | null }>;
  /** New summaries; null removes the student from the class's metrics. */
  counts: Array<{ classId: string; studentId: string; counts: StudentCounts | null }>;
}

/** Filters of a record query; at least one of `studentId` or `classId`. */
export interface RecordFilter {
  studentId?: string;
  classId?: string;
  from?: string;
  to?: string;
}

/** Attendance records and the per-class summaries metrics are computed from. */
export interface AttendanceStore {
  /**
   * Runs `fn` holding `classIds`, with the records stored at the slots of the posted `records` as
   * read under the hold. (A store may read ahead what marking them will ask it for next.)
   */
  exclusive<T>(
    classIds: string[],
    records: AttendanceRecord[],
    fn: (stored: Array<AttendanceRecord | null>) => Promise<T>,
  ): Promise<T>;
  getRecords(keys: RecordKey[]): Promise<Array<AttendanceRecord | null>>;
  dayTallies(classId: string, studentId: string): Promise<Map<string, Tally>>;
  classCounts(classId: string): Promise<Map<string, StudentCounts>>;
  commitMark(write: MarkWrite, events: Outgoing[]): Promise<string[]>;
  queryRecords(filter: RecordFilter): Promise<AttendanceRecord[]>;
}

/** Which students are in which class (one class per student). */
export interface RosterStore {
  /** Records `studentId` as a member of `classId` (leaving any other class). */
  learnMember(classId: string, studentId: string): Promise<void>;
  roster(classId: string): Promise<string[]>;
  /** Replaces the roster: listed students join, unlisted members leave. */
  setRoster(classId: string, studentIds: string[]): Promise<void>;
  classOf(studentId: string): Promise<string | null>;
}

/** A notification as kept and listed. */
export interface StoredNotification extends NotificationPayload {
  createdAt: string;
  read: boolean;
}

/** Whom a notification was sent to. */
export type NotificationAudience = { studentId: string } | { classId: string };

/** Notifications kept per student and per class (bounded), with per-student read marks. */
export interface NotificationStore {
  commitNotification(
    audience: NotificationAudience,
    notification: NotificationPayload & { createdAt: string },
    events: Outgoing[],
  ): Promise<string[]>;
  /** The latest notifications of the student and its class, newest first. */
  listNotifications(
    studentId: string,
    classId: string,
    limit: number,
  ): Promise<StoredNotification[]>;
  /** Marks one read for the student; null when the student has no such notification. */
  markRead(
    studentId: string,
    classId: string,
    id: string,
  ): Promise<StoredNotification | null>;
}

/** What `GET /api/students/me/summary` is built from. */
export interface Snapshot {
  records: AttendanceRecord[];
  classCounts: Map<string, StudentCounts>;
  notifications: StoredNotification[];
  lastEventId: string;
}

/** Reads a consistent snapshot. */
export interface SnapshotStore {
  readSnapshot(
    request: { studentId: string; classId: string; date: string; notificationLimit: number },
  ): Promise<Snapshot>;
}

/** Every store the feature routes use. */
export interface FeedStore extends AttendanceStore, RosterStore, NotificationStore, SnapshotStore {
  close(): Promise<void>;
}

/** Notifications kept per student and per class. */
export const NOTIFICATIONS_KEPT = 100;
