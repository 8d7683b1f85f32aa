/**
 * `GET /widget.js` and `GET /widget.js.map`: the widget bundle, for any portal to load
 * (`Access-Control-Allow-Origin: *`), revalidated by `ETag`. When `dist/` has no bundle (a fresh
 * clone) the first request builds it; deployments without subprocesses (Deno Deploy) run
 * `deno task build` beforehand.
 *
 * @module
 */

import { Hono } from "hono";

/** Options of {@link widgetAssetRoutes}. */
export interface WidgetAssetOptions {
  /** Where the bundle lives; default `<repo>/dist/`. */
  distDir?: URL;
  /** Builds the bundle into `distDir`; default: esbuild via `widget/build.ts`. */
  build?: () => Promise<unknown>;
  /** `Cache-Control` max-age in seconds; the URL is not versioned, so keep it short. */
  maxAgeS?: number;
}

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
  mtime: number;
}

const TYPES: Record<string, string> = {
  "widget.js": "text/javascript; charset=utf-8",
  "widget.js.map": "application/json; charset=utf-8",
};

/** The bundle is missing and could not be built. */
export class WidgetBuildError extends Error {
  override name = "WidgetBuildError";
}

async function etagOf(body: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  return `"${Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

/**
 * Serves the bundle.
 *
 * @example
 * ```ts
 * createApp({ ...deps, extraRoutes: [widgetAssetRoutes()] });
 * ```
 */
export function widgetAssetRoutes(options: WidgetAssetOptions = {}): Hono {
  const distDir = options.distDir ?? new URL("../../dist/", import.meta.url);
  const build = options.build ?? (async () => {
    // Not a literal specifier on purpose: esbuild stays out of the module graph of deployments
    // (Deno Deploy) that ship a prebuilt dist/ and cannot run it anyway.
    const builder = "../../widget/build.ts";
    const { buildWidget } = await import(builder) as typeof import("../../widget/build.ts");
    return await buildWidget({ outDir: distDir });
  });
  const cacheControl = `public, max-age=${options.maxAgeS ?? 300}`;
  const cache = new Map<string, Asset>();
  let building: Promise<unknown> | undefined;
  let buildsEnded = 0;

  async function load(name: string): Promise<Asset> {
    const url = new URL(name, distDir);
    const endedBefore = buildsEnded;
    let stat = await Deno.stat(url).catch(() => null);
    // A build that ended while this stat was on its way may have made the file: look again
    // rather than start a second build.
    if (!stat && buildsEnded !== endedBefore) stat = await Deno.stat(url).catch(() => null);
    if (!stat) {
      // One build for all the requests that found the bundle missing.
      building ??= build().finally(() => {
        buildsEnded++;
        building = undefined;
      });
      try {
        await building;
      } catch (error) {
        throw new WidgetBuildError(`Cannot serve ${name}: building the widget failed (${error})`);
      }
      stat = await Deno.stat(url).catch(() => null);
      if (!stat) throw new WidgetBuildError(`Cannot serve ${name}: the build did not produce it`);
    }
    const mtime = stat.mtime?.getTime() ?? 0;
    const cached = cache.get(name);
    if (cached && cached.mtime === mtime) return cached;
    const body = await Deno.readFile(url);
    const asset = { body, etag: await etagOf(body), mtime };
    cache.set(name, asset);
    return asset;
  }

  const app = new Hono();
  for (const name of Object.keys(TYPES)) {
    app.get(`/${name}`, async (c) => {
      const headers: Record<string, string> = { "Access-Control-Allow-Origin": "*" };
      let asset: Asset;
      try {
        asset = await load(name);
      } catch (error) {
        if (!(error instanceof WidgetBuildError)) throw error;
        console.error(error.message);
        return c.json({ error: `${error.message}; run 'deno task build'` }, 503, headers);
      }
      Object.assign(headers, {
        "Cache-Control": cacheControl,
        ETag: asset.etag,
        "Content-Type": TYPES[name],
        "X-Content-Type-Options": "nosniff",
      });
      const match = c.req.header("if-none-match");
      if (match && match.split(",").some((tag) => tag.trim().replace(/^W\//, "") === asset.etag)) {
        return c.body(null, 304, headers);
      }
      return c.body(asset.body, 200, headers);
    });
  }
  return app;
}
