/// <reference lib="dom" />
/**
 * Real headless Chromium for the widget tests (Debian's /usr/bin/chromium driven by
 * playwright-core), and a "portal" origin that serves the widget bundle, test pages and a
 * token-url — the service under test runs on another origin, as in production.
 *
 * @module
 */

import { Hono } from "hono";
import { type Browser, chromium, type Page } from "playwright-core";
import { widgetAssetRoutes } from "../../../server/routes/widget_assets.ts";
import { buildWidget } from "../../../widget/build.ts";

/** Where CI installs Chromium (`apt-get install chromium`). */
export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/**
 * Launches Chromium; null (after saying why) when it is not installed, except under CI=true
 * where a missing browser fails the test.
 */
export async function launchChromium(): Promise<(Browser & AsyncDisposable) | null> {
  const found = await Deno.stat(CHROMIUM).then(() => true, () => false);
  if (!found) {
    if (Deno.env.get("CI") === "true") throw new Error(`Chromium not found at ${CHROMIUM}`);
    console.log(`skipped: Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
    return null;
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI has no user namespace sandbox; these pages are our own.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

let built: Promise<URL> | undefined;
/** Builds the bundle once per test process into a temp dir (parallel test files do not collide). */
function bundleDir(): Promise<URL> {
  return built ??= (async () => {
    const dir = new URL(`file://${await Deno.makeTempDir({ prefix: "widget-test-" })}/`);
    await buildWidget({ outDir: dir });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return dir;
  })();
}

/** A portal origin under test. */
export interface Portal extends AsyncDisposable {
  url: string;
  /** The token `GET /token` hands out next. */
  token: string;
  /** How many times `/token` was fetched. */
  tokenRequests: number;
}

/**
 * Serves `/widget.js`, `/token` (`{"token": portal.token}`) and `/page?…` — a page with one
 * `<attendance-feed>` whose attributes are the query parameters.
 */
export async function startPortal(token = ""): Promise<Portal> {
  const app = new Hono();
  app.route("/", widgetAssetRoutes({ distDir: await bundleDir() }));
  const portal = { url: "", token, tokenRequests: 0 } as Portal;
  app.get("/token", (c) => {
    portal.tokenRequests++;
    return c.json({ token: portal.token }, 200, { "cache-control": "no-store" });
  });
  app.get("/page", (c) => {
    const attrs = [...new URL(c.req.url).searchParams]
      .map(([k, v]) => `${k}="${v.replace(/&/g, "&amp;").replace(/"/g, "&quot;")}"`).join(" ");
    return c.html(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Widget test</title><script type="module" src="/widget.js"></script></head>
<body><main><attendance-feed ${attrs}></attendance-feed></main></body></html>`);
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  portal.url = `http://127.0.0.1:${server.addr.port}`;
  portal[Symbol.asyncDispose] = () => server.shutdown();
  return portal;
}

/** The text of the element's shadow root (what a student sees). */
export function widgetText(page: Page, selector = "attendance-feed"): Promise<string> {
  return page.evaluate(
    (s) => document.querySelector(s)?.shadowRoot?.textContent?.replace(/\s+/g, " ") ?? "",
    selector,
  );
}

/** Waits until the element's visible text contains `text`. */
export async function waitForText(
  page: Page,
  text: string,
  timeoutMs = 5000,
  selector = "attendance-feed",
): Promise<void> {
  try {
    await page.waitForFunction(
      ([s, t]) =>
        document.querySelector(s)?.shadowRoot?.textContent?.replace(/\s+/g, " ").includes(t),
      [selector, text] as const,
      { timeout: timeoutMs, polling: 20 },
    );
  } catch {
    throw new Error(`widget never showed '${text}'; it shows: ${await widgetText(page, selector)}`);
  }
}

/** The element's `connectionState` property. */
export function connectionState(page: Page, selector = "attendance-feed"): Promise<string> {
  return page.evaluate(
    (s) => (document.querySelector(s) as unknown as { connectionState: string }).connectionState,
    selector,
  );
}
