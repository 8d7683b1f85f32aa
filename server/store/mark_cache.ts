/**
 * What this instance last saw of the attendance data it marks: the stored record of each slot it
 * read or wrote, and each class's tallies and counts with the version they were at. Marks planned
 * from it commit in one round trip, after a check inside Redis that all of it still holds (see
 * GUARD_MARK_LUA); nothing here is ever trusted without that check. Bounded (least recently used
 * entries go first).
 *
 * @module
 */

import type { StudentCounts, Tally } from "../attendance/metrics.ts";

/** A class's tallies and counts as they were at `version`. */
export interface ClassTallies {
  /** The class's version key's value ("0": never written). */
  version: string;
  /** Every student's counts (the whole hash). */
  counts: Map<string, StudentCounts>;
  /** Day tallies of the students read so far (each one whole). */
  days: Map<string, Map<string, Tally>>;
}

/**
 * Default bounds: the slots of 500 classes of 40 for one period (~6 MB of record JSON); 32 classes,
 * each at most a school year of tallies for its students (under ~1 MB).
 */
const MAX_SLOTS = 20_000;
const MAX_CLASSES = 32;

/**
 * @example
 * ```ts
 * const cache = new MarkCache();
 * cache.rememberSlot("s-1", "2026-11-27|01", null); // known empty
 * cache.slot("s-1", "2026-11-27|01"); // null (undefined: not known)
 * ```
 */
export class MarkCache {
  #slots = new Map<string, string | null>();
  #classes = new Map<string, ClassTallies>();
  #maxSlots: number;
  #maxClasses: number;

  constructor(maxSlots = MAX_SLOTS, maxClasses = MAX_CLASSES) {
    this.#maxSlots = maxSlots;
    this.#maxClasses = maxClasses;
  }

  /** The record JSON last seen at the slot, null when it was empty, undefined when not known. */
  slot(studentId: string, slot: string): string | null | undefined {
    return touch(this.#slots, `${studentId}\n${slot}`);
  }

  rememberSlot(studentId: string, slot: string, json: string | null): void {
    remember(this.#slots, `${studentId}\n${slot}`, json, this.#maxSlots);
  }

  forgetSlot(studentId: string, slot: string): void {
    this.#slots.delete(`${studentId}\n${slot}`);
  }

  /** The class's cached tallies and counts (the caller must not change them). */
  classTallies(classId: string): ClassTallies | undefined {
    return touch(this.#classes, classId);
  }

  rememberClass(classId: string, tallies: ClassTallies): void {
    remember(this.#classes, classId, tallies, this.#maxClasses);
  }

  forgetClass(classId: string): void {
    this.#classes.delete(classId);
  }
}

function touch<V>(map: Map<string, V>, key: string): V | undefined {
  if (!map.has(key)) return undefined;
  const value = map.get(key)!;
  // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
  map.delete(key);
  map.set(key, value);
  return value;
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value!);
}
