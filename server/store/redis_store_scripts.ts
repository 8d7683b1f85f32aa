/**
 * Lua scripts of {@link RedisStore}: membership changes that read and write in one step.
 *
 * @module
 */

import { LINES_LUA } from "../redis/packed_lines.ts";

/**
 * Lua source of `moveMembers(hash, prefix, moves)`: `moves` is a flat list of (classId, studentId)
 * pairs; each student's class in `hash` becomes its pair's class (a later pair of the same student
 * wins), and the student leaves its old class's roster set (`prefix .. class`) for the new one.
 * One HMGET reads every student's current class (a command per student cost ~40 µs per class).
 * Returns how many memberships changed.
 */
const MOVE_MEMBERS_LUA = `
local function moveMembers(hash, prefix, moves)
  if #moves == 0 then return 0 end
  local students = {}
  for m = 2, #moves, 2 do students[#students + 1] = moves[m] end
  local stored = redis.call('HMGET', hash, unpack(students))
  local moved, changed = {}, 0
  for m = 1, #moves, 2 do
    local class, student = moves[m], moves[m + 1]
    local old = moved[student]
    if old == nil then old = stored[(m + 1) / 2] end
    if old ~= class then
      if old then redis.call('SREM', prefix .. old, student) end
      redis.call('HSET', hash, student, class)
      redis.call('SADD', prefix .. class, student)
      changed = changed + 1
    end
    moved[student] = class
  end
  return changed
end
`;

/** Most (classId, studentId) pairs per LEARN_MEMBERS_LUA call: Lua's `unpack` has a limit. */
export const LEARN_MEMBERS_MAX = 500;

/**
 * Moves students into classes (each leaving its previous one), in order.
 * KEYS[1] = student→class hash. ARGV[1] = roster key prefix, ARGV[2], packed ({@link packLines}):
 * (classId, studentId) pairs, at most {@link LEARN_MEMBERS_MAX}. Returns how many changed.
 */
export const LEARN_MEMBERS_LUA = `${LINES_LUA}${MOVE_MEMBERS_LUA}
return moveMembers(KEYS[1], ARGV[1], lines(ARGV[2]))
`;

/**
 * A mark's store writes in one call (queued in the MULTI that records its events): one script run
 * instead of an HSET per record, tally and count and a membership script per student.
 * KEYS[1] = student→class hash, KEYS[2..] = hashes to change. ARGV[1] = roster key prefix;
 * ARGV[2], packed ({@link packLines}): (classId, studentId) pairs moving students into classes;
 * ARGV[3], packed: for each hash of KEYS[2..], n, then n (field, value) pairs, an empty value
 * deleting the field; ARGV[4] = version key prefix, ARGV[5], packed: the classes whose tallies
 * or counts change (their versions are bumped); ARGV[6] = the guard key of an optimistic commit
 * ("" for none: see GUARD_MARK_LUA), without which nothing is written.
 * Returns the classes' new versions, in order; false when the guard is missing.
 */
export const WRITE_MARK_LUA = `${LINES_LUA}${MOVE_MEMBERS_LUA}
if ARGV[6] ~= '' and redis.call('EXISTS', ARGV[6]) == 0 then return false end
moveMembers(KEYS[1], ARGV[1], lines(ARGV[2]))
local writes = lines(ARGV[3])
local a = 1
for k = 2, #KEYS do
  local n = tonumber(writes[a])
  a = a + 1
  for _ = 1, n do
    if writes[a + 1] == '' then redis.call('HDEL', KEYS[k], writes[a])
    else redis.call('HSET', KEYS[k], writes[a], writes[a + 1]) end
    a = a + 2
  end
end
local versions = {}
for _, class in ipairs(lines(ARGV[5])) do
  versions[#versions + 1] = tostring(redis.call('INCR', ARGV[4] .. class))
end
return versions
`;

/**
 * Replaces a class's roster: unlisted members leave, listed students join (leaving other classes).
 * KEYS[1] = student→class hash. ARGV = roster key prefix, classId, studentIds (at most
 * MAX_ROSTER_SIZE, within Lua's `unpack` limit)...
 */
export const SET_ROSTER_LUA = `${MOVE_MEMBERS_LUA}
local prefix, class = ARGV[1], ARGV[2]
local roster = prefix .. class
local keep = {}
for i = 3, #ARGV do keep[ARGV[i]] = true end
for _, member in ipairs(redis.call('SMEMBERS', roster)) do
  if not keep[member] then
    redis.call('SREM', roster, member)
    if redis.call('HGET', KEYS[1], member) == class then redis.call('HDEL', KEYS[1], member) end
  end
end
local moves = {}
for i = 3, #ARGV do
  moves[#moves + 1] = class
  moves[#moves + 1] = ARGV[i]
end
moveMembers(KEYS[1], prefix, moves)
return #ARGV - 2
`;

