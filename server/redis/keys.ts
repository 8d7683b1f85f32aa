/**
 * Every Redis key and pub/sub channel name the service uses, built in this one place under a
 * configurable prefix (`REDIS_PREFIX`, default `sse:`), so operators can find them and tests can
 * isolate themselves with a random prefix.
 *
 * | name                            | type          | what                                              |
 * | ------------------------------- | ------------- | ------------------------------------------------- |
 * | `{p}history:{channel}`          | stream        | a bus channel's retained events (`t`, `d` fields) |
 * | `{p}history-last-id`            | string        | the last event id issued (one sequence)           |
 * | `{p}history-origin`             | string        | the first id issued since history began (or was lost) |
 * | `{p}history-sweep`              | string        | the instance whose turn it is to sweep history (PX) |
 * | `{p}live`                       | pub/sub       | live deliveries of every bus channel              |
 * | `{p}control:{instanceId}`       | pub/sub       | close requests for one instance's streams         |
 * | `{p}connection:{id}`            | hash          | who, class, instance, connectedAt, lastSeen, seq  |
 * | `{p}student:{studentId}`        | set           | that student's connection ids                     |
 * | `{p}class:{classId}`            | set           | that class's connection ids                       |
 * | `{p}connections`                | sorted set    | every connection id, scored by when it lapses     |
 * | `{p}connection-seq`             | string        | opening order of connections (ties in the cap)    |
 * | `{p}ratelimit:connect:{key}`    | sorted set    | connection attempt times of one student           |
 * | `{p}att:records:{studentId}`    | hash          | attendance records, `<date>|<period>` → JSON      |
 * | `{p}att:days:{class}:{student}` | hash          | per-date tallies, date → "P,A,S,L"                |
 * | `{p}att:counts:{classId}`       | hash          | studentId → metric counts (JSON)                  |
 * | `{p}att:lock:{classId}`         | string        | a mark in progress on the class (PX-bounded)      |
 * | `{p}att:student-class`          | hash          | studentId → classId                               |
 * | `{p}att:roster:{classId}`       | set           | a class's student ids                             |
 * | `{p}notifications:{channel}`    | list          | kept notifications (JSON), newest first           |
 * | `{p}notifications-read:{sid}`   | set           | ids of notifications the student has read         |
 *
 * @module
 */

/**
 * Key and channel names under one prefix.
 *
 * @example
 * ```ts
 * const keys = new RedisKeys("sse:");
 * keys.history("student:s-1"); // "sse:history:student:s-1"
 * ```
 */
export class RedisKeys {
  readonly prefix: string;
  /** The prefix with SCAN MATCH's glob characters escaped, for the patterns below. */
  #globPrefix: string;

  constructor(prefix = "sse:") {
    this.prefix = prefix;
    this.#globPrefix = prefix.replace(/[*?[\]\\]/g, "\\$&");
  }

  /** The stream holding a bus channel's history. */
  history(channel: string): string {
    return `${this.prefix}history:${channel}`;
  }

  /**
   * A `SCAN MATCH` pattern of every history stream (and nothing else of ours: the prefix's glob
   * characters are escaped).
   */
  get historyPattern(): string {
    return `${this.#globPrefix}history:*`;
  }

  /** Held (PX) by the instance that sweeps history this interval (see HistorySweeper). */
  get historySweep(): string {
    return `${this.prefix}history-sweep`;
  }

  /** The last id issued by the publish script (one sequence across every channel). */
  get lastEventId(): string {
    return `${this.prefix}history-last-id`;
  }

  /**
   * The first id issued since this history began. A cursor before it belongs to a history that was
   * lost (Redis restarted without persistence, or flushed): its gap cannot be replayed.
   */
  get historyOrigin(): string {
    return `${this.prefix}history-origin`;
  }

  /**
   * The one pub/sub channel of live deliveries: every publish call sends its events as one message
   * here, and every instance reads all of them (see RECORD_EVENTS_LUA).
   */
  get liveFeed(): string {
    return `${this.prefix}live`;
  }

  /** The pub/sub channel on which one instance receives close requests. */
  control(instanceId: string): string {
    return `${this.prefix}control:${instanceId}`;
  }

  /** The hash describing one stream. */
  connection(connectionId: string): string {
    return `${this.connectionPrefix}${connectionId}`;
  }

  /** `connection(id)` without the id, for Lua scripts that look up other connections. */
  get connectionPrefix(): string {
    return `${this.prefix}connection:`;
  }

  /** The set of a student's connection ids. */
  student(studentId: string): string {
    return `${this.prefix}student:${studentId}`;
  }

  /** The set of a class's connection ids. */
  class(classId: string): string {
    return `${this.prefix}class:${classId}`;
  }

  /** Every connection id, scored by the time (ms) its entry lapses unless refreshed. */
  get connections(): string {
    return `${this.prefix}connections`;
  }

  /** A counter giving connections their opening order. */
  get connectionSeq(): string {
    return `${this.prefix}connection-seq`;
  }

  /** The sliding window of one student's connection attempts. */
  connectRate(key: string): string {
    return `${this.prefix}ratelimit:connect:${key}`;
  }

  /** Attendance: one student's records, field `<date>|<period>` (RedisStore). */
  attendanceRecords(studentId: string): string {
    return `${this.prefix}att:records:${studentId}`;
  }

  /** Attendance: a student's per-date tallies in a class, field date → "P,A,S,L". */
  attendanceDays(classId: string, studentId: string): string {
    return `${this.attendanceDaysPrefix}${classId}:${studentId}`;
  }

  /** `attendanceDays(c, s)` without `c:s`, for Lua scripts. */
  get attendanceDaysPrefix(): string {
    return `${this.prefix}att:days:`;
  }

  /** Attendance: every student's summary counts in a class (what ranking is computed from). */
  attendanceCounts(classId: string): string {
    return `${this.attendanceCountsPrefix}${classId}`;
  }

  /** Attendance: an optimistic commit's guard (set and deleted inside one MULTI). */
  markGuard(token: string): string {
    return `${this.prefix}att:guard:${token}`;
  }

  /**
   * Attendance: the prefix of a class's tallies-and-counts version (`<prefix><classId>`, read and
   * bumped only by Lua scripts), bumped by every commit that writes them: what an instance's
   * cached copy is checked against.
   */
  get attendanceVersionPrefix(): string {
    return `${this.prefix}att:version:`;
  }

  /** `attendanceCounts(c)` without `c`, for Lua scripts. */
  get attendanceCountsPrefix(): string {
    return `${this.prefix}att:counts:`;
  }

  /** Attendance: serializes marks of one class across instances. */
  attendanceLock(classId: string): string {
    return `${this.prefix}att:lock:${classId}`;
  }

  /** Rosters: the hash studentId → classId. */
  get studentClass(): string {
    return `${this.prefix}att:student-class`;
  }

  /** Rosters: a class's student ids (set); `rosterPrefix + classId` in Lua. */
  roster(classId: string): string {
    return `${this.rosterPrefix}${classId}`;
  }

  /** `roster(id)` without the id, for Lua scripts. */
  get rosterPrefix(): string {
    return `${this.prefix}att:roster:`;
  }

  /** Notifications kept for a bus channel (list, newest first). */
  notifications(channel: string): string {
    return `${this.prefix}notifications:${channel}`;
  }

  /** Ids of the notifications a student has read (set). */
  notificationsRead(studentId: string): string {
    return `${this.prefix}notifications-read:${studentId}`;
  }

  /** A pattern matching every key under the prefix (for cleanup in tests and by operators). */
  get pattern(): string {
    return `${this.#globPrefix}*`;
  }
}
