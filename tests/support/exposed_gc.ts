/**
 * Runs a script in a Deno process of its own with V8's `gc()` exposed: the only place a test can
 * ask for a collection and see what it freed.
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Evaluates `script` with `--expose-gc`, asserts that it exited cleanly and returns the JSON of the
 * last line it printed.
 *
 * @example
 * ```ts
 * const { kept } = await evalWithExposedGc<{ kept: number }>(`gc(); console.log('{"kept":0}');`);
 * ```
 */
export async function evalWithExposedGc<T>(script: string): Promise<T> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
}
