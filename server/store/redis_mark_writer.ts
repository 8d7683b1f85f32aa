/**
 * The write path of marks on Redis: class locks (with the posted records read under the last one),
 * one mark at a time per instance, and the commit that writes records, tallies, counts and class
 * memberships, records the events and releases the locks in one MULTI/EXEC.
 *
 * @module
 */

import type { StudentCounts, Tally } from "../attendance/metrics.ts";
import { type AttendanceRecord, recordSlot } from "../attendance/record.ts";
import type { Outgoing } from "../bus/bus.ts";
import type { Redis, ScriptCommands } from "../redis/client.ts";
import type { RedisKeys } from "../redis/keys.ts";
import { packLines } from "../redis/packed_lines.ts";
import { GuardRefusedError, type RedisBus } from "../redis/redis_bus.ts";
import type { MarkWrite } from "./feed_store.ts";
import { type ClassTallies, MarkCache } from "./mark_cache.ts";
import {
  classesAfterCommit,
  guardArguments,
  NotCachedError,
  type OptimisticMark,
} from "./optimistic_mark.ts";
import { type HeldLocks, RedisClassLock, UNLOCK_COMMAND } from "./redis_class_lock.ts";
import { GUARD_MARK_LUA, LOCK_AND_READ_LUA, WRITE_MARK_LUA } from "./redis_store_scripts.ts";
import { SerialQueue } from "./serial_queue.ts";

/** What {@link RedisMarkWriter} needs (a subset of the store's options). */
export interface RedisMarkWriterOptions {
  redis: Redis;
  bus: RedisBus;
  keys: RedisKeys;
  /** How long a mark may hold a class (default 10 s) and wait for it (default 5 s). */
  lockTtlMs?: number;
  lockWaitMs?: number;
}

const tallyText = (t: Tally) => `${t.present},${t.absent},${t.sick},${t.leave}`;

/** Reads a tally as written by the mark commit ("present,absent,sick,leave"). */
export function parseTally(text: string): Tally {
  const [present, absent, sick, leave] = text.split(",").map(Number);
  return { present, absent, sick, leave };
}

/** A student's day tallies from their hash's fields (date → tally text). */
export function parseDayTallies(fields: Record<string, string>): Map<string, Tally> {
  return new Map(Object.entries(fields).map(([date, text]) => [date, parseTally(text)]));
}

/** A class's counts from their hash's fields (studentId → JSON). */
export function parseClassCounts(fields: Record<string, string>): Map<string, StudentCounts> {
  return new Map(Object.entries(fields).map(([sid, json]) => [sid, JSON.parse(json)]));
}

/** HGETALL's flat [field, value, ...] (as a script returns it) as an object. */
function fieldsOf(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return fields;
}

/** What LOCK_AND_READ_LUA returns once it took the lock. */
type LockAndReadReply = [
  records: Array<string | null>,
  wanted: string[],
  days: string[][],
  classes: string[],
  counts: string[][],
  versions: string[],
];

/** After a refused optimistic commit, marks of its classes take the lock for this long. */
const REFUSED_BACKOFF_MS = 60_000;

/**
 * @example
 * ```ts
 * const marks = new RedisMarkWriter({ redis, bus, keys });
 * await marks.exclusive(["c-1"], records, async (stored) => await marks.commit(write, events));
 * ```
 */
export class RedisMarkWriter {
  #keys: RedisKeys;
  #bus: RedisBus;
  #lock: RedisClassLock;
  #queue = new SerialQueue();
  #scripts: ScriptCommands;
  /** The class locks of the mark running now (marks of one instance run one at a time). */
  #held: HeldLocks | null = null;
  /**
   * The classes the lock script read for the mark running now (their counts, and the day tallies
   * of the students it wanted plus those cached at the same version), until it commits.
   */
  #readUnderLock: Map<string, ClassTallies> | null = null;
  /** The optimistic mark running now, if it is one. */
  #optimistic: OptimisticMark | null = null;
  #cache = new MarkCache();
  /** When an optimistic commit of a class was last refused (another instance wrote it). */
  #refusedAt = new Map<string, number>();

