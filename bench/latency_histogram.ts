/**
 * A fixed-bucket latency histogram that workers fill and the driver merges: 10 µs buckets up to
 * 1 s, then 1 ms buckets up to 60 s (anything slower lands in the last bucket).
 *
 * @module
 */

const FINE_BUCKETS = 100_000; // 0..1000 ms at 0.01 ms
const COARSE_BUCKETS = 59_000; // 1 s..60 s at 1 ms
const SIZE = FINE_BUCKETS + COARSE_BUCKETS;

/** Sparse wire form: `[bucket, count]` pairs. */
export type SparseHistogram = Array<[number, number]>;

function bucketOf(ms: number): number {
  if (!(ms > 0)) return 0;
  if (ms < 1000) return Math.floor(ms * 100);
  return Math.min(SIZE - 1, FINE_BUCKETS + Math.floor(ms - 1000));
}

function valueOf(bucket: number): number {
  // The bucket's upper edge: percentiles err on the slow side.
  return bucket < FINE_BUCKETS ? (bucket + 1) / 100 : 1000 + (bucket - FINE_BUCKETS + 1);
}

/**
 * @example
 * ```ts
 * const h = new LatencyHistogram();
 * h.record(1.5);
 * h.percentile(0.99); // 1.51
 * ```
 */
export class LatencyHistogram {
  #counts = new Uint32Array(SIZE);
  #count = 0;
  #max = 0;

  /** Number of samples. */
  get count(): number {
    return this.#count;
  }

  /** Largest sample recorded. */
  get max(): number {
    return this.#max;
  }

  /** Records one latency in ms. */
  record(ms: number): void {
    this.#counts[bucketOf(ms)]++;
    this.#count++;
    if (ms > this.#max) this.#max = ms;
  }

  /** The latency (ms) at quantile `q` (0..1); NaN when empty. */
  percentile(q: number): number {
    if (this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(valueOf(i), this.#max);
    }
    return this.#max;
  }

  /** The non-empty buckets, for sending between processes. */
  toSparse(): { buckets: SparseHistogram; max: number } {
    const buckets: SparseHistogram = [];
    for (let i = 0; i < SIZE; i++) if (this.#counts[i]) buckets.push([i, this.#counts[i]]);
    return { buckets, max: this.#max };
  }

  /** Adds another histogram's sparse form into this one. */
  merge(sparse: { buckets: SparseHistogram; max: number }): void {
    for (const [i, n] of sparse.buckets) {
      this.#counts[i] += n;
      this.#count += n;
    }
    if (sparse.max > this.#max) this.#max = sparse.max;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }
}
