/**
 * Lua scripts run inside Redis, so that each decision is atomic across instances.
 *
 * @module
 */

import type { Delivery } from "../bus/bus.ts";
import { LINES_LUA } from "./packed_lines.ts";

/**
 * Records events and publishes them, in one atomic step.
 *
 * KEYS[1] = last-id key, KEYS[2] = origin key, KEYS[3..n+2] = the history stream of each event.
 * ARGV[1] = max events per stream (`XADD MAXLEN ~`; the age is kept by {@link SWEEP_HISTORY_LUA},
 * off this path), ARGV[2] = the live pub/sub channel ({@link RedisKeys.liveFeed}), ARGV[3] = the
 * events packed ({@link packLines}): channel, type, json for each, ARGV[4] (optional) = a guard
 * key that must exist (it is deleted; see GUARD_MARK_LUA in server/store/redis_store_scripts.ts).
 * Returns the ids, in call order; false without the guard.
 *
 * The live message is one per call, whatever the number of events: the ids separated by spaces,
 * a newline, then ARGV[3] as given (see {@link parseLiveBatch}). A class of 40's mark used to be 40
 * PUBLISHes, each building its message in Lua, and 40 messages for ioredis to parse in every
 * instance; every instance now reads every call's events and keeps those it has listeners for.
 *
 * Ids follow server/event_id.ts: `ms` from Redis's clock, `seq` counting up within one ms, never
 * going back even when the clock does, so publish order = id order on every channel.
 */
export const RECORD_EVENTS_LUA = `${LINES_LUA}
if ARGV[4] and ARGV[4] ~= '' and redis.call('DEL', ARGV[4]) == 0 then return false end
local events = lines(ARGV[3])
if #events ~= 3 * (#KEYS - 2) then return redis.error_reply('ERR events do not match their keys') end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms, seq = 0, 0
local last = redis.call('GET', KEYS[1])
if last then
  local dash = string.find(last, '-', 1, true)
  ms = tonumber(string.sub(last, 1, dash - 1))
  seq = tonumber(string.sub(last, dash + 1))
end
local maxlen = ARGV[1]
local ids = {}
for i = 3, #KEYS do
  if now > ms then ms = now; seq = 0 else seq = seq + 1 end
  local id = string.format('%.0f-%.0f', ms, seq)
  local e = (i - 3) * 3
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', maxlen, id, 't', events[e + 2], 'd', events[e + 3])
  ids[#ids + 1] = id
end
redis.call('SET', KEYS[1], ids[#ids])
-- No last id: history starts here (first use, or Redis lost its data); older cursors have a gap.
if not last then redis.call('SET', KEYS[2], ids[1]) end
redis.call('PUBLISH', ARGV[2], table.concat(ids, ' ') .. '\\n' .. ARGV[3])
return ids
`;

/**
 * Keeps history streams within the retention age (see server/redis/history_sweeper.ts): trims
 * each stream's entries older than the age (approximately, whole stream nodes: `MINID ~`) and
 * deletes a stream whose newest entry is older. The age is measured on Redis's clock, the one
 * event ids are made from. Keys that are not streams are left alone. A kept stream loses any TTL:
 * versions before the sweeper set one on every append (the age + 60 s), and a stream last written
 * by such an instance during a rolling deploy would otherwise expire with newer events in it.
 *
 * KEYS = history streams; ARGV[1] = the age (ms). Returns {entries trimmed, streams deleted}.
 */
export const SWEEP_HISTORY_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local oldest = now - tonumber(ARGV[1])
local minid = string.format('%.0f', math.max(0, oldest))
local trimmed, deleted = 0, 0
for _, key in ipairs(KEYS) do
  if redis.call('TYPE', key).ok == 'stream' then
    local newest = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
    local ms = newest and tonumber(string.match(newest[1], '^(%d+)'))
    if not ms or ms < oldest then
      redis.call('DEL', key)
      deleted = deleted + 1
    else
      trimmed = trimmed + redis.call('XTRIM', key, 'MINID', '~', minid)
      redis.call('PERSIST', key)
    end
  end
