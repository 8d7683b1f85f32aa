/**
 * The write path of marks on Redis: class locks (with the posted records read under the last one),
 * one mark at a time per instance, and the commit that writes records, tallies, counts and class
 * memberships, records the events and releases the locks in one MULTI/EXEC.
 *
 * @module
 */

import type { Tally } from "../attendance/metrics.ts";
import { type AttendanceRecord, type RecordKey, recordSlot } from "../attendance/record.ts";
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

  /** Runs `fn` holding the classes' locks, with the records stored at `keys` read under them. */
  exclusive<T>(
    classIds: string[],
    keys: RecordKey[],
    fn: (stored: Array<AttendanceRecord | null>) => Promise<T>,
  ): Promise<T> {
    let stored: Array<AttendanceRecord | null> = [];
    // The script that takes the last class's lock reads the records under it: one round trip.
    const acquireLast = async (lock: string, token: string, ttlMs: number) => {
      const args: (string | number)[] = [1 + keys.length, lock];
      for (const k of keys) args.push(this.#keys.attendanceRecords(k.studentId));
      args.push(token, ttlMs);
      for (const k of keys) args.push(recordSlot(k));
      const reply = await this.#scripts.afLockAndRead(...args) as Array<string | null> | null;
      if (reply === null) return false;
      stored = keys.map((_, i) => typeof reply[i] === "string" ? JSON.parse(reply[i]!) : null);
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
        }
      }, acquireLast)
    );
  }

  /** Writes a mark and records its events in one MULTI/EXEC, releasing the held class locks. */
  async commit(write: MarkWrite, events: Outgoing[]): Promise<string[]> {
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
