/**
 * Scenario 3: two product instances behind the same Redis, `connections` streams on each, every
 * broadcast sent through instance A and delivered to the streams of both.
 *
 * @module
 */

import { mintTokens, students } from "./bench_tokens.ts";
import { cpuTimeMs, rssBytes } from "./proc_stats.ts";
import type { ServerProcess } from "./server_process.ts";
import {
  awaitDelivery,
  figures,
  type LatencyFigures,
  settledRss,
  sleep,
  SSE_PATH,
  type SuiteOptions,
} from "./server_suite.ts";
import { RawHttpClient } from "./raw_http_client.ts";
import { classBroadcast } from "./triggers.ts";
import { type ConnectSummary, WorkerPool } from "./worker_pool.ts";

/** Per-instance figures. */
export interface InstanceFigures {
  connect: ConnectSummary;
  rssPerConnectionBytes: number;
  cpuMs: number;
  cpuUsPerConnectionPerBroadcast: number;
}

/** Everything measured across the two instances. */
export interface TwoInstanceResult {
  connections: number;
  broadcasts: number;
  delivery: LatencyFigures & { outOfOrder: number; closedByServer: number };
  /** A publishes and delivers to its own streams; B only delivers. */
  instances: [InstanceFigures, InstanceFigures];
}

/**
 * @example
 * ```ts
 * const result = await runTwoInstances([a, b], options);
 * ```
 */
export async function runTwoInstances(
  servers: [ServerProcess, ServerProcess],
  o: SuiteOptions,
): Promise<TwoInstanceResult> {
  const classId = `${o.runId}-all`;
  const [adminToken] = await mintTokens(o.secret, [{ sub: `${o.runId}-admin`, role: "admin" }]);
  const pool = WorkerPool.start(o.workers * 2);
  const trigger = new RawHttpClient(servers[0].url);
  try {
    const halves = await Promise.all(
      servers.map((_, i) =>
        mintTokens(o.secret, students(`${o.runId}-i${i}`, classId, o.connections))
      ),
    );
    const connects: ConnectSummary[] = [];
    const rssPerConnection: number[] = [];
    for (const [i, server] of servers.entries()) {
      const before = rssBytes(server.pid);
      const target = { hostname: server.hostname, port: server.port, path: SSE_PATH };
      const connect = await pool.connect(target, halves[i], o.concurrency);
      o.log(
        `  instance ${"AB"[i]}: ${connect.opened}/${o.connections} live ` +
          `(${connect.perSecond.toFixed(0)}/s), failed ${JSON.stringify(connect.failed)}`,
      );
      connects.push(connect);
      rssPerConnection.push((await settledRss(server.pid) - before) / connect.opened);
    }
    const live = connects[0].opened + connects[1].opened;
    for (let k = 0; k < 3; k++) {
      await classBroadcast(trigger, adminToken, classId, 1_000_000 + k);
      await sleep(o.gapMs * 2); // twice the streams on the same two cores
    }
    await awaitDelivery(pool, 3 * live, 20_000);
    await pool.reset();
    const cpuStart = servers.map((s) => cpuTimeMs(s.pid));
    for (let k = 0; k < o.broadcasts; k++) {
      await classBroadcast(trigger, adminToken, classId, k);
      await sleep(o.gapMs * 2); // twice the streams on the same two cores
    }
    const stats = await awaitDelivery(pool, o.broadcasts * live, 30_000);
    const instances = servers.map((s, i): InstanceFigures => {
      const cpuMs = cpuTimeMs(s.pid) - cpuStart[i];
      return {
        connect: connects[i],
        rssPerConnectionBytes: rssPerConnection[i],
        cpuMs,
        cpuUsPerConnectionPerBroadcast: (cpuMs * 1000) / (connects[i].opened * o.broadcasts),
      };
    }) as [InstanceFigures, InstanceFigures];
    const delivery = {
      ...figures("class_broadcast", stats.latency, o.broadcasts * live),
      outOfOrder: stats.outOfOrder,
      closedByServer: stats.closedByServer,
    };
    o.log(
      `  two instances: p50 ${delivery.p50Ms} ms, p99 ${delivery.p99Ms} ms, lost ${delivery.lost}, ` +
        `CPU µs/conn/broadcast A ${instances[0].cpuUsPerConnectionPerBroadcast.toFixed(2)} ` +
        `B ${instances[1].cpuUsPerConnectionPerBroadcast.toFixed(2)}`,
    );
    return { connections: live, broadcasts: o.broadcasts, delivery, instances };
  } finally {
    trigger.close();
    await pool.stop();
  }
}
