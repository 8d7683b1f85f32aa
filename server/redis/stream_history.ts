/**
 * Reading replay history from the channels' Redis Streams, and deciding whether it is complete.
 *
 * @module
 */

import { BusUnavailableError, type Channel, type Delivery, type HistorySlice } from "../bus/bus.ts";
import { compareEventIds, parseEventId } from "../event_id.ts";
import { describeRedisError, type Redis } from "./client.ts";
import type { RedisKeys } from "./keys.ts";

/** One XRANGE entry as ioredis returns it: fields are `t` (type) and `d` (the JSON envelope). */
export type StreamEntry = [id: string, fields: string[]];

/** Retention the history was written with. */
export interface Retention {
  maxEvents: number;
  maxAgeMs: number;
  now?: () => number;
}

/** The {@link Delivery} of a stream entry. */
export function toDelivery(channel: Channel, [id, fields]: StreamEntry): Delivery {
  return { id, channel, type: fields[1], json: fields[3] };
}

/**
 * Events after `afterId` on `channels`, merged in id order, read in one MULTI/EXEC together with
 * the head id, so the slice and its head describe one instant. `complete` is false when the
 * cursor is malformed or ahead of the head, older than the retention age, older than the current
 * history's origin (Redis lost its data), or older than a trimmed channel's first entry; `"0"` is
 * never incomplete.
 *
 * @example
 * ```ts
 * const slice = await readHistory(redis, keys, ["student:s-1", "class:c-1"], lastEventId, retention);
 * ```
 */
export async function readHistory(
  redis: Redis,
  keys: RedisKeys,
  channels: Channel[],
  afterId: string,
  retention: Retention,
): Promise<HistorySlice> {
  const cursor = parseEventId(afterId);
  let results: [Error | null, unknown][] | null;
  try {
    const multi = redis.multi().get(keys.lastEventId).get(keys.historyOrigin);
    if (cursor) {
      for (const channel of channels) {
        const key = keys.history(channel);
        multi.call("XINFO", "STREAM", key);
        multi.xrange(key, afterId === "0" ? "-" : `(${afterId}`, "+");
      }
    }
    results = await multi.exec();
  } catch (error) {
    throw new BusUnavailableError(
      `Cannot read history: Redis is unavailable (${describeRedisError(error)})`,
      { cause: error },
    );
  }
  if (!results || results[0][0] || results[1][0]) {
    throw new BusUnavailableError("Cannot read history: Redis is unavailable");
  }
  const headId = (results[0][1] as string | null) ?? "0";
  if (!cursor || compareEventIds(afterId, headId) > 0) {
    return { events: [], complete: false, headId };
  }
  const oldestKept = (retention.now ?? Date.now)() - retention.maxAgeMs;
  // A cursor older than the retention age may have missed events of a channel whose whole
  // history has since expired: say so rather than replay a gap.
  let complete = afterId === "0" || cursor.ms >= oldestKept;
  const origin = results[1][1] as string | null;
  if (afterId !== "0" && origin && compareEventIds(afterId, origin) < 0) complete = false;
  const events: Delivery[] = [];
  channels.forEach((channel, i) => {
    const [infoError, info] = results![2 + i * 2];
    const [rangeError, range] = results![3 + i * 2];
    if (rangeError) throw new BusUnavailableError(`Cannot read history of ${channel}`);
    // No stream (never written, or expired): nothing was trimmed that the age rule misses.
    const boundary = infoError ? null : trimmedBefore(info as unknown[], retention.maxEvents);
    if (afterId !== "0" && boundary && compareEventIds(afterId, boundary) < 0) complete = false;
    for (const entry of range as StreamEntry[]) {
      if (parseEventId(entry[0])!.ms >= oldestKept) events.push(toDelivery(channel, entry));
    }
  });
  events.sort((a, b) => compareEventIds(a.id, b.id));
  return { events, complete, headId };
}

/**
 * From an `XINFO STREAM` reply: the id below which a cursor may have missed trimmed entries, or
 * null when nothing was trimmed. Trimming (unlike XDEL) leaves `max-deleted-entry-id` alone, so it
 * is judged from counts: every trimmed id is below the first retained one (a cursor exactly at
 * the last trimmed id resyncs needlessly, which is safe).
 *
 * @example
 * ```ts
 * trimmedBefore(["length", 2, "entries-added", 5, "first-entry", ["7-0", []]], 1000); // "7-0"
 * ```
 */
export function trimmedBefore(info: unknown[], maxEvents: number): string | null {
  const length = Number(field(info, "length") ?? 0);
  const added = field(info, "entries-added");
  // Redis < 7 does not count additions: a full stream is assumed trimmed.
  const trimmed = added === undefined ? length >= maxEvents : Number(added) > length;
  if (!trimmed) return null;
  const first = fieldValue(info, "first-entry");
  if (Array.isArray(first) && typeof first[0] === "string") return first[0];
  // Everything was trimmed: only a cursor at the last id missed nothing.
  return field(info, "last-generated-id") ?? "0";
}

/** The value after `name` in a flat [name, value, ...] reply. */
function fieldValue(reply: unknown[], name: string): unknown {
  for (let i = 0; i < reply.length - 1; i += 2) {
    if (reply[i] === name) return reply[i + 1];
  }
  return undefined;
}

function field(reply: unknown[], name: string): string | undefined {
  const value = fieldValue(reply, name);
  return value === undefined || value === null ? undefined : String(value);
}