/**
 * Takes a class lock (`SET NX PX`) and, when it did, reads under it what the mark will need: one
 * round trip. KEYS[1] = lock, KEYS[2..] = the records hash of each posted record. ARGV = token,
 * ttl (ms), day-tallies key prefix, class-counts key prefix, the posted records packed
 * ({@link packLines}): slot, classId, status, studentId for each, in KEYS order; version key
 * prefix.
 *
 * Returns false when the lock is taken, else {records, wanted, days, classes, counts, versions}:
 * each slot's stored record (nil when absent); then, for every (class, student) whose tallies the
 * mark moves, `wanted` as flat class, student pairs with `days` their tallies hashes (HGETALL), and
 * `classes` with `counts` their counts hashes and `versions` their versions ("0" when unset). A
 * record moves tallies when its slot was empty or held another status or class (both classes
 * then); a re-mark that changes only, say, the subject moves none, and nothing more is read.
 */
export const LOCK_AND_READ_LUA = `${LINES_LUA}
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return false end
local posted = lines(ARGV[5])
local records, wanted, seenPair, classes, seenClass = {}, {}, {}, {}, {}
local function want(class, student)
  local pair = class .. ':' .. student
  if not seenPair[pair] then
    seenPair[pair] = true
    wanted[#wanted + 1] = class
    wanted[#wanted + 1] = student
  end
  if not seenClass[class] then
    seenClass[class] = true
    classes[#classes + 1] = class
  end
end
for i = 2, #KEYS do
  local p = (i - 2) * 4
  local class, status, student = posted[p + 2], posted[p + 3], posted[p + 4]
  local stored = redis.call('HGET', KEYS[i], posted[p + 1])
  records[i - 1] = stored
  if not stored then
    want(class, student)
  -- Ids and statuses never need JSON escaping: a plain search finds exactly the field.
  elseif not (string.find(stored, '"classId":"' .. class .. '"', 1, true)
      and string.find(stored, '"status":"' .. status .. '"', 1, true)) then
    want(class, student)
    want(cjson.decode(stored).classId, student)
  end
end
local days = {}
for k = 1, #wanted, 2 do
  days[#days + 1] = redis.call('HGETALL', ARGV[3] .. wanted[k] .. ':' .. wanted[k + 1])
end
local counts, versions = {}, {}
for k = 1, #classes do
  counts[k] = redis.call('HGETALL', ARGV[4] .. classes[k])
  versions[k] = redis.call('GET', ARGV[6] .. classes[k]) or '0'
end
return {records, wanted, days, classes, counts, versions}
`;

/**
 * The check of an optimistic commit (a mark planned from what this instance last saw, without the
 * lock round trip): no class of the mark is locked by another mark, every posted slot still holds
 * what the instance saw ("" for nothing), and every class whose tallies and counts the plan used is
 * still at the version it saw ("0" for never written). When all hold it sets the guard key (ttl
 * ms), which the mark's write and event scripts in the same MULTI require; else nothing runs.
 * KEYS = the guard key, then the class locks, then the records hash of each slot.
 * ARGV = ttl, number of locks, version key prefix, packed slots and expected values (in KEYS
 * order), packed (classId, version) pairs. Returns 1 when the commit may go on, else 0.
 */
export const GUARD_MARK_LUA = `${LINES_LUA}
local locks = tonumber(ARGV[2])
for i = 2, 1 + locks do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
local slots = lines(ARGV[4])
for i = 2 + locks, #KEYS do
  local s = (i - 2 - locks) * 2
  local stored = redis.call('HGET', KEYS[i], slots[s + 1]) or ''
  if stored ~= slots[s + 2] then return 0 end
end
local versions = lines(ARGV[5])
for k = 1, #versions, 2 do
  if (redis.call('GET', ARGV[3] .. versions[k]) or '0') ~= versions[k + 1] then return 0 end
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1
`;

/** Deletes a lock only if it still holds our token. KEYS[1] = lock, ARGV[1] = token. */
export const UNLOCK_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Keeps a notification, prefixed with the last event id issued before it ("<id> <json>"): run in
 * the MULTI that records the notification's event, so the prefix orders notifications of the
 * student's and the class's lists exactly as their events.
 * KEYS[1] = last event id key, KEYS[2] = the list. ARGV = json, how many to keep.
 */
export const KEEP_NOTIFICATION_LUA = `
local after = redis.call('GET', KEYS[1]) or '0'
redis.call('LPUSH', KEYS[2], after .. ' ' .. ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
return 1
`;
