/**
 * {@link FeedStore} for one process, paired with {@link MemoryBus}: every commit changes the data
 * and records its events in one synchronous step, so no other request can observe one without the
 * other, and `readSnapshot` reads data and history head in one synchronous step too.
 *
 * @module
 */

import { classChannel, type Outgoing, studentChannel } from "../bus/bus.ts";
import type { MemoryBus } from "../bus/memory_bus.ts";
import type { NotificationPayload } from "../events.ts";
import type { StudentCounts, Tally } from "../attendance/metrics.ts";
import {
  type AttendanceRecord,
  compareRecords,
  type RecordKey,
  recordSlot,
} from "../attendance/record.ts";
import {
  type FeedStore,
  type MarkWrite,
  type NotificationAudience,
  NOTIFICATIONS_KEPT,
  type RecordFilter,
  type Snapshot,
  type StoredNotification,
} from "./feed_store.ts";
import { SerialQueue } from "./serial_queue.ts";

type Kept = NotificationPayload & { createdAt: string; seq: number };

const pair = (classId: string, studentId: string) => `${classId}\u0000${studentId}`;

/**
 * @example
 * ```ts
 * const bus = new MemoryBus();
 * const store = new MemoryStore(bus);
 * ```
 */
export class MemoryStore implements FeedStore {
  #bus: MemoryBus;
  #queue = new SerialQueue();
  /** studentId → slot → record. */
  #records = new Map<string, Map<string, AttendanceRecord>>();
  /** class+student → date → tally. */
  #days = new Map<string, Map<string, Tally>>();
  /** classId → studentId → counts. */
  #counts = new Map<string, Map<string, StudentCounts>>();
  #classOf = new Map<string, string>();
  #rosters = new Map<string, Set<string>>();
  /** "student:<id>" / "class:<id>" → newest last. */
  #notifications = new Map<string, Kept[]>();
  #read = new Map<string, Set<string>>();
  #seq = 0;

  constructor(bus: MemoryBus) {
    this.#bus = bus;
  }

  exclusive<T>(
    _classIds: string[],
    records: AttendanceRecord[],
    fn: (stored: Array<AttendanceRecord | null>) => Promise<T>,
  ): Promise<T> {
    // One process: serializing every mark is simplest and marks take well under a millisecond.
    return this.#queue.run(async () => fn(await this.getRecords(records)));
  }

