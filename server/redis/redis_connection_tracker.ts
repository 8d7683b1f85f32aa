/**
 * {@link ConnectionTracker} over Redis, in the shape operators inspect: `{p}connection:{id}` (a hash:
 * who, class, instance, connectedAt, lastSeen), `{p}student:{studentId}` and `{p}class:{classId}`
 * (sets of connection ids), each with a TTL (5 minutes) that heartbeats refresh. An instance that
 * dies without cleaning up is forgotten when its entries lapse; totals never count a lapsed entry.
 *
 * @module
 */

import type {
  CloseRequestHandler,
  ConnectionTotals,
  ConnectionTracker,
  TrackedConnection,
} from "../streams/connection_tracker.ts";
import type { Redis, ScriptCommands } from "./client.ts";
import type { RedisKeys } from "./keys.ts";
import { TurnBatch } from "./turn_batch.ts";
import { HEARTBEAT_LUA, OPEN_CONNECTIONS_LUA } from "./scripts.ts";
import type { RedisSubscriber } from "./subscriber.ts";

/** What a RedisConnectionTracker needs. */
export interface RedisConnectionTrackerOptions {
  redis: Redis;
  /** Receives close requests for this instance's streams. */
  subscriber: RedisSubscriber;
  keys: RedisKeys;
  instanceId: string;
  /** Lifetime of an entry that is not refreshed (default 5 minutes). */
  ttlMs?: number;
  /** Clock deciding whether an entry has lapsed, for tests. */
  now?: () => number;
}

const OPEN = "sseOpenConnections";
/** Streams recorded per script call at most (a connect wave's batch is usually 10–200). */
const OPEN_BATCH = 200;
const HEARTBEAT = "sseHeartbeatConnections";
/** Streams refreshed per script call, so no single call blocks Redis for long. */
// Small batches: each script blocks Redis while it runs (500 streams took ~12 ms; 100 take ~2).
const HEARTBEAT_BATCH = 100;

/**
 * @example
 * ```ts
 * const tracker = new RedisConnectionTracker({ redis, subscriber, keys, instanceId: "host-1" });
 * const evict = await tracker.open(connection, 5);
 * ```
 */
export class RedisConnectionTracker implements ConnectionTracker {
  #redis: Redis;
  #keys: RedisKeys;
  #instanceId: string;
  #ttlMs: number;
  #now: () => number;
  #handler: CloseRequestHandler = () => {};
  #stopListening: () => void;
  /** Streams opened in one loop turn (a connect wave's): one script call. */
  #opening: TurnBatch<[TrackedConnection, number], string[]>;

  constructor(options: RedisConnectionTrackerOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#instanceId = options.instanceId;
    this.#ttlMs = options.ttlMs ?? 5 * 60 * 1000;
    this.#now = options.now ?? Date.now;
    if (!(OPEN in this.#redis)) {
      this.#redis.defineCommand(OPEN, { lua: OPEN_CONNECTIONS_LUA });
      this.#redis.defineCommand(HEARTBEAT, { lua: HEARTBEAT_LUA });
    }
    this.#opening = new TurnBatch((streams) => this.#openAll(streams), OPEN_BATCH);
    this.#stopListening = options.subscriber.listen(
      this.#keys.control(this.#instanceId),
      (connectionId) => this.#handler(connectionId),
    );
  }

  open(connection: TrackedConnection, maxPerStudent: number): Promise<string[]> {
    return this.#opening.add([connection, maxPerStudent]);
  }

