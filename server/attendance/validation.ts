/**
 * Request validation as pure functions: complete (every problem listed, by record index and field)
 * and all-or-nothing (one problem rejects the whole request).
 *
 * @module
 */

import { ID_PATTERN } from "../auth/claims.ts";
import { ValidationError, type ValidationProblem } from "../errors.ts";
import {
  ATTENDANCE_STATUSES,
  type AttendanceStatus,
  SEVERITIES,
  type Severity,
} from "../events.ts";
import { type RecordInput, recordSlot } from "./record.ts";

/** Most records in one bulk mark. */
export const MAX_RECORDS_PER_REQUEST = 500;

export type { RecordInput } from "./record.ts";

/**
 * True for a real calendar date written `YYYY-MM-DD`.
 *
 * @example
 * ```ts
 * isCalendarDate("2024-02-29"); // true
 * isCalendarDate("2023-02-29"); // false
 * ```
 */
export function isCalendarDate(value: unknown): value is string {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  // Read in place: a bulk mark checks 500 dates (split + map allocated three arrays each).
  const digit = (i: number) => value.charCodeAt(i) - 48;
  const y = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
  const m = digit(5) * 10 + digit(6);
  const d = digit(8) * 10 + digit(9);
  const date = new Date(Date.UTC(y, m - 1, d));
  return y >= 1 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 &&
    date.getUTCDate() === d;
}

/** Length in characters (code points), not UTF-16 units. */
function chars(value: string): number {
  // Counted in place ([...value] built an array per field): a surrogate pair is one code point,
  // a lone surrogate one as well, as string iteration counts them.
  let count = value.length;
  for (let i = 0; i < value.length - 1; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

function fail(action: string, problems: ValidationProblem[]): never {
  const where = (p: ValidationProblem) =>
    p.index === undefined ? `'${p.field}'` : `records[${p.index}].${p.field}`;
  const first = `${where(problems[0])} ${problems[0].message}`;
  throw new ValidationError(
    problems.length === 1
      ? `Cannot ${action}: ${first}`
      : `Cannot ${action}: ${problems.length} problems, the first: ${first}`,
    problems,
  );
}

function checkRecord(raw: unknown, index: number | undefined, problems: ValidationProblem[]) {
  const problem = (field: string, message: string) => problems.push({ index, field, message });
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    problem("record", "must be a JSON object");
    return null;
  }
  const r = raw as Record<string, unknown>;
  const before = problems.length;
  for (const field of ["studentId", "classId"]) {
    if (typeof r[field] !== "string" || !ID_PATTERN.test(r[field] as string)) {
      problem(field, "must be an id of 1-64 letters, digits, '_' or '-'");
    }
  }
  if (!isCalendarDate(r.date)) problem("date", "must be a real calendar date (YYYY-MM-DD)");
  if (
    r.period !== undefined &&
    (typeof r.period !== "number" || !Number.isInteger(r.period) || r.period < 1 || r.period > 12)
  ) problem("period", "must be an integer from 1 to 12");
  if (!(ATTENDANCE_STATUSES as readonly unknown[]).includes(r.status)) {
    problem("status", `must be one of ${ATTENDANCE_STATUSES.join(", ")}`);
  }
  if (
    typeof r.subject !== "string" || r.subject.trim() === "" || chars(r.subject) > 100
  ) problem("subject", "must be a text of 1 to 100 characters");
  if (problems.length > before) return null;
  const record: RecordInput = {
    studentId: r.studentId as string,
    classId: r.classId as string,
    date: r.date as string,
    status: r.status as AttendanceStatus,
    subject: r.subject as string,
  };
  if (r.period !== undefined) record.period = r.period as number;
  return record;
}

/**
 * Validates a mark body: one record, or `{"records": [...]}` with 1 to 500 records. Throws a
 * {@link ValidationError} listing every problem; a record repeating an earlier one's
 * (studentId, date, period) is a problem too, since which one should win would be a guess.
 *
 * @example
 * ```ts
 * const records = validateMarkBody({ studentId: "s-1", classId: "c-1", date: "2026-11-27", status: "PRESENT", subject: "Maths" });
 * ```
 */
export function validateMarkBody(body: Record<string, unknown>): RecordInput[] {
  const action = "mark attendance";
  if (!("records" in body)) {
    const problems: ValidationProblem[] = [];
    const record = checkRecord(body, undefined, problems);
    if (!record) fail(action, problems);
    return [record];
  }
  const list = body.records;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RECORDS_PER_REQUEST) {
    fail(action, [{
      field: "records",
      message: `must be an array of 1 to ${MAX_RECORDS_PER_REQUEST} records`,
    }]);
  }
  const problems: ValidationProblem[] = [];
  const seen = new Map<string, number>();
  const records = list.map((raw, index) => {
    const record = checkRecord(raw, index, problems);
    if (record) {
      const key = `${record.studentId}\u0000${recordSlot(record)}`;
      const first = seen.get(key);
      if (first !== undefined) {
        problems.push({
          index,
          field: "period",
          message: `repeats records[${first}] (same studentId, date and period)`,
        });
      } else seen.set(key, index);
    }
    return record;
  });
  if (problems.length > 0) fail(action, problems);
  return records as RecordInput[];
}

