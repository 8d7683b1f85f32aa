/**
 * A private `redis-server` for the benchmark, so that other users of a shared Redis (whose long
 * scripts block it for milliseconds at a time) do not show up in the figures. Stopped by its pid.
 *
 * @module
 */

/** A Redis the benchmark started. */
export interface PrivateRedis {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function ping(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buf = new Uint8Array(16);
      const n = await conn.read(buf);
      return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
}

/**
 * Starts `redis-server` on a free loopback port without persistence; null when there is no
 * `redis-server` binary.
 *
 * @example
 * ```ts
 * const redis = await startPrivateRedis();
 * if (redis) await redis.stop();
 * ```
 */
export async function startPrivateRedis(): Promise<PrivateRedis | null> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    return null;
  }
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
  };
  for (let i = 0; i < 50; i++) {
    if (await ping(port)) return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`Cannot run the Redis modes: redis-server did not answer on port ${port}`);
}
