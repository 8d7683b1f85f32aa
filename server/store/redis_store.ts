/**
 * {@link FeedStore} on Redis, paired with {@link RedisBus}: data survives restarts (run Redis with
 * AOF), every instance sees the same records, and each commit runs the store writes and the
 * recording of its events in one MULTI/EXEC (`RedisBus.publishWith`). Snapshots read data and the
 * heads of the student's history streams in one MULTI/EXEC, so they see a commit whole or not at
 * all. Key names come from {@link RedisKeys}.
 *
 * @module
 */

import type { StudentCounts, Tally } from "../attendance/metrics.ts";
import {
  type AttendanceRecord,
  compareRecords,
  type RecordKey,
  recordSlot,
} from "../attendance/record.ts";
import {
  BusUnavailableError,
  classChannel,
  DEFAULT_HISTORY_MAX_AGE_MS,
  type Outgoing,
  studentChannel,
} from "../bus/bus.ts";
import { UnavailableError } from "../errors.ts";
import { compareEventIds, parseEventId } from "../event_id.ts";
import type { NotificationPayload } from "../events.ts";
import { describeRedisError, type Redis, type ScriptCommands } from "../redis/client.ts";
import type { RedisKeys } from "../redis/keys.ts";
import { TurnBatch } from "../redis/turn_batch.ts";
import { packLines } from "../redis/packed_lines.ts";
import type { RedisBus } from "../redis/redis_bus.ts";
import {
  type FeedStore,
  type MarkWrite,
  type NotificationAudience,
  NOTIFICATIONS_KEPT,
  type RecordFilter,
  type Snapshot,
  type StoredNotification,
} from "./feed_store.ts";
import {
  parseClassCounts,
  parseDayTallies,
  RedisMarkWriter,
  type RedisMarkWriterOptions,
} from "./redis_mark_writer.ts";
import {
  KEEP_NOTIFICATION_LUA,
  LEARN_MEMBERS_LUA,
  LEARN_MEMBERS_MAX,
  SET_ROSTER_LUA,
} from "./redis_store_scripts.ts";

/** Options of {@link RedisStore}: those of its mark writer, and the history age. */
export interface RedisStoreOptions extends RedisMarkWriterOptions {
  /** The bus's history age: a snapshot never hands out a cursor older than it. */
  historyMaxAgeMs?: number;
}

type Kept = NotificationPayload & { createdAt: string };

/**
 * @example
 * ```ts
 * const deps = createRedisDeps({ url, instanceId });
 * const store = new RedisStore({ redis: deps.redis, bus: deps.bus, keys: deps.keys });
 * ```
 */
export class RedisStore implements FeedStore {
  #redis: Redis;
  #bus: RedisBus;
  #keys: RedisKeys;
  #maxAgeMs: number;
  #marks: RedisMarkWriter;
  /** Memberships learned in one loop turn (a connect wave's students): one call. */
  #learning: TurnBatch<[classId: string, studentId: string], void>;