  getRecords(keys: RecordKey[]): Promise<Array<AttendanceRecord | null>> {
    return Promise.resolve(
      keys.map((k) => this.#records.get(k.studentId)?.get(recordSlot(k)) ?? null),
    );
  }

  dayTallies(classId: string, studentId: string): Promise<Map<string, Tally>> {
    return Promise.resolve(new Map(this.#days.get(pair(classId, studentId)) ?? []));
  }

  classCounts(classId: string): Promise<Map<string, StudentCounts>> {
    return Promise.resolve(new Map(this.#counts.get(classId) ?? []));
  }

  commitMark(write: MarkWrite, events: Outgoing[]): Promise<string[]> {
    // MemoryBus records synchronously inside publish: data and history change in one step.
    const ids = this.#bus.publish(events);
    for (const record of write.records) {
      let slots = this.#records.get(record.studentId);
      if (!slots) this.#records.set(record.studentId, slots = new Map());
      slots.set(recordSlot(record), { ...record });
      this.#learn(record.classId, record.studentId);
    }
    for (const { classId, studentId, date, tally } of write.days) {
      const key = pair(classId, studentId);
      let days = this.#days.get(key);
      if (!days) this.#days.set(key, days = new Map());
      if (tally) days.set(date, tally);
      else days.delete(date);
      if (days.size === 0) this.#days.delete(key);
    }
    for (const { classId, studentId, counts } of write.counts) {
      let byStudent = this.#counts.get(classId);
      if (!byStudent) this.#counts.set(classId, byStudent = new Map());
      if (counts) byStudent.set(studentId, counts);
      else byStudent.delete(studentId);
    }
    return ids;
  }

  queryRecords(filter: RecordFilter): Promise<AttendanceRecord[]> {
    return Promise.resolve(this.#query(filter));
  }

  #query(filter: RecordFilter): AttendanceRecord[] {
    const students = filter.studentId !== undefined
      ? [filter.studentId]
      : [...(this.#counts.get(filter.classId!)?.keys() ?? [])];
    const out: AttendanceRecord[] = [];
    for (const studentId of students) {
      for (const record of this.#records.get(studentId)?.values() ?? []) {
        if (filter.classId !== undefined && record.classId !== filter.classId) continue;
        if (filter.from !== undefined && record.date < filter.from) continue;
        if (filter.to !== undefined && record.date > filter.to) continue;
        out.push({ ...record });
      }
    }
    return out.sort(compareRecords);
  }

  learnMember(classId: string, studentId: string): Promise<void> {
    this.#learn(classId, studentId);
    return Promise.resolve();
  }

  #learn(classId: string, studentId: string): void {
    const previous = this.#classOf.get(studentId);
    if (previous === classId) return;
    if (previous !== undefined) this.#rosters.get(previous)?.delete(studentId);
    this.#classOf.set(studentId, classId);
    let roster = this.#rosters.get(classId);
    if (!roster) this.#rosters.set(classId, roster = new Set());
    roster.add(studentId);
  }

  roster(classId: string): Promise<string[]> {
    return Promise.resolve([...(this.#rosters.get(classId) ?? [])].sort());
  }

  setRoster(classId: string, studentIds: string[]): Promise<void> {
    const keep = new Set(studentIds);
    for (const member of this.#rosters.get(classId) ?? []) {
      if (!keep.has(member)) {
        this.#rosters.get(classId)!.delete(member);
        this.#classOf.delete(member);
      }
    }
    for (const studentId of studentIds) this.#learn(classId, studentId);
    return Promise.resolve();
  }

  classOf(studentId: string): Promise<string | null> {
    return Promise.resolve(this.#classOf.get(studentId) ?? null);
  }

  commitNotification(
    audience: NotificationAudience,
    notification: NotificationPayload & { createdAt: string },
    events: Outgoing[],
  ): Promise<string[]> {
    const ids = this.#bus.publish(events);
    const key = "studentId" in audience
      ? studentChannel(audience.studentId)
      : classChannel(audience.classId);
    let list = this.#notifications.get(key);
    if (!list) this.#notifications.set(key, list = []);
    list.push({ ...notification, seq: ++this.#seq });
    if (list.length > NOTIFICATIONS_KEPT) list.splice(0, list.length - NOTIFICATIONS_KEPT);
    return ids;
  }

  listNotifications(
    studentId: string,
    classId: string,
    limit: number,
  ): Promise<StoredNotification[]> {
    return Promise.resolve(this.#list(studentId, classId, limit));
  }

  #list(studentId: string, classId: string, limit: number): StoredNotification[] {
    const mine = this.#notifications.get(studentChannel(studentId)) ?? [];
    const theirs = this.#notifications.get(classChannel(classId)) ?? [];
    const read = this.#read.get(studentId);
    return [...mine, ...theirs]
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit)
      .map(({ seq: _seq, ...n }) => ({ ...n, read: read?.has(n.id) ?? false }));
  }

  markRead(
    studentId: string,
    classId: string,
    id: string,
  ): Promise<StoredNotification | null> {
    const visible = this.#list(studentId, classId, 2 * NOTIFICATIONS_KEPT);
    const found = visible.find((n) => n.id === id);
    if (!found) return Promise.resolve(null);
    // Keep read marks only for notifications still kept, so the set stays bounded.
    const kept = new Set(visible.map((n) => n.id));
    const read = new Set([...(this.#read.get(studentId) ?? [])].filter((r) => kept.has(r)));
    read.add(id);
    this.#read.set(studentId, read);
    return Promise.resolve({ ...found, read: true });
  }

  async readSnapshot(
    request: { studentId: string; classId: string; date: string; notificationLimit: number },
  ): Promise<Snapshot> {
    // Everything below runs before the first await: one instant of data and history.
    const slice = this.#bus.history(
      [studentChannel(request.studentId), classChannel(request.classId)],
      "0",
    );
    const records = [...(this.#records.get(request.studentId)?.values() ?? [])]
      .filter((r) => r.date === request.date)
      .map((r) => ({ ...r }))
      .sort(compareRecords);
    const classCounts = new Map(this.#counts.get(request.classId) ?? []);
    const notifications = this.#list(
      request.studentId,
      request.classId,
      request.notificationLimit,
    );
    const { events } = await slice;
    return {
      records,
      classCounts,
      notifications,
      lastEventId: events.length > 0 ? events[events.length - 1].id : "0",
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
