/**
 * Builds the widget bundle: `widget/mod.ts` -> `dist/widget.js` (+ `.map`), minified ESM with
 * Lit and eventsource-parser inlined. Run with `deno task build`; the server calls
 * {@link buildWidget} itself when `dist/` is missing.
 *
 * @module
 */

import * as esbuild from "esbuild";

/** The repository root, whatever the working directory. */
const ROOT = new URL("../", import.meta.url);

/** The default output directory. */
export const DIST_DIR = new URL("dist/", ROOT);

/** Sizes of a build, in bytes. */
export interface BuildResult {
  file: string;
  bytes: number;
  gzipBytes: number;
}

/** Gzipped size of some bytes (what a browser downloads). */
export async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/**
 * Bundles the widget into `outDir` (default `dist/`).
 *
 * @example
 * ```ts
 * const { gzipBytes } = await buildWidget();
 * ```
 */
export async function buildWidget(options: { outDir?: URL } = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? DIST_DIR;
  const outfile = new URL("widget.js", outDir);
  try {
    await esbuild.build({
      absWorkingDir: ROOT.pathname,
      entryPoints: [new URL("widget/mod.ts", ROOT).pathname],
      outfile: outfile.pathname,
      bundle: true,
      format: "esm",
      target: "es2022",
      minify: true,
      sourcemap: "linked",
      legalComments: "eof",
      logLevel: "warning",
    });
  } finally {
    // esbuild keeps a child process alive between builds; a server or test must not inherit it.
    await esbuild.stop();
  }
  const bytes = await Deno.readFile(outfile);
  return { file: outfile.pathname, bytes: bytes.byteLength, gzipBytes: await gzipSize(bytes) };
}

if (import.meta.main) {
  const result = await buildWidget();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`${result.file}: ${kb(result.bytes)} minified, ${kb(result.gzipBytes)} gzipped`);
}
