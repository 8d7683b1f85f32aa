/**
 * A load-generator worker process: holds thousands of {@link LoadClient}s and answers the
 * driver's commands, one JSON object per line on stdin, one reply per line on stdout.
 *
 * Commands: `connect` {hostname, port, path, tokens, concurrency}, `stats`, `reset`, `close`.
 * Run by bench/worker_pool.ts; never on its own.
 *
 * @module
 */

import { LatencyHistogram } from "./latency_histogram.ts";
import { LoadClient, type LoadClientSink } from "./load_client.ts";
import { preciseNow } from "./precise_clock.ts";

/** A command from the driver. */
export type WorkerCommand =
  & { id: number }
  & (
    | {
      cmd: "connect";
      hostname: string;
      port: number;
      path: string;
      tokens: string[];
      concurrency: number;
    }
    | { cmd: "stats" }
    | { cmd: "reset" }
    | { cmd: "close" }
  );

/** Reply to `connect`. */
export interface ConnectReply {
  opened: number;
  /** Refusals by HTTP status ("0": the TCP connection failed). */
  failed: Record<string, number>;
  startedAt: number;
  endedAt: number;
}

/** Reply to `stats`. */
export interface StatsReply {
  clients: number;
  received: number;
  outOfOrder: number;
  closedByServer: number;
  /** The slowest receipt of each broadcast number, ms. */
  slowestPerK: Record<string, number>;
  latency: ReturnType<LatencyHistogram["toSparse"]>;
}

class Worker implements LoadClientSink {
  clients: LoadClient[] = [];
  histogram = new LatencyHistogram();
  slowestPerK = new Map<number, number>();
  received = 0;
  closedByServer = 0;

  onBench(_client: LoadClient, k: number, latencyMs: number): void {
    this.received++;
    if (latencyMs > (this.slowestPerK.get(k) ?? -Infinity)) this.slowestPerK.set(k, latencyMs);
    this.histogram.record(latencyMs);
  }

  onClosed(_client: LoadClient): void {
    this.closedByServer++;
  }

  async connect(command: Extract<WorkerCommand, { cmd: "connect" }>): Promise<ConnectReply> {
    const failed: Record<string, number> = {};
    let opened = 0;
    let next = 0;
    const startedAt = preciseNow();
    const lane = async () => {
      while (next < command.tokens.length) {
        const token = command.tokens[next++];
        const client = new LoadClient({ ...command, token }, this);
        const status = await client.open();
        if (status === 200) {
          opened++;
          this.clients.push(client);
        } else {
          failed[status] = (failed[status] ?? 0) + 1;
          client.close();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, command.concurrency) }, lane));
    return { opened, failed, startedAt, endedAt: preciseNow() };
  }

  stats(): StatsReply {
    return {
      clients: this.clients.length,
      received: this.received,
      outOfOrder: this.clients.reduce((sum, c) => sum + c.outOfOrder, 0),
      closedByServer: this.closedByServer,
      slowestPerK: Object.fromEntries(this.slowestPerK),
      latency: this.histogram.toSparse(),
    };
  }

  reset(): void {
    this.histogram.reset();
    this.slowestPerK.clear();
    this.received = 0;
    this.closedByServer = 0;
    for (const client of this.clients) {
      client.outOfOrder = 0;
      client.lastK = -1;
    }
  }

  close(): void {
    for (const client of this.clients) client.close();
    this.clients = [];
  }
}

async function writeLine(value: unknown): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(value) + "\n");
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

if (import.meta.main) {
  // Bounded in time whatever happens to the driver.
  const maxMs = Number(Deno.env.get("BENCH_WORKER_MAX_MS") ?? 1_200_000);
  setTimeout(() => Deno.exit(3), maxMs);
  const worker = new Worker();
  let buffered = "";
  const decoder = new TextDecoder();
  // Commands are handled one at a time, in order; the driver waits for each reply anyway.
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    let eol;
    while ((eol = buffered.indexOf("\n")) >= 0) {
      const command = JSON.parse(buffered.slice(0, eol)) as WorkerCommand;
      buffered = buffered.slice(eol + 1);
      let reply: unknown;
      if (command.cmd === "connect") reply = await worker.connect(command);
      else if (command.cmd === "stats") reply = worker.stats();
      else if (command.cmd === "reset") reply = worker.reset();
      else {
        worker.close();
        await writeLine({ id: command.id, reply: null });
        Deno.exit(0);
      }
      await writeLine({ id: command.id, reply: reply ?? null });
    }
  }
  // The driver went away: do not linger.
  worker.close();
  Deno.exit(0);
}
