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
import type { RedisBus } from "../redis/redis_bus.ts";
import type { MarkWrite } from "./feed_store.ts";
import { type HeldLocks, RedisClassLock, UNLOCK_COMMAND } from "./redis_class_lock.ts";
import { LOCK_AND_READ_LUA, WRITE_MARK_LUA } from "./redis_store_scripts.ts";
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
];

/** Tallies and counts read by the lock script, for the mark that holds the lock. */
interface ReadUnderLock {
  days: Map<string, Map<string, Tally>>;
  counts: Map<string, Map<string, StudentCounts>>;
}

const pairKey = (classId: string, studentId: string) => `${classId}:${studentId}`;

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
  /** What the lock script read for the mark running now, until it commits. */
  #readUnderLock: ReadUnderLock | null = null;

  constructor(options: RedisMarkWriterOptions) {
    this.#keys = options.keys;
    this.#bus = options.bus;
    this.#lock = new RedisClassLock(options.redis, options.keys, {
      ttlMs: options.lockTtlMs,
      waitMs: options.lockWaitMs,
    });
    // Their number of keys varies: given first on each call.
    for (
      const [name, lua] of [["afWriteMark", WRITE_MARK_LUA], ["afLockAndRead", LOCK_AND_READ_LUA]]
    ) {
      if (!(name in options.redis)) options.redis.defineCommand(name, { lua });
    }
    this.#scripts = options.redis as unknown as ScriptCommands;
  }

  /**
   * Runs `fn` holding the classes' locks, with the records stored at the posted records' slots
   * read under them, and the tallies and counts the mark will need read in the same script (see
   * {@link dayTallies}).
   */
  exclusive<T>(
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
      args.push(packLines(posted));
      const reply = await this.#scripts.afLockAndRead(...args) as LockAndReadReply | null;
      if (reply === null) return false;
      const [found, wanted, days, classes, counts] = reply;
      stored = records.map((_, i) => typeof found[i] === "string" ? JSON.parse(found[i]!) : null);
      const read: ReadUnderLock = { days: new Map(), counts: new Map() };
      for (let k = 0; k < wanted.length; k += 2) {
        read.days.set(pairKey(wanted[k], wanted[k + 1]), parseDayTallies(fieldsOf(days[k / 2])));
      }
      classes.forEach((classId, k) =>
        read.counts.set(classId, parseClassCounts(fieldsOf(counts[k])))
      );
      this.#readUnderLock = read;
      return true;
    };
    // Local marks queue up here; marks of other instances wait on the Redis lock.
    return this.#queue.run(() =>
      this.#lock.run(classIds, async (held) => {
        this.#held = held;
        try {
          return await fn(stored);
        } finally {
          this.#held = null;
          this.#readUnderLock = null;
        }
      }, acquireLast)
    );
  }

  /**
   * The day tallies of `(classId, studentId)` as the running mark's lock script read them (a
   * fresh copy), or undefined when it did not: the mark then needs no round trip to plan.
   */
  dayTallies(classId: string, studentId: string): Map<string, Tally> | undefined {
    const days = this.#readUnderLock?.days.get(pairKey(classId, studentId));
    return days && new Map(days);
  }

  /** Like {@link dayTallies}, for a class's counts. */
  classCounts(classId: string): Map<string, StudentCounts> | undefined {
    const counts = this.#readUnderLock?.counts.get(classId);
    return counts && new Map(counts);
  }

  /** Writes a mark and records its events in one MULTI/EXEC, releasing the held class locks. */
  async commit(write: MarkWrite, events: Outgoing[]): Promise<string[]> {
    // From here on the data changes: no later read may be answered from the lock script's.
    this.#readUnderLock = null;
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
    for (const record of write.records) {
      put(keys.attendanceRecords(record.studentId), recordSlot(record), JSON.stringify(record));
      members.delete(record.studentId);
      members.set(record.studentId, record.classId);
    }
    for (const { classId, studentId, date, tally } of write.days) {
      put(keys.attendanceDays(classId, studentId), date, tally ? tallyText(tally) : "");
    }
    for (const { classId, studentId, counts } of write.counts) {
      put(keys.attendanceCounts(classId), studentId, counts ? JSON.stringify(counts) : "");
    }
    const moves: string[] = [];
    for (const [studentId, classId] of members) moves.push(classId, studentId);
    const writes: string[] = [];
    for (const fields of hashes.values()) writes.push(String(fields.length / 2), ...fields);
    const args = [
      1 + hashes.size,
      keys.studentClass,
      ...hashes.keys(),
      keys.rosterPrefix,
      packLines(moves),
      packLines(writes),
    ];
    // The mark's class locks are released in the same transaction: no round trip after it.
    const held = this.#held;
    const ids = await this.#bus.publishWith(events, (multi) => {
      (multi as unknown as ScriptCommands).afWriteMark(...args);
      for (const [key, token] of held?.unlockArgs ?? []) {
        (multi as unknown as ScriptCommands)[UNLOCK_COMMAND](key, token);
      }
    });
    held?.released();
    return ids;
  }
}
