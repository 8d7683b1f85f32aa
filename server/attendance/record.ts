/**
 * An attendance record as stored: one per (studentId, date, period).
 *
 * @module
 */

import type { AttendancePayload, AttendanceStatus } from "../events.ts";

/** A record as posted (`markedBy` comes from the token). `period` is absent for a whole day. */
export interface RecordInput {
  studentId: string;
  classId: string;
  date: string;
  period?: number;
  status: AttendanceStatus;
  subject: string;
}

/** A stored record: what was posted, and who marked it. */
export interface AttendanceRecord extends RecordInput {
  markedBy: string;
}

/**
 * The slot a record occupies for its student: `"<date>|<period>"`, with `0` for a whole-day mark.
 * Sorts by date, then period, as a plain string for periods 0..12 padded to two digits.
 *
 * @example
 * ```ts
 * recordSlot({ date: "2026-11-27", period: 3 }); // "2026-11-27|03"
 * ```
 */
export function recordSlot(record: { date: string; period?: number }): string {
  return `${record.date}|${String(record.period ?? 0).padStart(2, "0")}`;
}

/** The key of a record across students. */
export interface RecordKey {
  studentId: string;
  date: string;
  period?: number;
}

/** True when posting `next` over `stored` changes nothing a student sees (a safe retry). */
export function sameRecord(stored: AttendanceRecord, next: AttendanceRecord): boolean {
  return stored.status === next.status && stored.subject === next.subject &&
    stored.classId === next.classId;
}

/** The wire payload of a record (`attendance_update`, snapshot, GET /api/attendance). */
export function recordPayload(record: AttendanceRecord): AttendancePayload {
  const payload: AttendancePayload = {
    studentId: record.studentId,
    date: record.date,
    status: record.status,
    subject: record.subject,
    markedBy: record.markedBy,
    classId: record.classId,
  };
  if (record.period !== undefined) payload.period = record.period;
  return payload;
}

/** Orders records by date, period, then student. */
export function compareRecords(a: AttendanceRecord, b: AttendanceRecord): number {
  const slot = recordSlot(a).localeCompare(recordSlot(b));
  return slot !== 0 ? slot : a.studentId < b.studentId ? -1 : a.studentId > b.studentId ? 1 : 0;
}