/** Filters of `GET /api/attendance`. */
export interface AttendanceQuery {
  classId?: string;
  studentId?: string;
  from?: string;
  to?: string;
}

/**
 * Validates the query of `GET /api/attendance`.
 *
 * @example
 * ```ts
 * validateAttendanceQuery({ classId: "c-1", from: "2026-09-01" });
 * ```
 */
export function validateAttendanceQuery(
  query: Record<string, string | undefined>,
): AttendanceQuery {
  const problems: ValidationProblem[] = [];
  const result: AttendanceQuery = {};
  for (const field of ["classId", "studentId"] as const) {
    const value = query[field];
    if (value === undefined) continue;
    if (!ID_PATTERN.test(value)) problems.push({ field, message: "must be an id" });
    else result[field] = value;
  }
  for (const field of ["from", "to"] as const) {
    const value = query[field];
    if (value === undefined) continue;
    if (!isCalendarDate(value)) problems.push({ field, message: "must be a date (YYYY-MM-DD)" });
    else result[field] = value;
  }
  if (result.from && result.to && result.from > result.to) {
    problems.push({ field: "to", message: "must not be before 'from'" });
  }
  if (problems.length > 0) fail("list attendance", problems);
  return result;
}

/** Who a notification goes to. */
export type NotificationTarget = { studentId: string } | { classId: string };

/** A validated `POST /api/notifications` body. */
export interface NotificationInput {
  target: NotificationTarget;
  title: string;
  message: string;
  severity: Severity;
  actionUrl?: string;
}

/**
 * Validates a notification: exactly one of `studentId` / `classId`, title 1..120 and message
 * 1..2000 characters, a severity, and an optional absolute `http:`/`https:` `actionUrl` (so a
 * `javascript:` or `data:` URL can never reach a widget's link).
 *
 * @example
 * ```ts
 * validateNotificationBody({ classId: "c-1", title: "Trip", message: "Bring lunch", severity: "info" });
 * ```
 */
export function validateNotificationBody(body: Record<string, unknown>): NotificationInput {
  const problems: ValidationProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ field, message });
  const { studentId, classId, title, message, severity, actionUrl } = body;
  let target: NotificationTarget | undefined;
  if ((studentId === undefined) === (classId === undefined)) {
    problem("studentId", "give exactly one of 'studentId' or 'classId'");
  } else if (studentId !== undefined) {
    if (typeof studentId !== "string" || !ID_PATTERN.test(studentId)) {
      problem("studentId", "must be an id");
    } else target = { studentId };
  } else if (typeof classId !== "string" || !ID_PATTERN.test(classId)) {
    problem("classId", "must be an id");
  } else target = { classId };
  if (typeof title !== "string" || title.trim() === "" || chars(title) > 120) {
    problem("title", "must be a text of 1 to 120 characters");
  }
  if (typeof message !== "string" || message.trim() === "" || chars(message) > 2000) {
    problem("message", "must be a text of 1 to 2000 characters");
  }
  if (!(SEVERITIES as readonly unknown[]).includes(severity)) {
    problem("severity", `must be one of ${SEVERITIES.join(", ")}`);
  }
  if (actionUrl !== undefined && !isWebUrl(actionUrl)) {
    problem("actionUrl", "must be an absolute http: or https: URL");
  }
  if (problems.length > 0) fail("send notification", problems);
  const input: NotificationInput = {
    target: target!,
    title: title as string,
    message: message as string,
    severity: severity as Severity,
  };
  if (actionUrl !== undefined) input.actionUrl = actionUrl as string;
  return input;
}

function isWebUrl(value: unknown): boolean {
  if (typeof value !== "string" || value.length > 2048) return false;
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** Most students in one roster. */
export const MAX_ROSTER_SIZE = 1000;

/**
 * Validates `PUT /api/classes/{classId}/roster`: `{"studentIds": [...]}` (duplicates dropped).
 *
 * @example
 * ```ts
 * validateRosterBody({ studentIds: ["s-1", "s-2"] }); // ["s-1", "s-2"]
 * ```
 */
export function validateRosterBody(body: Record<string, unknown>): string[] {
  const ids = body.studentIds;
  if (!Array.isArray(ids) || ids.length > MAX_ROSTER_SIZE) {
    fail("set roster", [{
      field: "studentIds",
      message: `must be an array of at most ${MAX_ROSTER_SIZE} student ids`,
    }]);
  }
  const problems: ValidationProblem[] = [];
  ids.forEach((id, index) => {
    if (typeof id !== "string" || !ID_PATTERN.test(id)) {
      problems.push({ field: `studentIds[${index}]`, message: "must be an id" });
    }
  });
  if (problems.length > 0) fail("set roster", problems);
  return [...new Set(ids as string[])];
}
