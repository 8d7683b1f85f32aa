/**
 * Young-generation collections moved into the gaps between requests.
 *
 * V8 empties its young generation (a scavenge, 0.5–1.7 ms on the benchmark's machine) when an
 * allocation finds it full: in the middle of whatever the event loop runs then, most often a mark or
 * a broadcast on its way to students. A mark of a class of 40 through Redis allocates ~600 KB, so
 * one mark in ~27 paid for a scavenge on its delivery path, and those marks set the p99 of the
 * benchmark's class of 40 (docs/performance-log.md, fourteenth session). Once no request has been in
 * flight and no delivery fanned out for a few milliseconds, and the young generation is more than
 * half full, {@link IdleGc} collects it there and then, so the next request starts with room to
 * spare. A collection costs about what V8's own would have; it only runs when nobody waits for it.
 *
 * It needs V8's `--expose-gc` (given by `deno task start`). Without it (Deno Deploy, or a plain
 * `deno run`) {@link idleGcFromRuntime} returns null and V8 collects as it always does.
 *
 * @module
 */

import { getHeapSpaceStatistics } from "node:v8";

/** The young generation's occupancy, in bytes. */
export interface YoungGeneration {
  usedBytes: number;
  /** Used plus still available before V8 must collect. */
  capacityBytes: number;
}

/**
 * True when `young` is filled to at least `threshold` (0–1) of its capacity.
 *
 * @example
 * ```ts
 * youngGenerationFull({ usedBytes: 5e6, capacityBytes: 8e6 }, 0.5); // true
 * ```
 */
export function youngGenerationFull(young: YoungGeneration, threshold: number): boolean {
  return young.capacityBytes > 0 && young.usedBytes >= threshold * young.capacityBytes;
}

/** What an {@link IdleGc} runs on. */
export interface IdleGcOptions {
  /** Collects the young generation, synchronously. */
  collect: () => void;
  /** Reads the young generation's occupancy. */
  youngGeneration: () => YoungGeneration;
  /** How long no request must have been in flight before collecting (default 3 ms). */
  quietMs?: number;
  /** Occupancy from which an idle moment is used to collect (default 0.5). */
  threshold?: number;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
}

/**
 * @example
 * ```ts
 * const idleGc = idleGcFromRuntime();
 * const end = idleGc?.begin(); // a request starts
 * end?.(); // it ended: 3 ms later, if nothing else began, the young generation may be collected
 * ```
 */
export class IdleGc {
  #collect: () => void;
  #youngGeneration: () => YoungGeneration;
  #quietMs: number;
  #threshold: number;
  #now: () => number;
  #inFlight = 0;
  #lastActivity = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #collections = 0;

  constructor(options: IdleGcOptions) {
    this.#collect = options.collect;
    this.#youngGeneration = options.youngGeneration;
    this.#quietMs = options.quietMs ?? 3;
    this.#threshold = options.threshold ?? 0.5;
    this.#now = options.now ?? (() => performance.now());
    if (!(this.#quietMs >= 0) || !(this.#threshold > 0 && this.#threshold <= 1)) {
      throw new RangeError("IdleGc needs quietMs >= 0 and 0 < threshold <= 1");
    }
  }

  /** Collections run so far. */
  get collections(): number {
    return this.#collections;
  }

  /** Counts a unit of work (a request) as in flight until the returned function is called. */
  begin(): () => void {
    this.#inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#inFlight--;
      this.#lastActivity = this.#now();
      this.#arm(this.#quietMs);
    };
  }

  /**
   * Notes work that ran to its end just now without a request of this instance (events from
   * another instance fanned out to local streams): the quiet is counted from here.
   */
  touch(): void {
    this.#lastActivity = this.#now();
    this.#arm(this.#quietMs);
  }

  /** Stops the pending check, if any; later requests arm none. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delayMs: number): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => this.#check(), delayMs);
    // Never the reason the process stays up.
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  #check(): void {
    this.#timer = undefined;
    // A request in flight arms the next check when it ends.
    if (this.#closed || this.#inFlight > 0) return;
    const quietFor = this.#now() - this.#lastActivity;
    if (quietFor < this.#quietMs) return this.#arm(this.#quietMs - quietFor);
    try {
      if (!youngGenerationFull(this.#youngGeneration(), this.#threshold)) return;
      this.#collect();
      this.#collections++;
    } catch (error) {
      // A timer's exception would end the process: stop collecting instead, V8 still does.
      this.close();
      console.error("idle GC disabled:", error instanceof Error ? error.message : error);
    }
  }
}

/** V8's young generation as Node's `v8` module reports it (the "new_space"). */
export function runtimeYoungGeneration(): YoungGeneration {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  if (!space) return { usedBytes: 0, capacityBytes: 0 };
  return {
    usedBytes: space.space_used_size,
    capacityBytes: space.space_used_size + space.space_available_size,
  };
}

/**
 * An {@link IdleGc} over this process's V8 heap, or null when V8's `gc` is not exposed (the process
 * was started without `--v8-flags=--expose-gc`).
 */
export function idleGcFromRuntime(
  options: Pick<IdleGcOptions, "quietMs" | "threshold"> = {},
): IdleGc | null {
  const gc = (globalThis as { gc?: (options?: { type?: string }) => unknown }).gc;
  if (typeof gc !== "function") return null;
  return new IdleGc({
    ...options,
    collect: () => gc({ type: "minor" }),
    youngGeneration: runtimeYoungGeneration,
  });
}
