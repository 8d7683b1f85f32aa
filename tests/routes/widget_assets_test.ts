import assert from "node:assert/strict";
import { Hono } from "hono";
import { type WidgetAssetOptions, widgetAssetRoutes } from "../../server/routes/widget_assets.ts";
import { buildWidget } from "../../widget/build.ts";

function serve(options: WidgetAssetOptions) {
  const app = new Hono();
  app.route("/", widgetAssetRoutes(options));
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function tempDist(): Promise<URL & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "widget-dist-" });
  const url = new URL(`file://${path}/`) as URL & AsyncDisposable;
  url[Symbol.asyncDispose] = () => Deno.remove(path, { recursive: true });
  return url;
}

Deno.test("widgetAssetRoutes() serves widget.js with ETag, Cache-Control and CORS *", async () => {
  await using dist = await tempDist();
  await Deno.writeTextFile(new URL("widget.js", dist), "export const x = 1;\n");
  await Deno.writeTextFile(new URL("widget.js.map", dist), "{}");
  await using server = await serve({ distDir: dist, build: () => Promise.reject(new Error("no")) });
  const res = await fetch(`${server.url}/widget.js`, {
    headers: { origin: "https://portal.example" },
  });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "export const x = 1;\n");
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.match(res.headers.get("content-type")!, /^text\/javascript/);
  assert.match(res.headers.get("cache-control")!, /max-age=\d+/);
  const etag = res.headers.get("etag")!;
  assert.match(etag, /^"[0-9a-f]{24}"$/);

  const again = await fetch(`${server.url}/widget.js`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  assert.equal(again.headers.get("etag"), etag);
  await again.body?.cancel();

  const map = await fetch(`${server.url}/widget.js.map`);
  assert.equal(map.status, 200);
  assert.match(map.headers.get("content-type")!, /^application\/json/);
  await map.body?.cancel();

  await Deno.writeTextFile(new URL("widget.js", dist), "export const x = 2;\n");
  await Deno.utime(new URL("widget.js", dist), new Date(), new Date(Date.now() + 5000));
  const changed = await fetch(`${server.url}/widget.js`, { headers: { "if-none-match": etag } });
  assert.equal(changed.status, 200, "a rebuilt bundle gets a new ETag");
  assert.notEqual(changed.headers.get("etag"), etag);
  await changed.body?.cancel();
});

Deno.test("widgetAssetRoutes() builds once when dist/ is missing", async () => {
  await using dist = await tempDist();
  let builds = 0;
  const build = async () => {
    builds++;
    await Deno.writeTextFile(new URL("widget.js", dist), "built");
    await Deno.writeTextFile(new URL("widget.js.map", dist), "{}");
  };
  await using server = await serve({ distDir: dist, build });
  const responses = await Promise.all(
    Array.from({ length: 5 }, () => fetch(`${server.url}/widget.js`)),
  );
  assert.deepEqual(await Promise.all(responses.map((r) => r.text())), Array(5).fill("built"));
  assert.equal(builds, 1);
});

Deno.test("widgetAssetRoutes() answers 503 JSON when the build fails", async () => {
  await using dist = await tempDist();
  await using server = await serve({
    distDir: dist,
    build: () => Promise.reject(new Error("esbuild missing")),
  });
  const log = console.error;
  console.error = () => {};
  try {
    const res = await fetch(`${server.url}/widget.js`);
    assert.equal(res.status, 503);
    assert.match((await res.json()).error, /deno task build/);
  } finally {
    console.error = log;
  }
});

Deno.test("buildWidget() bundles Lit within the 20 KB gzipped budget", async () => {
  await using dist = await tempDist();
  const result = await buildWidget({ outDir: dist });
  assert.ok(result.gzipBytes <= 20 * 1024, `bundle is ${result.gzipBytes} B gzipped`);
  const js = await Deno.readTextFile(new URL("widget.js", dist));
  assert.match(js, /sourceMappingURL=widget\.js\.map/);
  assert.match(js, /attendance-feed/);
  const map = JSON.parse(await Deno.readTextFile(new URL("widget.js.map", dist)));
  assert.ok(map.sources.some((s: string) => s.endsWith("widget/feed_client.ts")));
});
