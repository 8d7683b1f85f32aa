/// <reference lib="dom" />
/**
 * The demo portal as `deno task start` serves it (demo mode), in headless Chromium.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { parseConfig } from "../../server/config.ts";
import { startService } from "../../server/main.ts";
import { launchChromium, waitForText } from "./support/browser.ts";

const AXE = new URL("../../node_modules/axe-core/axe.min.js", import.meta.url);

async function startDemo() {
  // No JWT_SECRET: demo mode, exactly what `deno task start` runs on a fresh clone.
  const service = await startService(
    parseConfig({ PORT: "0", HOST: "127.0.0.1", SHUTDOWN_GRACE_MS: "200" }),
  );
  return Object.assign(service, { [Symbol.asyncDispose]: () => service.shutdown() });
}

async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE.pathname });
  return await page.evaluate(async () => {
    const axe = (globalThis as unknown as {
      axe: {
        run(ctx: Document): Promise<{
          violations: { id: string; nodes: { target: unknown }[] }[];
        }>;
      };
    }).axe;
    const result = await axe.run(document);
    return result.violations.map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  });
}

Deno.test("demo portal: a teacher's mark shows in the widget within 1 s of the POST", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  await using service = await startDemo();
  const page = await browser.newPage();
  await page.goto(`${service.url}/`);
  await waitForText(page, "Live", 10_000);
  // Until the attendance API is mounted the panel falls back to the test endpoint (after a 404).
  const posted = page.waitForResponse((r) =>
    r.request().method() === "POST" && r.status() !== 404 &&
    /\/api\/(attendance|students\/notifications\/test)$/.test(r.url())
  );
  await page.selectOption("select[name=period]", "1");
  await page.selectOption("select[name=status]", "PRESENT");
  await page.click("#mark button[type=submit]");
  const response = await posted;
  assert.equal(response.status(), 200, await response.text());
  const t0 = Date.now();
  await waitForText(page, "Period 1 ·", 1000);
  await waitForText(page, "Present", 1000);
  assert.ok(Date.now() - t0 < 1000);
  assert.match(await page.textContent("#result") ?? "", /done/);
});

Deno.test("demo portal: axe-core finds no accessibility violations (light and dark)", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  await using service = await startDemo();
  const page = await browser.newPage();
  await page.goto(`${service.url}/`);
  await waitForText(page, "Live", 10_000);
  await page.click("#mark button[type=submit]");
  await page.click("#notify button[type=submit]");
  await waitForText(page, "Period 1");
  await waitForText(page, "Field trip tomorrow");
  assert.deepEqual(await axeViolations(page), []);
  await page.emulateMedia({ colorScheme: "dark" });
  assert.deepEqual(await axeViolations(page), []);
});
