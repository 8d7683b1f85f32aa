/**
 * Runs the service as a real process (`deno run server/main.ts`), as deployers do.
 *
 * @module
 */

/** A service process and the URL it listens on. */
export interface ServiceProcess {
  url: string;
  child: Deno.ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit status. */
  status: Promise<Deno.CommandStatus>;
  /** Sends SIGTERM (if still running) and waits for exit. */
  stop(): Promise<Deno.CommandStatus>;
}

const MAIN = new URL("../../server/main.ts", import.meta.url).pathname;

/**
 * Spawns `server/main.ts` with `env` (PORT=0 unless given) and extra `deno run` flags (`denoFlags`,
 * e.g. V8's), and waits for its listening line.
 *
 * @example
 * ```ts
 * const service = await spawnService({ JWT_SECRET: TEST_SECRET });
 * await service.stop();
 * ```
 */
export async function spawnService(
  env: Record<string, string>,
  timeoutMs = 20_000,
  denoFlags: string[] = [],
): Promise<ServiceProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...denoFlags, MAIN],
    env: { PORT: "0", NO_COLOR: "1", ...env },
    clearEnv: false,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let text = "";
  const listening = Promise.withResolvers<string>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match) listening.resolve(match[1]);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = pumps.then(() => child.status);
  const timer = setTimeout(
    () => listening.reject(new Error(`service did not start: ${text}`)),
    timeoutMs,
  );
  status.then(() => listening.reject(new Error(`service exited: ${text}`)));
  let url: string;
  try {
    url = await listening.promise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await status;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    url,
    child,
    output: () => text,
    status,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      return await status;
    },
  };
}