  async #openAll(streams: Array<[TrackedConnection, number]>): Promise<string[][]> {
    const k = this.#keys;
    const keys = streams.flatMap(([c]) => [
      k.connection(c.id),
      k.student(c.studentId),
      k.class(c.classId),
    ]);
    const args = streams.flatMap(([c, maxPerStudent]) => [
      c.id,
      c.studentId,
      c.classId,
      c.instanceId,
      c.connectedAt,
      maxPerStudent,
    ]);
    return await this.#script(OPEN)(
      keys.length + 2,
      k.connections,
      k.connectionSeq,
      ...keys,
      this.#now(),
      this.#ttlMs,
      k.connectionPrefix,
      ...args,
    ) as string[][];
  }

  async heartbeat(connections: TrackedConnection[]): Promise<void> {
    const k = this.#keys;
    for (let i = 0; i < connections.length; i += HEARTBEAT_BATCH) {
      const batch = connections.slice(i, i + HEARTBEAT_BATCH);
      const keys = batch.flatMap((c) => [
        k.connection(c.id),
        k.student(c.studentId),
        k.class(c.classId),
      ]);
      const args = batch.flatMap((c) => [
        c.id,
        c.studentId,
        c.classId,
        c.instanceId,
        c.connectedAt,
      ]);
      await this.#script(HEARTBEAT)(
        keys.length + 1,
        ...keys,
        k.connections,
        this.#now(),
        this.#ttlMs,
        ...args,
      );
    }
  }

  async close(connection: TrackedConnection): Promise<void> {
    const k = this.#keys;
    await this.#redis.multi()
      .del(k.connection(connection.id))
      .srem(k.student(connection.studentId), connection.id)
      .srem(k.class(connection.classId), connection.id)
      .zrem(k.connections, connection.id)
      .exec();
  }

  async requestClose(connectionId: string): Promise<void> {
    const instance = await this.#redis.hget(this.#keys.connection(connectionId), "instance");
    if (instance === null) return;
    if (instance === this.#instanceId) this.#handler(connectionId);
    else await this.#redis.publish(this.#keys.control(instance), connectionId);
  }

  onCloseRequest(handler: CloseRequestHandler): void {
    this.#handler = handler;
  }

  async studentConnections(studentId: string): Promise<TrackedConnection[]> {
    const ids = await this.#redis.smembers(this.#keys.student(studentId));
    const live = await this.#describe(ids);
    return live.filter((c) => c.studentId === studentId);
  }

  async totals(): Promise<ConnectionTotals> {
    const now = this.#now();
    const ids = await this.#redis.zrangebyscore(this.#keys.connections, `(${now}`, "+inf");
    // Entries that lapsed long ago are pruned here; Redis's own TTLs remove their hashes.
    this.#redis.zremrangebyscore(this.#keys.connections, "-inf", now - this.#ttlMs)
      .catch(() => {});
    const byInstance: Record<string, number> = {};
    let total = 0;
    for (const connection of await this.#describe(ids)) {
      byInstance[connection.instanceId] = (byInstance[connection.instanceId] ?? 0) + 1;
      total++;
    }
    return { total, byInstance };
  }

  /** Stops receiving close requests (the connections belong to the caller). */
  dispose(): void {
    this.#stopListening();
  }

  /** Reads the hashes of `ids`, keeping only entries that exist and have not lapsed. */
  async #describe(ids: string[]): Promise<TrackedConnection[]> {
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) {
      pipeline.hmget(
        this.#keys.connection(id),
        "who",
        "class",
        "instance",
        "connectedAt",
        "lastSeen",
      );
    }
    const replies = (await pipeline.exec()) ?? [];
    const now = this.#now();
    const live: TrackedConnection[] = [];
    ids.forEach((id, i) => {
      const [error, fields] = replies[i] ?? [null, null];
      if (error || !fields) return;
      const [who, classId, instanceId, connectedAt, lastSeen] = fields as (string | null)[];
      if (!who || !classId || !instanceId || !lastSeen) return;
      if (Number(lastSeen) + this.#ttlMs <= now) return;
      live.push({ id, studentId: who, classId, instanceId, connectedAt: Number(connectedAt) });
    });
    return live;
  }

  #script(name: string): ScriptCommands[string] {
    return (this.#redis as unknown as ScriptCommands)[name].bind(this.#redis);
  }
}