  constructor(options: RedisStoreOptions) {
    this.#redis = options.redis;
    this.#bus = options.bus;
    this.#keys = options.keys;
    this.#maxAgeMs = options.historyMaxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS;
    this.#marks = new RedisMarkWriter(options);
    const scripts: Array<[string, string, number]> = [
      ["afLearnMembers", LEARN_MEMBERS_LUA, 1],
      ["afSetRoster", SET_ROSTER_LUA, 1],
      ["afKeepNotification", KEEP_NOTIFICATION_LUA, 2],
    ];
    for (const [name, lua, numberOfKeys] of scripts) {
      if (!(name in this.#redis)) this.#redis.defineCommand(name, { numberOfKeys, lua });
    }
    this.#learning = new TurnBatch<[string, string], void>(async (pairs) => {
      await this.#scripts.afLearnMembers(
        this.#keys.studentClass,
        this.#keys.rosterPrefix,
        packLines(pairs.flat()),
      );
      return pairs.map((): void => {});
    }, LEARN_MEMBERS_MAX);
  }

  get #scripts(): ScriptCommands {
    return this.#redis as unknown as ScriptCommands;
  }

  /** Runs a read, turning a Redis failure into a 503 instead of a 500. */
  async #read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof BusUnavailableError || error instanceof UnavailableError) throw error;
      throw new BusUnavailableError(
        `Cannot ${what}: Redis is unavailable (${describeRedisError(error)})`,
        { cause: error },
      );
    }
  }

  exclusive<T>(
    classIds: string[],
    records: AttendanceRecord[],
    fn: (stored: Array<AttendanceRecord | null>) => Promise<T>,
  ): Promise<T> {
    return this.#marks.exclusive(classIds, records, fn);
  }

  getRecords(keys: RecordKey[]): Promise<Array<AttendanceRecord | null>> {
    return this.#read("read records", async () => {
      if (keys.length === 0) return [];
      const pipeline = this.#redis.pipeline();
      for (const k of keys) pipeline.hget(this.#keys.attendanceRecords(k.studentId), recordSlot(k));
      const results = (await pipeline.exec()) ?? [];
      return results.map(([error, value]) => {
        if (error) throw error;
        return typeof value === "string" ? JSON.parse(value) as AttendanceRecord : null;
      });
    });
  }

  dayTallies(classId: string, studentId: string): Promise<Map<string, Tally>> {
    // A mark's own reads were made by its lock script, in the lock's round trip.
    const early = this.#marks.dayTallies(classId, studentId);
    if (early) return Promise.resolve(early);
    return this.#read("read tallies", async () => {
      return parseDayTallies(
        await this.#redis.hgetall(this.#keys.attendanceDays(classId, studentId)),
      );
    });
  }

  classCounts(classId: string): Promise<Map<string, StudentCounts>> {
    const early = this.#marks.classCounts(classId);
    if (early) return Promise.resolve(early);
    return this.#read("read class counts", async () => {
      return parseClassCounts(await this.#redis.hgetall(this.#keys.attendanceCounts(classId)));
    });
  }

  commitMark(write: MarkWrite, events: Outgoing[]): Promise<string[]> {
    return this.#marks.commit(write, events);
  }

  queryRecords(filter: RecordFilter): Promise<AttendanceRecord[]> {
    return this.#read("list records", async () => {
      const students = filter.studentId !== undefined
        ? [filter.studentId]
        : await this.#redis.hkeys(this.#keys.attendanceCounts(filter.classId!));
      const pipeline = this.#redis.pipeline();
      for (const sid of students) pipeline.hgetall(this.#keys.attendanceRecords(sid));
      const out: AttendanceRecord[] = [];
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        for (const json of Object.values(value as Record<string, string>)) {
          const record = JSON.parse(json) as AttendanceRecord;
          if (filter.classId !== undefined && record.classId !== filter.classId) continue;
          if (filter.from !== undefined && record.date < filter.from) continue;
          if (filter.to !== undefined && record.date > filter.to) continue;
          out.push(record);
        }
      }
      return out.sort(compareRecords);
    });
  }

  learnMember(classId: string, studentId: string): Promise<void> {
    return this.#read("record class membership", () => this.#learning.add([classId, studentId]));
  }

  roster(classId: string): Promise<string[]> {
    return this.#read(
      "read roster",
      async () => (await this.#redis.smembers(this.#keys.roster(classId))).sort(),
    );
  }

  setRoster(classId: string, studentIds: string[]): Promise<void> {
    return this.#read("set roster", async () => {
      await this.#scripts.afSetRoster(
        this.#keys.studentClass,
        this.#keys.rosterPrefix,
        classId,
        ...studentIds,
      );
    });
  }

  classOf(studentId: string): Promise<string | null> {
    return this.#read(
      "read class membership",
      () => this.#redis.hget(this.#keys.studentClass, studentId),
    );
  }

  commitNotification(
    audience: NotificationAudience,
    notification: Kept,
    events: Outgoing[],
  ): Promise<string[]> {
    const key = this.#keys.notifications(
      "studentId" in audience ? studentChannel(audience.studentId) : classChannel(audience.classId),
    );
    return this.#bus.publishWith(events, (multi) => {
      // Queued before the event's own recording: the prefix is the id issued just before it.
      (multi as unknown as ScriptCommands).afKeepNotification(
        this.#keys.lastEventId,
        key,
        JSON.stringify(notification),
        NOTIFICATIONS_KEPT,
      );
    });
  }

  /** Queues the reads of a student's notifications (student list, class list, read set). */
  #queueNotifications(multi: ReturnType<Redis["multi"]>, studentId: string, classId: string) {
    multi.lrange(this.#keys.notifications(studentChannel(studentId)), 0, -1);
    multi.lrange(this.#keys.notifications(classChannel(classId)), 0, -1);
    multi.smembers(this.#keys.notificationsRead(studentId));
  }

  #mergeNotifications(mine: string[], theirs: string[], read: string[], limit: number) {
    const readSet = new Set(read);
    const entries = [...mine, ...theirs].map((entry) => {
      const space = entry.indexOf(" ");
      return {
        after: entry.slice(0, space),
        notification: JSON.parse(entry.slice(space + 1)) as Kept,
      };
    });
    return entries
      .sort((a, b) => compareEventIds(b.after, a.after))
      .slice(0, limit)
      .map(({ notification }): StoredNotification => ({
        ...notification,
        read: readSet.has(notification.id),
      }));
  }

  async #exec(what: string, multi: ReturnType<Redis["multi"]>): Promise<unknown[]> {
    return await this.#read(what, async () => {
      const results = await multi.exec();
      if (!results) throw new Error("transaction discarded");
      return results.map(([error, value]) => {
        if (error) throw error;
        return value;
      });
    });
  }

  async listNotifications(
    studentId: string,
    classId: string,
    limit: number,
  ): Promise<StoredNotification[]> {
    const multi = this.#redis.multi();
    this.#queueNotifications(multi, studentId, classId);
    const [mine, theirs, read] = await this.#exec("list notifications", multi) as string[][];
    return this.#mergeNotifications(mine, theirs, read, limit);
  }

  async markRead(
    studentId: string,
    classId: string,
    id: string,
  ): Promise<StoredNotification | null> {
    const visible = await this.listNotifications(studentId, classId, 2 * NOTIFICATIONS_KEPT);
    const found = visible.find((n) => n.id === id);
    if (!found) return null;
    const key = this.#keys.notificationsRead(studentId);
    // Read marks of notifications no longer kept are dropped, so the set stays bounded.
    const stale = (await this.#read("read marks", () => this.#redis.smembers(key)))
      .filter((r) => !visible.some((n) => n.id === r));
    const multi = this.#redis.multi().sadd(key, id);
    if (stale.length > 0) multi.srem(key, ...stale);
    await this.#exec("mark notification read", multi);
    return { ...found, read: true };
  }

  async readSnapshot(
    request: { studentId: string; classId: string; date: string; notificationLimit: number },
  ): Promise<Snapshot> {
    const { studentId, classId, date } = request;
    const slots = Array.from(
      { length: 13 },
      (_, period) => recordSlot({ date, period: period || undefined }),
    );
    const multi = this.#redis.multi()
      .hmget(this.#keys.attendanceRecords(studentId), ...slots)
      .hgetall(this.#keys.attendanceCounts(classId))
      .xrevrange(this.#keys.history(studentChannel(studentId)), "+", "-", "COUNT", 1)
      .xrevrange(this.#keys.history(classChannel(classId)), "+", "-", "COUNT", 1);
    this.#queueNotifications(multi, studentId, classId);
    const [records, counts, mineHead, classHead, mine, theirs, read] = await this.#exec(
      "read snapshot",
      multi,
    ) as [
      Array<string | null>,
      Record<string, string>,
      Array<[string, string[]]>,
      Array<[string, string[]]>,
      string[],
      string[],
      string[],
    ];
    const heads = [...mineHead, ...classHead].map(([id]) => id).sort(compareEventIds);
    let lastEventId = heads.at(-1) ?? "0";
    // A head older than retention would read as a gap (resync) on replay; nothing retained
    // precedes the snapshot then, so "from the start" is exact.
    if (lastEventId !== "0" && parseEventId(lastEventId)!.ms < Date.now() - this.#maxAgeMs) {
      lastEventId = "0";
    }
    return {
      records: records.filter((r): r is string => r !== null).map((r) => JSON.parse(r)).sort(
        compareRecords,
      ),
      classCounts: new Map(Object.entries(counts).map(([sid, json]) => [sid, JSON.parse(json)])),
      notifications: this.#mergeNotifications(mine, theirs, read, request.notificationLimit),
      lastEventId,
    };
  }

  close(): Promise<void> {
    // The connections belong to createRedisDeps.
    return Promise.resolve();
  }
}
