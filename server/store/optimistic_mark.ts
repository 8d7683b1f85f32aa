/**
 * Optimistic marks on Redis: a mark planned from what this instance last saw ({@link MarkCache})
 * commits in one round trip behind a guard that checks, inside the commit's MULTI, that what it
 * was planned from still holds (GUARD_MARK_LUA). These are the pure parts: the guard's arguments,
 * and what the cache holds of each class after a commit.
 *
 * @module
 */

import { type AttendanceRecord, recordSlot } from "../attendance/record.ts";
import type { RedisKeys } from "../redis/keys.ts";
import { packLines } from "../redis/packed_lines.ts";
import type { MarkWrite } from "./feed_store.ts";
import type { ClassTallies } from "./mark_cache.ts";

/** A mark planned from the cache, to be committed in one round trip. */
export interface OptimisticMark {
  records: AttendanceRecord[];
  /** What the plan took each posted slot to hold (the record's JSON, "" for nothing). */
  expected: string[];
  /** The cached classes whose tallies and counts the plan used. */
  used: Map<string, ClassTallies>;
  /** Set once its commit went through. */
  committed: boolean;
}

/** An optimistic mark needs something the cache does not hold: it takes the locked path. */
export class NotCachedError extends Error {
  override name = "NotCachedError";
}

/** An optimistic commit's guard key outlives its MULTI by at most this (it is deleted in it). */
export const GUARD_TTL_MS = 10_000;

/**
 * The arguments of GUARD_MARK_LUA for `mark`: the locks of its classes (the posted ones and those
 * whose tallies it used: none may be held by a mark in progress), each posted slot with what the
 * plan took it to hold, each used class with the version it was at.
 *
 * @example
 * ```ts
 * multi.afGuardMark(...guardArguments(keys, mark, keys.markGuard(crypto.randomUUID())));
 * ```
 */
export function guardArguments(
  keys: RedisKeys,
  mark: OptimisticMark,
  guardKey: string,
): (string | number)[] {
  const classes = [...new Set([...mark.records.map((r) => r.classId), ...mark.used.keys()])]
    .sort();
  const slots: string[] = [];
  mark.records.forEach((r, i) => slots.push(recordSlot(r), mark.expected[i]));
  const versions: string[] = [];
  for (const [classId, { version }] of mark.used) versions.push(classId, version);
  const guardKeys = [
    guardKey,
    ...classes.map((classId) => keys.attendanceLock(classId)),
    ...mark.records.map((r) => keys.attendanceRecords(r.studentId)),
  ];
  return [
    guardKeys.length,
    ...guardKeys,
    GUARD_TTL_MS,
    classes.length,
    keys.attendanceVersionPrefix,
    packLines(slots),
    packLines(versions),
  ];
}

/**
 * What to cache of each class after a commit: `before` (what the mark read or used) with the
 * commit's tally and count writes applied, at the version the commit bumped it to, or null
 * (forget it) when the version moved by more than this commit's bump (a write that did not hold
 * the class's lock) or the class was not read. `bumped` and `versions`: the classes whose tallies
 * or counts the commit wrote, and their new versions, in order.
 *
 * @example
 * ```ts
 * for (const [classId, tallies] of classesAfterCommit(before, write, bumped, versions)) ...
 * ```
 */
export function classesAfterCommit(
  before: ReadonlyMap<string, ClassTallies> | undefined,
  write: MarkWrite,
  bumped: string[],
  versions: string[],
): Array<[string, ClassTallies | null]> {
  const after: Array<[string, ClassTallies | null]> = [];
  for (const [classId, tallies] of before ?? []) {
    if (!bumped.includes(classId)) after.push([classId, tallies]);
  }
  bumped.forEach((classId, k) => {
    const old = before?.get(classId);
    if (!old || versions[k] !== String(Number(old.version) + 1)) {
      after.push([classId, null]);
      return;
    }
    const counts = new Map(old.counts);
    for (const c of write.counts) {
      if (c.classId !== classId) continue;
      if (c.counts) counts.set(c.studentId, c.counts);
      else counts.delete(c.studentId);
    }
    const days = new Map(old.days);
    for (const d of write.days) {
      const known = d.classId === classId ? days.get(d.studentId) : undefined;
      // A student whose tallies were never read stays unknown.
      if (!known) continue;
      const next = new Map(known);
      if (d.tally) next.set(d.date, d.tally);
      else next.delete(d.date);
      days.set(d.studentId, next);
    }
    after.push([classId, { version: versions[k], counts, days }]);
  });
  return after;
}