end
return {trimmed, deleted}
`;

/**
 * Reads a live message of {@link RECORD_EVENTS_LUA}: the deliveries on the channels `wanted`
 * accepts (the others are skipped without copying their JSON), in order, and the message's last
 * id; null when the message is malformed.
 *
 * @example
 * ```ts
 * parseLiveBatch('17-0 17-1\nstudent:s-1\nnotification\n{"id":"n-1"}\nstudent:s-2\nnotification\n{}',
 *   (channel) => channel === "student:s-1");
 * // { lastId: "17-1", deliveries: [{ id: "17-0", channel: "student:s-1", type: "notification", json: '{"id":"n-1"}' }] }
 * ```
 */
export function parseLiveBatch(
  message: string,
  wanted: (channel: string) => boolean,
): { lastId: string; deliveries: Delivery[] } | null {
  const idsEnd = message.indexOf("\n");
  if (idsEnd < 1) return null;
  const ids = message.slice(0, idsEnd).split(" ");
  const deliveries: Delivery[] = [];
  let at = idsEnd + 1;
  for (const id of ids) {
    const channelEnd = message.indexOf("\n", at);
    const typeEnd = channelEnd < 0 ? -1 : message.indexOf("\n", channelEnd + 1);
    if (typeEnd < 0) return null;
    let jsonEnd = message.indexOf("\n", typeEnd + 1);
    if (jsonEnd < 0) jsonEnd = message.length;
    const channel = message.slice(at, channelEnd);
    if (wanted(channel)) {
      deliveries.push({
        id,
        channel,
        type: message.slice(channelEnd + 1, typeEnd),
        json: message.slice(typeEnd + 1, jsonEnd),
      });
    }
    at = jsonEnd + 1;
  }
  // Exactly one line per part: anything left over means the message is not what it claims.
  if (at < message.length) return null;
  return { lastId: ids[ids.length - 1], deliveries };
}

/**
 * Sliding-window rate limit on sorted sets of attempt times, for several attempts at once (a
 * connect wave's, see server/redis/turn_batch.ts), decided in order.
 *
 * KEYS = the window of each attempt (a key may repeat); ARGV = now (ms, or -1 for Redis's clock),
 * window (ms), limit, then a unique member per attempt. Returns {allowed (1|0), retryAfterS} per
 * attempt, flattened. Every attempt counts, allowed or not, like `decide()` in
 * server/limits/connect_rate_limiter.ts; only the last `limit` are kept.
 */
export const RATE_LIMIT_LUA = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  local allowed, retry = 1, 0
  if count >= limit then
    allowed = 0
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    retry = math.max(1, math.ceil((tonumber(oldest[2]) + window - now) / 1000))
  end
  redis.call('ZADD', key, now, ARGV[3 + i])
  redis.call('ZREMRANGEBYRANK', key, 0, -(limit + 1))
  redis.call('PEXPIRE', key, window)
  out[#out + 1] = allowed
  out[#out + 1] = retry
end
return out
`;

/**
 * Records streams and decides, for each, which of its student's streams must close for the cap;
 * several streams at once (a connect wave's, see server/redis/turn_batch.ts), in order.
 *
 * KEYS = all-connections sorted set, opening counter, then per stream: connection hash, student
 * set, class set. ARGV = now, ttlMs, connection key prefix, then per stream: id, studentId,
 * classId, instanceId, connectedAt, maxPerStudent. Returns, per stream, the ids to close, oldest
 * first; they leave the student's set at once, so a concurrent open elsewhere does not count them
 * (nor close a second stream for the same excess).
 */
export const OPEN_CONNECTIONS_LUA = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local prefix = ARGV[3]
local results = {}
for s = 0, (#KEYS - 2) / 3 - 1 do
  local hash, student, class = KEYS[3 + s * 3], KEYS[4 + s * 3], KEYS[5 + s * 3]
  local a = 3 + s * 6
  local id, max = ARGV[a + 1], tonumber(ARGV[a + 6])
  local seq = redis.call('INCR', KEYS[2])
  redis.call('HSET', hash, 'who', ARGV[a + 2], 'class', ARGV[a + 3], 'instance', ARGV[a + 4],
    'connectedAt', ARGV[a + 5], 'lastSeen', ARGV[1], 'seq', seq)
  redis.call('PEXPIRE', hash, ttl)
  redis.call('SADD', student, id)
  redis.call('PEXPIRE', student, ttl)
  redis.call('SADD', class, id)
  redis.call('PEXPIRE', class, ttl)
  redis.call('ZADD', KEYS[1], now + ttl, id)
  local live = {}
  for _, other in ipairs(redis.call('SMEMBERS', student)) do
    local h = redis.call('HMGET', prefix .. other, 'connectedAt', 'lastSeen', 'seq')
    if h[1] and h[2] and tonumber(h[2]) + ttl > now then
      live[#live + 1] = { id = other, at = tonumber(h[1]), seq = tonumber(h[3]) or 0 }
    else
      redis.call('SREM', student, other)
    end
  end
  table.sort(live, function(x, y)
    if x.at == y.at then return x.seq < y.seq end
    return x.at < y.at
  end)
  local evict = {}
  local excess = #live - max
  for _, c in ipairs(live) do
    if excess <= 0 then break end
    if c.id ~= id then
      evict[#evict + 1] = c.id
      redis.call('SREM', student, c.id)
      excess = excess - 1
    end
  end
  results[#results + 1] = evict
end
return results
`;

/**
 * Refreshes the entries of live streams; re-creates any that lapsed (e.g. after a long outage).
 *
 * KEYS per stream: connection hash, student set, class set; then the all-connections set last.
 * ARGV = now, ttlMs, then per stream: id, studentId, classId, instanceId, connectedAt.
 */
export const HEARTBEAT_LUA = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local all = KEYS[#KEYS]
local n = (#KEYS - 1) / 3
for i = 0, n - 1 do
  local hash, student, class = KEYS[i * 3 + 1], KEYS[i * 3 + 2], KEYS[i * 3 + 3]
  local a = 3 + i * 5
  if redis.call('EXISTS', hash) == 0 then
    redis.call('HSET', hash, 'who', ARGV[a + 1], 'class', ARGV[a + 2], 'instance', ARGV[a + 3],
      'connectedAt', ARGV[a + 4], 'seq', 0)
    redis.call('SADD', student, ARGV[a])
    redis.call('SADD', class, ARGV[a])
  end
  redis.call('HSET', hash, 'lastSeen', now)
  redis.call('PEXPIRE', hash, ttl)
  redis.call('PEXPIRE', student, ttl)
  redis.call('PEXPIRE', class, ttl)
  redis.call('ZADD', all, now + ttl, ARGV[a])
end
return n
`;
