/**
 * Starts the servers under test as subprocesses (their CPU and memory are read from /proc by pid)
 * and stops them by pid.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** Which server: the raw baseline or the product. */
export type ServerKind = "baseline" | "product";

/** A running server under test. */
export interface ServerProcess {
  kind: ServerKind;
  url: string;
  hostname: string;
  port: number;
  pid: number;
  /**
   * When it said it was listening (`performance.now()` of this process): the product's timers
   * (its tracking refresh, say) count from about then.
   */
  listeningAt: number;
  /** Everything it printed. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start one server. */
export interface ServerSpec {
  kind: ServerKind;
  env: Record<string, string>;
  /** Extra `deno run` flags, e.g. `--v8-flags=--prof`. */
  denoFlags?: string[];
}

/**
 * The V8 flags of `deno task start` (deno.json), so that servers under test run as deployed.
 *
 * @example
 * ```ts
 * await startTaskV8Flags(); // ["--no-memory-reducer", "--no-incremental-marking-task", "--expose-gc"]
 * ```
 */
export async function startTaskV8Flags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const start: string = config.tasks?.start ?? "";
  return [...start.matchAll(/--v8-flags=(\S+)/g)].flatMap((m) => m[1].split(","));
}

/**
 * `deno run`'s argument for `flags`: none for no flags.
 *
 * @example
 * ```ts
 * v8FlagsArgument(["--expose-gc", "--trace-gc"]); // ["--v8-flags=--expose-gc,--trace-gc"]
 * ```
 */
export function v8FlagsArgument(flags: readonly string[]): string[] {
  return flags.length ? [`--v8-flags=${flags.join(",")}`] : [];
}

const running = new Set<Deno.ChildProcess>();

/** SIGKILLs every server still running: the driver's last resort before it exits on a deadline. */
export function killAllServers(): void {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}

/**
 * Spawns a server and waits (at most 30 s) for its `listening on http://…` line.
 *
 * @example
 * ```ts
 * const server = await startServer({ kind: "baseline", env: { PORT: "0" } });
 * await server.stop();
 * ```
 */
export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const script = spec.kind === "baseline" ? "bench/baseline_server.ts" : "server/main.ts";
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...(spec.denoFlags ?? []), `${ROOT}${script}`],
    cwd: ROOT,
    env: { NO_COLOR: "1", PORT: "0", HOST: "127.0.0.1", ...spec.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running.add(child);
  child.status.then(() => running.delete(child));
  let text = "";
  const listening = Promise.withResolvers<string>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      // Keep the start and the latest output only: a server may log a lot under load.
      text = (text + decoder.decode(chunk, { stream: true })).slice(-200_000);
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match) listening.resolve(match[1]);
    }
  };
  const exited = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => child.status);
  exited.then(() => listening.reject(new Error(`${spec.kind} server exited: ${text}`)));
  const timer = setTimeout(
    () => listening.reject(new Error(`${spec.kind} server did not start in 30 s: ${text}`)),
    30_000,
  );
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  };
  let url: string;
  let listeningAt: number;
  try {
    url = await listening.promise;
    listeningAt = performance.now();
  } catch (error) {
    kill("SIGKILL");
    await exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const { hostname, port } = new URL(url);
  return {
    kind: spec.kind,
    url,
    hostname,
    port: Number(port),
    pid: child.pid,
    listeningAt,
    output: () => text,
    async stop(graceMs = 8000) {
      kill("SIGTERM");
      const force = setTimeout(() => kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(force);
    },
  };
}
