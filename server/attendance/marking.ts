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
  return await deps.store.exclusive(classIds, records, async (stored) => {
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
    // One stamp for all of the mark's events (they carried the same time already): formatted once.
    const now = (deps.now ?? (() => new Date()))().toISOString();
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

/** `a + sign × b`, field by field. */
function addTallies(a: Tally, b: Tally, sign: number): Tally {
  return {
    present: a.present + sign * b.present,
    absent: a.absent + sign * b.absent,
    sick: a.sick + sign * b.sick,
    leave: a.leave + sign * b.leave,
  };
}

const isZero = (t: Tally) => t.present === 0 && t.absent === 0 && t.sick === 0 && t.leave === 0;

/**
 * New tallies and counts of every (class, student) a change touches, and the metrics of every
 * student whose numbers move — classmates included — at most one payload per student.
 */
async function planWrite(
  deps: MarkingDeps,
  changes: Change[],
): Promise<{ write: MarkWrite; metrics: MetricsPayload[] }> {
  const { store } = deps;
  const write: MarkWrite = { records: changes.map((c) => c.record), days: [], counts: [] };
  // Net change of each (class, student, date) tally. A re-mark that keeps its class and status
  // (a subject edit) cancels out: it moves no tally, count or metric, so it reads and writes none.
  const deltas = new Map<string, Map<string, Tally>>();
  const adjust = (record: AttendanceRecord, delta: number) => {
    const key = pairKey(record.classId, record.studentId);
    if (!deltas.has(key)) deltas.set(key, new Map());
    const dates = deltas.get(key)!;
    dates.set(
      record.date,
      addToTally(dates.get(record.date) ?? emptyTally(), record.status, delta),
    );
  };
  for (const { record, previous } of changes) {
    // Same slot, so same student and date: with class and status kept, the two would cancel.
    if (previous?.classId === record.classId && previous.status === record.status) continue;
    if (previous) adjust(previous, -1);
    adjust(record, +1);
  }
  for (const [key, dates] of deltas) {
    for (const [date, delta] of dates) if (isZero(delta)) dates.delete(date);
    if (dates.size === 0) deltas.delete(key);
  }
  if (deltas.size === 0) return { write, metrics: [] };

  // Every read at once: the Redis store's reads then share one round trip (ioredis writes
  // concurrent commands back to back) instead of one per student and class.
  const pairs = [...deltas.keys()].map((key) => key.split("\u0000") as [string, string]);
  const classIds = [...new Set(pairs.map(([classId]) => classId))];
  const [days, counts] = await Promise.all([
    Promise.all(pairs.map(([classId, studentId]) => store.dayTallies(classId, studentId))),
    Promise.all(classIds.map((classId) => store.classCounts(classId))),
  ]);

  const newCounts = new Map<string, Map<string, StudentCounts | null>>();
  pairs.forEach(([classId, studentId], i) => {
    const tallies = days[i];
    for (const [date, delta] of deltas.get(pairKey(classId, studentId))!) {
      const tally = addTallies(tallies.get(date) ?? emptyTally(), delta, 1);
      const empty = totalClasses(tally) === 0;
      if (empty) tallies.delete(date);
      else tallies.set(date, tally);
      write.days.push({ classId, studentId, date, tally: empty ? null : tally });
    }
    const summary = tallies.size === 0 ? null : summarizeDays(tallies);
    write.counts.push({ classId, studentId, counts: summary });
    if (!newCounts.has(classId)) newCounts.set(classId, new Map());
    newCounts.get(classId)!.set(studentId, summary);
  });

  // A student's own class for this request: the class of its last posted record.
  const homeClass = new Map(changes.map((c) => [c.record.studentId, c.record.classId]));
  const metrics = new Map<string, MetricsPayload>();
  classIds.forEach((classId, i) => {
    const before = counts[i];
    const after = new Map(before);
    for (const [studentId, summary] of newCounts.get(classId)!) {
      if (summary) after.set(studentId, summary);
      else after.delete(studentId);
    }
    const oldMetrics = classMetrics(before, deps.excusedAbsences);
    for (const [studentId, payload] of classMetrics(after, deps.excusedAbsences)) {
      if (sameMetrics(oldMetrics.get(studentId), payload)) continue;
      const home = homeClass.get(studentId);
      if (home !== undefined && home !== classId) continue;
      metrics.set(studentId, payload);
    }
  });
  return { write, metrics: [...metrics.values()] };
}
