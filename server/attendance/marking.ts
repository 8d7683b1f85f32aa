/**
 * Marking attendance: diff the posted records against the stored ones, work out whose metrics
 * changed, and commit records plus events in one atomic store step.
 *
 * @module
 */

import { canManageClass, type Principal } from "../auth/claims.ts";
import { type Outgoing, studentChannel } from "../bus/bus.ts";
import { ForbiddenError } from "../errors.ts";
import { type AttendancePayload, feedEvent, type MetricsPayload } from "../events.ts";
import type { AttendanceStore, MarkWrite } from "../store/feed_store.ts";
import {
  addToTally,
  classMetrics,
  emptyTally,
  type ExcusedAbsences,
  sameMetrics,
  type StudentCounts,
  summarizeDays,
  type Tally,
  totalClasses,
} from "./metrics.ts";
import { type AttendanceRecord, recordPayload, sameRecord } from "./record.ts";
import type { RecordInput } from "./validation.ts";

/** The answer of `POST /api/attendance`. */
export interface MarkResult {
  /** Records written, corrections included. */
  stored: number;
  corrections: number;
  unchanged: number;
  /** Ids of the events sent, in order (attendance updates, then metrics updates). */
  eventIds: string[];
}

/** What a mark needs. */
export interface MarkingDeps {
  store: AttendanceStore;
  excusedAbsences: ExcusedAbsences;
  now?: () => Date;
}

interface Change {
  record: AttendanceRecord;
  previous: AttendanceRecord | null;
}

const pairKey = (classId: string, studentId: string) => `${classId}\u0000${studentId}`;

/**
 * Marks validated records for `principal`. Throws {@link ForbiddenError} (nothing written) unless
 * the principal manages every class involved, including the class a moved record leaves.
 *
 * @example
 * ```ts
 * const result = await markAttendance(deps, teacher, validateMarkBody(body));
 * // { stored: 40, corrections: 0, unchanged: 0, eventIds: [...] }
 * ```
 */
export async function markAttendance(
  deps: MarkingDeps,
  principal: Principal,
  inputs: RecordInput[],
): Promise<MarkResult> {
  const classIds = [...new Set(inputs.map((r) => r.classId))].sort();
  const refused = classIds.filter((classId) => !canManageClass(principal, classId));
  if (refused.length > 0) {
    throw new ForbiddenError(
      `Cannot mark attendance: only teachers of class ${refused[0]} and admins may mark it`,
    );
  }
  const records = inputs.map((r): AttendanceRecord => ({ ...r, markedBy: principal.sub }));
  return await deps.store.exclusive(classIds, async () => {
    const stored = await deps.store.getRecords(records);
    const changes: Change[] = [];
    records.forEach((record, i) => {
      const previous = stored[i];
      if (!previous || !sameRecord(previous, record)) changes.push({ record, previous });
    });
    for (const { previous, record } of changes) {
      if (
        previous && previous.classId !== record.classId &&
        !canManageClass(principal, previous.classId)
      ) {
        throw new ForbiddenError(
          `Cannot mark attendance: ${record.studentId} on ${record.date} is recorded in class ${previous.classId}, which only its teachers and admins may change`,
        );
      }
    }
    const unchanged = records.length - changes.length;
    if (changes.length === 0) return { stored: 0, corrections: 0, unchanged, eventIds: [] };

    const { write, metrics } = await planWrite(deps, changes);
    const events: Outgoing[] = [];
    const now = (deps.now ?? (() => new Date()))();
    let corrections = 0;
    for (const { record, previous } of changes) {
      const payload: AttendancePayload = recordPayload(record);
      if (previous && previous.status !== record.status) {
        payload.correction = true;
        payload.previousStatus = previous.status;
        corrections++;
      }
      events.push({
        channel: studentChannel(record.studentId),
        event: feedEvent("attendance_update", payload, now),
      });
    }
    for (const payload of metrics) {
      events.push({
        channel: studentChannel(payload.studentId),
        event: feedEvent("metrics_update", payload, now),
      });
    }
    const eventIds = await deps.store.commitMark(write, events);
    return { stored: changes.length, corrections, unchanged, eventIds };
  });
}

/**
 * New tallies and counts of every (class, student) a change touches, and the metrics of every
 * student whose numbers move — classmates included — at most one payload per student.
 */
async function planWrite(
  deps: MarkingDeps,
  changes: Change[],
): Promise<{ write: MarkWrite; metrics: MetricsPayload[] }> {
  const { store } = deps;
  const days = new Map<string, Map<string, Tally>>();
  const touch = async (classId: string, studentId: string) => {
    const key = pairKey(classId, studentId);
    if (!days.has(key)) days.set(key, await store.dayTallies(classId, studentId));
    return days.get(key)!;
  };
  const touchedDates = new Map<string, Set<string>>();
  const adjust = async (record: AttendanceRecord, delta: number) => {
    const tallies = await touch(record.classId, record.studentId);
    tallies.set(
      record.date,
      addToTally(tallies.get(record.date) ?? emptyTally(), record.status, delta),
    );
    const key = pairKey(record.classId, record.studentId);
    if (!touchedDates.has(key)) touchedDates.set(key, new Set());
    touchedDates.get(key)!.add(record.date);
  };
  // Read every touched pair's tallies at once: the Redis store's reads then share one round trip
  // (ioredis pipelines concurrent commands) instead of one per student.
  const pairs = new Map<string, AttendanceRecord>();
  for (const { record, previous } of changes) {
    for (const r of previous ? [previous, record] : [record]) {
      pairs.set(pairKey(r.classId, r.studentId), r);
    }
  }
  await Promise.all([...pairs.values()].map((r) => touch(r.classId, r.studentId)));
  for (const { record, previous } of changes) {
    if (previous) await adjust(previous, -1);
    await adjust(record, +1);
  }

  const write: MarkWrite = { records: changes.map((c) => c.record), days: [], counts: [] };
  const newCounts = new Map<string, Map<string, StudentCounts | null>>();
  for (const [key, tallies] of days) {
    const [classId, studentId] = key.split("\u0000");
    for (const date of touchedDates.get(key) ?? []) {
      const tally = tallies.get(date)!;
      const empty = totalClasses(tally) === 0;
      if (empty) tallies.delete(date);
      write.days.push({ classId, studentId, date, tally: empty ? null : tally });
    }
    const counts = tallies.size === 0 ? null : summarizeDays(tallies);
    write.counts.push({ classId, studentId, counts });
    if (!newCounts.has(classId)) newCounts.set(classId, new Map());
    newCounts.get(classId)!.set(studentId, counts);
  }

  // A student's own class for this request: the class of its last posted record.
  const homeClass = new Map(changes.map((c) => [c.record.studentId, c.record.classId]));
  const metrics = new Map<string, MetricsPayload>();
  for (const [classId, overrides] of newCounts) {
    const before = await store.classCounts(classId);
    const after = new Map(before);
    for (const [studentId, counts] of overrides) {
      if (counts) after.set(studentId, counts);
      else after.delete(studentId);
    }
    const oldMetrics = classMetrics(before, deps.excusedAbsences);
    for (const [studentId, payload] of classMetrics(after, deps.excusedAbsences)) {
      if (sameMetrics(oldMetrics.get(studentId), payload)) continue;
      const home = homeClass.get(studentId);
      if (home !== undefined && home !== classId) continue;
      metrics.set(studentId, payload);
    }
  }
  return { write, metrics: [...metrics.values()] };
}
