/**
 * The driver's side of the load generator: spawns worker processes (each well under the
 * 20,000-fd limit), spreads clients over them and merges what they measure.
 *
 * @module
 */

import { LatencyHistogram } from "./latency_histogram.ts";
import type { ConnectReply, StatsReply, WorkerCommand } from "./load_worker.ts";

const WORKER = new URL("./load_worker.ts", import.meta.url).pathname;
/** A worker exits by itself after this long, whatever happens to the driver. */
const WORKER_MAX_LIFETIME_MS = 20 * 60_000;

/** Where clients connect. */
export interface PoolTarget {
  hostname: string;
  port: number;
  path: string;
}

/** Merged outcome of a connect wave. */
export interface ConnectSummary {
  opened: number;
  failed: Record<string, number>;
  durationMs: number;
  /** Opened connections per second, first attempt to last stream live. */
  perSecond: number;
}

/** Failed connects by reason, summed over several counts (workers, waves). */
export function mergeFailures(counts: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const count of counts) {
    for (const [reason, n] of Object.entries(count)) merged[reason] = (merged[reason] ?? 0) + n;
  }
  return merged;
}

/** Merged statistics of every worker. */
export interface PoolStats {
  clients: number;
  received: number;
  outOfOrder: number;
  closedByServer: number;
  /** The slowest receipt of each broadcast number, ms. */
  slowestPerK: Map<number, number>;
  latency: LatencyHistogram;
}

const workerExited = () => new Error("Cannot run benchmark: a load worker exited unexpectedly");

type WorkerCommandBody = WorkerCommand extends infer C ? C extends unknown ? Omit<C, "id"> : never
  : never;

/**
 * One load worker process and its command channel (JSON lines over stdin/stdout).
 *
 * @example
 * ```ts
 * const worker = new WorkerProcess();
 * const stats = await worker.send<StatsReply>({ cmd: "stats" });
 * await worker.stop();
 * ```
 */
export class WorkerProcess {
  child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Commands sent and not yet answered, by id. */
  #waiting = new Map<number, PromiseWithResolvers<unknown>>();
  #nextId = 1;
  #done: Promise<void>;
  #exited = false;

  constructor() {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", "--quiet", WORKER],
      env: { BENCH_WORKER_MAX_MS: String(WORKER_MAX_LIFETIME_MS) },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    this.#done = this.#readReplies();
    // A garbled reply ends the reading: the commands waiting fail (see #readReplies), the driver
    // does not crash on an unhandled rejection.
    this.#done.catch(() => {});
  }

  async #readReplies(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of this.child.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        let eol;
        while ((eol = buffered.indexOf("\n")) >= 0) {
          const { id, reply } = JSON.parse(buffered.slice(0, eol));
          buffered = buffered.slice(eol + 1);
          this.#waiting.get(id)?.resolve(reply);
          this.#waiting.delete(id);
        }
      }
    } finally {
      this.#exited = true;
      for (const waiting of this.#waiting.values()) waiting.reject(workerExited());
      this.#waiting.clear();
    }
  }

  send<T>(command: WorkerCommandBody): Promise<T> {
    if (this.#exited) return Promise.reject(workerExited());
    const id = this.#nextId++;
    // Not a Promise.race with the worker's exit: each race would hang a reaction on that
    // promise, pending for the worker's lifetime, and so keep every reply (a stats reply holds
    // a histogram of up to ~19,000 buckets) until the worker exits: ~0.5 GB by a full run's
    // Redis column, whose collections then ran beside the servers under test.
    const waiting = Promise.withResolvers<unknown>();
    this.#waiting.set(id, waiting);
    const line = JSON.stringify({ ...command, id }) + "\n";
    // A worker that died fails the command when its stdout ends (see #readReplies).
    this.#writer.write(new TextEncoder().encode(line)).catch(() => {});
    return waiting.promise as Promise<T>;
  }

  async stop(): Promise<void> {
    const exited = this.child.status;
    let grace: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.send({ cmd: "close" }).catch(() => {}),
        new Promise((r) => grace = setTimeout(r, 5000)),
      ]);
      clearTimeout(grace);
      await this.#writer.close().catch(() => {});
    } finally {
      const timer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await exited;
      clearTimeout(timer);
      await this.#done.catch(() => {});
    }
  }
}

/**
 * @example
 * ```ts
 * const pool = WorkerPool.start(4);
 * await pool.connect(target, tokens, 64);
 * const stats = await pool.stats();
 * await pool.stop();
 * ```
 */
export class WorkerPool {
  #workers: WorkerProcess[];

  private constructor(workers: WorkerProcess[]) {
    this.#workers = workers;
  }

  /** Spawns `count` worker processes. */
  static start(count: number): WorkerPool {
    return new WorkerPool(Array.from({ length: count }, () => new WorkerProcess()));
  }

  /** Worker process ids (their CPU is the load generator's cost). */
  get pids(): number[] {
    return this.#workers.map((w) => w.child.pid);
  }

  /**
   * Opens one stream per token, spread round-robin over the workers, `concurrency` attempts in
   * flight per worker; resolves when every stream is live or refused.
   */
  async connect(
    target: PoolTarget,
    tokens: string[],
    concurrency: number,
  ): Promise<ConnectSummary> {
    const shares: string[][] = this.#workers.map(() => []);
    tokens.forEach((token, i) => shares[i % shares.length].push(token));
    const replies = await Promise.all(
      this.#workers.map((worker, i) =>
        shares[i].length === 0 ? null : worker.send<ConnectReply>({
          cmd: "connect",
          ...target,
          tokens: shares[i],
          concurrency,
        })
      ),
    );
    const done = replies.filter((r): r is ConnectReply => r !== null);
    const failed = mergeFailures(done.map((r) => r.failed));
    const opened = done.reduce((sum, r) => sum + r.opened, 0);
    const durationMs = Math.max(...done.map((r) => r.endedAt)) -
      Math.min(...done.map((r) => r.startedAt));
    return { opened, failed, durationMs, perSecond: opened / (durationMs / 1000) };
  }

  /** Statistics of every worker, merged. */
  async stats(): Promise<PoolStats> {
    const replies = await Promise.all(
      this.#workers.map((w) => w.send<StatsReply>({ cmd: "stats" })),
    );
    const latency = new LatencyHistogram();
    const slowestPerK = new Map<number, number>();
    let clients = 0, received = 0, outOfOrder = 0, closedByServer = 0;
    for (const reply of replies) {
      clients += reply.clients;
      received += reply.received;
      outOfOrder += reply.outOfOrder;
      closedByServer += reply.closedByServer;
      latency.merge(reply.latency);
      for (const [k, ms] of Object.entries(reply.slowestPerK)) {
        slowestPerK.set(Number(k), Math.max(ms, slowestPerK.get(Number(k)) ?? 0));
      }
    }
    return { clients, received, outOfOrder, closedByServer, slowestPerK, latency };
  }

  /** Forgets what was measured so far (streams stay open). */
  async reset(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.send({ cmd: "reset" })));
  }

  /** Closes every stream and ends every worker. */
  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.stop()));
  }
}
