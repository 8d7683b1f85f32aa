/**
 * Event ids: `"<ms>-<seq>"`, the shape of Redis Stream ids, issued from one monotonic sequence per
 * deployment (one process in memory mode, one Redis in Redis mode). Because every channel draws from
 * the same sequence, a single id is a cursor over a student's channel *and* its class channel, and
 * one encoded frame can be sent to every recipient unchanged.
 *
 * @module
 */

/** A parsed event id. */
export interface ParsedEventId {
  ms: number;
  seq: number;
}

const ID_PATTERN = /^(\d{1,15})-(\d{1,15})$/;

/**
 * Parses `"<ms>-<seq>"`; `"0"` means "before everything". Returns null for anything else.
 *
 * @example
 * ```ts
 * parseEventId("1700000000000-3"); // { ms: 1700000000000, seq: 3 }
 * ```
 */
export function parseEventId(id: string): ParsedEventId | null {
  if (id === "0") return { ms: 0, seq: 0 };
  const match = ID_PATTERN.exec(id);
  if (!match) return null;
  return { ms: Number(match[1]), seq: Number(match[2]) };
}

/** Orders two parsed ids: negative when `a` comes first. */
export function compareParsedIds(a: ParsedEventId, b: ParsedEventId): number {
  return a.ms === b.ms ? a.seq - b.seq : a.ms - b.ms;
}

/**
 * Orders two id strings (both must be valid; invalid ones sort first).
 *
 * @example
 * ```ts
 * compareEventIds("5-1", "5-10") < 0; // true
 * ```
 */
export function compareEventIds(a: string, b: string): number {
  // Read in place: this runs twice per pub/sub message, and parsing allocated ~1 KB each time.
  const aDash = validDash(a);
  const bDash = validDash(b);
  return idPart(a, aDash, false) - idPart(b, bDash, false) ||
    idPart(a, aDash, true) - idPart(b, bDash, true);
}

/** "0" (before everything). */
const ZERO = -2;

/** The dash of a valid `"<ms>-<seq>"` ({@link ID_PATTERN}); {@link ZERO} for "0"; else -1. */
function validDash(id: string): number {
  if (id === "0") return ZERO;
  const dash = id.indexOf("-");
  if (dash < 1 || dash > 15 || id.length - dash - 1 < 1 || id.length - dash - 1 > 15) return -1;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (i !== dash && (c < 48 || c > 57)) return -1;
  }
  return dash;
}

/** The ms (or `seq`) part of an id whose dash is at `dash`: 0 for "0", -1 when invalid. */
function idPart(id: string, dash: number, seq: boolean): number {
  if (dash === ZERO) return 0;
  if (dash < 0) return -1;
  return seq ? digitsValue(id, dash + 1, id.length) : digitsValue(id, 0, dash);
}

/** The number written by the digits `id[from..to)` (checked by {@link validDash}). */
function digitsValue(id: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) value = value * 10 + (id.charCodeAt(i) - 48);
  return value;
}

/** Formats a parsed id back into its string form. */
export function formatEventId(id: ParsedEventId): string {
  return `${id.ms}-${id.seq}`;
}

/**
 * Issues strictly increasing ids from a clock that may stand still or step back.
 * The Redis implementation applies the same rule inside its Lua script.
 */
export class EventIdSequence {
  #last: ParsedEventId = { ms: 0, seq: 0 };

  /** The next id after every id issued so far. */
  next(nowMs: number): string {
    if (nowMs > this.#last.ms) this.#last = { ms: nowMs, seq: 0 };
    else this.#last = { ms: this.#last.ms, seq: this.#last.seq + 1 };
    return formatEventId(this.#last);
  }

  /** The latest id issued, or "0" before the first. */
  get last(): string {
    return this.#last.ms === 0 ? "0" : formatEventId(this.#last);
  }
}