  constructor(options: RedisMarkWriterOptions) {
    this.#keys = options.keys;
    this.#bus = options.bus;
    this.#lock = new RedisClassLock(options.redis, options.keys, {
      ttlMs: options.lockTtlMs,
      waitMs: options.lockWaitMs,
    });
    // Their number of keys varies: given first on each call.
    for (
      const [name, lua] of [
        ["afWriteMark", WRITE_MARK_LUA],
        ["afLockAndRead", LOCK_AND_READ_LUA],
        ["afGuardMark", GUARD_MARK_LUA],
      ]
    ) {
      if (!(name in options.redis)) options.redis.defineCommand(name, { lua });
    }
    this.#scripts = options.redis as unknown as ScriptCommands;
  }

  /**
   * Runs `fn` with the records stored at the posted records' slots, holding the classes' locks:
   * either optimistically, planned from what this instance last saw and committed in one round
   * trip after Redis checked it all still holds, or (when it did not, or the cache lacks something)
   * under the class locks, whose script also reads the tallies and counts the mark will need (see
   * {@link dayTallies}).
   */
  exclusive<T>(
    classIds: string[],
    records: AttendanceRecord[],
    fn: (stored: Array<AttendanceRecord | null>) => Promise<T>,
  ): Promise<T> {
    // Local marks queue up here; marks of other instances wait on the Redis lock.
    return this.#queue.run(async () => {
      const optimistic = await this.#tryOptimistic(classIds, records, fn);
      if (optimistic.done) return optimistic.value;
      return await this.#locked(classIds, records, fn);
    });
  }

  async #tryOptimistic<T>(
    classIds: string[],
    records: AttendanceRecord[],
    fn: (stored: Array<AttendanceRecord | null>) => Promise<T>,
  ): Promise<{ done: true; value: T } | { done: false }> {
    const now = Date.now();
    if (classIds.some((c) => (this.#refusedAt.get(c) ?? -Infinity) > now - REFUSED_BACKOFF_MS)) {
      return { done: false };
    }
    const expected: string[] = [];
    const stored: Array<AttendanceRecord | null> = [];
    for (const r of records) {
      // A slot never seen is taken to be empty (a first mark): the guard checks that too.
      const json = this.#cache.slot(r.studentId, recordSlot(r)) ?? "";
      expected.push(json);
      stored.push(json === "" ? null : JSON.parse(json));
    }
    const optimistic: OptimisticMark = { records, expected, used: new Map(), committed: false };
    this.#optimistic = optimistic;
    try {
      const value = await fn(stored);
      // An answer without a write (nothing changed, or a refusal) rests on the cache alone: the
      // locked path gives the authoritative one.
      return optimistic.committed ? { done: true, value } : { done: false };
    } catch (error) {
      if (error instanceof GuardRefusedError) {
        for (const [classId, at] of this.#refusedAt) {
          if (at <= now - REFUSED_BACKOFF_MS) this.#refusedAt.delete(classId);
        }
        for (const classId of [...classIds, ...optimistic.used.keys()]) {
          this.#refusedAt.set(classId, now);
        }
      }
      // Only missing: what is cached still holds. Anything else: it may not.
      if (!(error instanceof NotCachedError)) {
        for (const r of records) this.#cache.forgetSlot(r.studentId, recordSlot(r));
        for (const classId of optimistic.used.keys()) this.#cache.forgetClass(classId);
      }
      return { done: false };
    } finally {
      this.#optimistic = null;
    }
  }

  #locked<T>(
    classIds: string[],
    records: AttendanceRecord[],
    fn: (stored: Array<AttendanceRecord | null>) => Promise<T>,
  ): Promise<T> {
    let stored: Array<AttendanceRecord | null> = [];
    // The script that takes the last class's lock reads the records under it: one round trip.
    const acquireLast = async (lock: string, token: string, ttlMs: number) => {
      const keys = this.#keys;
      const args: (string | number)[] = [1 + records.length, lock];
      const posted: string[] = [];
      for (const r of records) {
        args.push(keys.attendanceRecords(r.studentId));
        posted.push(recordSlot(r), r.classId, r.status, r.studentId);
      }
      args.push(token, ttlMs, keys.attendanceDaysPrefix, keys.attendanceCountsPrefix);
      args.push(packLines(posted), keys.attendanceVersionPrefix);
      const reply = await this.#scripts.afLockAndRead(...args) as LockAndReadReply | null;
      if (reply === null) return false;
      const [found, wanted, days, classes, counts, versions] = reply;
      stored = records.map((_, i) => typeof found[i] === "string" ? JSON.parse(found[i]!) : null);
      records.forEach((r, i) => this.#cache.rememberSlot(r.studentId, recordSlot(r), found[i]));
      const read = new Map<string, ClassTallies>();
      classes.forEach((classId, k) => {
        // Days of other students seen before still hold if nobody wrote the class since.
        const cached = this.#cache.classTallies(classId);
        const known = cached?.version === versions[k] ? cached.days : new Map();
        read.set(classId, {
          version: versions[k],
          counts: parseClassCounts(fieldsOf(counts[k])),
          days: new Map(known),
        });
      });
      for (let k = 0; k < wanted.length; k += 2) {
        read.get(wanted[k])!.days.set(wanted[k + 1], parseDayTallies(fieldsOf(days[k / 2])));
      }
      this.#readUnderLock = read;
      return true;
    };
    return this.#lock.run(classIds, async (held) => {
      this.#held = held;
      try {
        return await fn(stored);
      } finally {
        this.#held = null;
        this.#readUnderLock = null;
      }
    }, acquireLast);
  }

  /**
   * The day tallies of `(classId, studentId)` for the running mark, a fresh copy: as its lock
   * script read them, or, for an optimistic mark, as cached (throwing when they are not, which
   * sends the mark down the locked path). Undefined when the lock script did not read them.
   */
  dayTallies(classId: string, studentId: string): Map<string, Tally> | undefined {
    const days = this.#classOfMark(classId)?.days.get(studentId);
    if (!days && this.#optimistic) {
      throw new NotCachedError(`tallies of ${studentId} in ${classId}`);
    }
    return days && new Map(days);
  }

  /** Like {@link dayTallies}, for a class's counts. */
  classCounts(classId: string): Map<string, StudentCounts> | undefined {
    const counts = this.#classOfMark(classId)?.counts;
    return counts && new Map(counts);
  }

  /**
   * The running mark's view of a class: what its lock script read, or for an optimistic mark the
   * cached class, which the mark then depends on (its version is checked at commit).
   */
  #classOfMark(classId: string): ClassTallies | undefined {
    const optimistic = this.#optimistic;
    if (!optimistic) return this.#readUnderLock?.get(classId);
    let used = optimistic.used.get(classId);
    if (!used) {
      used = this.#cache.classTallies(classId);
      if (!used) throw new NotCachedError(`class ${classId}`);
      optimistic.used.set(classId, used);
    }
    return used;
  }

  /**
   * Writes a mark and records its events in one MULTI/EXEC, releasing the held class locks; for an
   * optimistic mark, behind the guard that checks what it was planned from (rejecting with
   * {@link GuardRefusedError} when that no longer holds: nothing was written).
   */
  async commit(write: MarkWrite, events: Outgoing[]): Promise<string[]> {
    // From here on the data changes: no later read may be answered from the lock script's.
    const read = this.#readUnderLock;
    this.#readUnderLock = null;
    const optimistic = this.#optimistic;
    const keys = this.#keys;
    // Every write of the mark goes in one script call (see WRITE_MARK_LUA): encoding ~160
    // commands for a class of 40 cost about a millisecond of JavaScript on the delivery path;
    // its hundreds of fields go packed in two arguments for the same reason.
    const hashes = new Map<string, string[]>();
    const put = (key: string, field: string, value: string) => {
      let fields = hashes.get(key);
      if (!fields) hashes.set(key, fields = []);
      fields.push(field, value);
    };
    // The last posted class of each student wins, as if each record moved it in turn.
    const members = new Map<string, string>();
    const written: Array<[AttendanceRecord, string]> = [];
    for (const record of write.records) {
      const json = JSON.stringify(record);
      written.push([record, json]);
      put(keys.attendanceRecords(record.studentId), recordSlot(record), json);
      members.delete(record.studentId);
      members.set(record.studentId, record.classId);
    }
    for (const { classId, studentId, date, tally } of write.days) {
      put(keys.attendanceDays(classId, studentId), date, tally ? tallyText(tally) : "");
    }
    for (const { classId, studentId, counts } of write.counts) {
      put(keys.attendanceCounts(classId), studentId, counts ? JSON.stringify(counts) : "");
    }
    const bumped = [...new Set([...write.days, ...write.counts].map((w) => w.classId))];
    const moves: string[] = [];
    for (const [studentId, classId] of members) moves.push(classId, studentId);
    const writes: string[] = [];
    for (const fields of hashes.values()) writes.push(String(fields.length / 2), ...fields);
    const guardKey = optimistic ? keys.markGuard(crypto.randomUUID()) : "";
    const args = [
      1 + hashes.size,
      keys.studentClass,
      ...hashes.keys(),
      keys.rosterPrefix,
      packLines(moves),
      packLines(writes),
      keys.attendanceVersionPrefix,
      packLines(bumped),
      guardKey,
    ];
    // The mark's class locks are released in the same transaction: no round trip after it.
    const held = this.#held;
    let replies: unknown[] = [];
    const ids = await this.#bus.publishWith(events, (multi) => {
      const scripts = multi as unknown as ScriptCommands;
      if (optimistic) scripts.afGuardMark(...guardArguments(keys, optimistic, guardKey));
      scripts.afWriteMark(...args);
      for (const [key, token] of held?.unlockArgs ?? []) scripts[UNLOCK_COMMAND](key, token);
    }, { guardKey: guardKey || undefined, replies: (all) => replies = all });
    held?.released();
    const versions = replies[optimistic ? 1 : 0] as string[] | null;
    if (versions === null) throw new GuardRefusedError("The commit's guard refused it");
    if (optimistic) optimistic.committed = true;
    for (const [record, json] of written) {
      this.#cache.rememberSlot(record.studentId, recordSlot(record), json);
    }
    const before = optimistic ? optimistic.used : read ?? undefined;
    for (const [classId, tallies] of classesAfterCommit(before, write, bumped, versions)) {
      if (tallies) this.#cache.rememberClass(classId, tallies);
      else this.#cache.forgetClass(classId);
    }
    return ids;
  }
}
