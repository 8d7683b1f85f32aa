/**
 * Many short script arguments packed into one: values joined by newlines, split again in Lua.
 * ioredis encodes each argument of a command on its own (a length header, a byte count, a string
 * or Buffer); a mark of 40 records passed ~450 of them, ~0.4 ms of JavaScript on the delivery
 * path. Values must not contain a newline: ids are validated, JSON.stringify escapes newlines.
 *
 * @module
 */

/**
 * Lua source of `lines(s)`: the values of a {@link packLines} string, in order (none for "").
 * Prepend it to a script that reads packed arguments.
 */
export const LINES_LUA = `
local function lines(s)
  local out, pos = {}, 1
  if s == '' then return out end
  while true do
    local nl = string.find(s, '\\n', pos, true)
    if not nl then
      out[#out + 1] = string.sub(s, pos)
      return out
    end
    out[#out + 1] = string.sub(s, pos, nl - 1)
    pos = nl + 1
  end
end
`;

/**
 * Joins `values` with newlines; throws if one contains a newline (it would split in two).
 *
 * @example
 * ```ts
 * packLines(["student:s-1", "attendance_update", '{"a":1}']); // 'student:s-1\nattendance_update\n{"a":1}'
 * ```
 */
export function packLines(values: readonly string[]): string {
  for (const value of values) {
    if (value.includes("\n")) throw new Error("Cannot pack a value that contains a newline");
  }
  return values.join("\n");
}
