/// <reference lib="dom" />
/**
 * <attendance-feed> in real headless Chromium against the real service on another origin.
 */
import assert from "node:assert/strict";
import { localDay } from "../../widget/feed_view.ts";
import { eventually, postJson, startTestServer } from "../support/test_server.ts";
import {
  connectionState,
  launchChromium,
  startPortal,
  waitForText,
  widgetText,
} from "./support/browser.ts";

async function setup(env: Record<string, string> = {}) {
  const portal = await startPortal();
  const server = await startTestServer({ ALLOWED_ORIGINS: portal.url, ...env });
  return { portal, server };
}

Deno.test("widget: goes live and shows a notification sent to the student", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  const { portal, server } = await setup();
  await using _p = portal;
  await using _s = server;
  portal.token = await server.student("s-1", "c-1");
  const page = await browser.newPage();
  await page.goto(`${portal.url}/page?endpoint=${server.url}&token-url=/token`);
  await waitForText(page, "Live");
  assert.equal(await connectionState(page), "live");
  const res = await postJson(`${server.url}/api/students/notifications/test`, portal.token, {
    testType: "notification",
  });
  assert.equal(res.status, 200);
  await waitForText(page, "Test notification");
  assert.match(await widgetText(page), /1 unread|Notifications ?1/);
  const announced = await page.evaluate(() =>
    document.querySelector("attendance-feed")!.shadowRoot!.querySelector("[aria-live].sr-only")
      ?.textContent
  );
  assert.equal(announced, "New notification: Test notification");
});

Deno.test("widget: fires element and window events for the host page", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  const { portal, server } = await setup();
  await using _p = portal;
  await using _s = server;
  const token = await server.student("s-9", "c-1");
  const page = await browser.newPage();
  await page.goto(`${portal.url}/page?endpoint=${server.url}&token=${token}`);
  await page.evaluate(() => {
    const seen: string[] = (globalThis as unknown as { seen: string[] }).seen = [];
    for (const name of ["attendance-update", "metrics-update", "notification"]) {
      document.body.addEventListener(name, () => seen.push(`el:${name}`));
    }
    for (const name of ["sse-attendance-update", "sse-metrics-update", "sse-notification"]) {
      globalThis.addEventListener(name, () => seen.push(`win:${name}`));
    }
    document.body.addEventListener("connection-state-change", (e) => {
      seen.push(`state:${(e as CustomEvent).detail.state}`);
    });
  });
  await waitForText(page, "Live");
  for (const testType of ["attendance_update", "metrics_update", "notification"]) {
    await postJson(`${server.url}/api/students/notifications/test`, token, { testType });
  }
  await waitForText(page, "Test notification");
  const seen = await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
  for (const name of ["attendance-update", "metrics-update", "notification"]) {
    assert.ok(seen.includes(`el:${name}`), `element event ${name}: ${seen}`);
    assert.ok(seen.includes(`win:sse-${name}`), `window event sse-${name}: ${seen}`);
  }
  assert.match(await widgetText(page), /Period 1 · Test subject Present/);
  assert.match(await widgetText(page), /100%.*1 of 1/);
});

Deno.test("widget: server restart -> reconnecting, then replays what was sent meanwhile", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  const portal = await startPortal();
  await using _p = portal;
  // The first instance tells clients to come back after 3 s: time to restart and send meanwhile.
  let server = await startTestServer({ ALLOWED_ORIGINS: portal.url, SHUTDOWN_GRACE_MS: "3000" });
  const port = new URL(server.url).port;
  try {
    const token = portal.token = await server.student("s-2", "c-1");
    const page = await browser.newPage();
    await page.goto(`${portal.url}/page?endpoint=${server.url}&token-url=/token`);
    await waitForText(page, "Live");
    await postJson(`${server.url}/api/students/notifications/test`, token, {
      testType: "notification",
    });
    await waitForText(page, "Test notification");
    await server.shutdown();
    await waitForText(page, "Reconnecting");
    const status = await page.evaluate(() =>
      (document.querySelector("attendance-feed") as unknown as {
        connectionStatus: { state: string; retryInMs: number };
      }).connectionStatus
    );
    assert.equal(status.state, "reconnecting");
    assert.ok(status.retryInMs >= 3000, `waits the server's retryAfterMs (${status.retryInMs})`);
    server = await startTestServer({ ALLOWED_ORIGINS: portal.url, PORT: port });
    // Sent before the widget is back: it must arrive by replay (Last-Event-ID).
    const res = await postJson(`${server.url}/api/students/notifications/test`, undefined, {
      testType: "class_broadcast",
      classId: "c-1",
      title: "Sent while you were away",
    }, { authorization: `Bearer ${await server.teacher("t-1", ["c-1"])}` });
    assert.equal(res.status, 200);
    assert.equal(server.internals.streams.registry.size, 0, "sent before the widget is back");
    await waitForText(page, "Sent while you were away", 15_000);
    await waitForText(page, "Live");
  } finally {
    await server.shutdown();
  }
});

Deno.test("widget: a refused token -> unauthorized, then recovers through token-url", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  const { portal, server } = await setup();
  await using _p = portal;
  await using _s = server;
  portal.token = await server.student("s-3", "c-1");
  const page = await browser.newPage();
  await page.goto(`${portal.url}/page?endpoint=${server.url}&token=${portal.token}x`);
  await waitForText(page, "Sign-in needed");
  assert.equal(await connectionState(page), "unauthorized");
  assert.equal(server.internals.streams.registry.size, 0);
  await page.evaluate(() =>
    document.querySelector("attendance-feed")!.setAttribute("token-url", "/token")
  );
  await waitForText(page, "Live");
  assert.ok(portal.tokenRequests >= 1);
});

Deno.test("widget: server strings render as text (XSS payload stays inert)", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  const { portal, server } = await setup();
  await using _p = portal;
  await using _s = server;
  const token = await server.student("s-4", "c-x");
  const page = await browser.newPage();
  await page.goto(`${portal.url}/page?endpoint=${server.url}&token=${token}`);
  await waitForText(page, "Live");
  const title = `<img src=x onerror="window.__xss=1">`;
  const message = `<script>window.__xss=2</script><b>bold?</b>`;
  const res = await postJson(`${server.url}/api/students/notifications/test`, undefined, {
    testType: "class_broadcast",
    classId: "c-x",
    title,
    message,
  }, { authorization: `Bearer ${await server.teacher("t-1", ["c-x"])}` });
  assert.equal(res.status, 200);
  await waitForText(page, title);
  await waitForText(page, message);
  const probe = await page.evaluate(() => ({
    xss: (globalThis as unknown as { __xss?: number }).__xss,
    injected: document.querySelector("attendance-feed")!.shadowRoot!
      .querySelectorAll("img, script, b").length,
  }));
  assert.deepEqual(probe, { xss: undefined, injected: 0 });
});

Deno.test("widget: removing the element closes its server-side stream", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  const { portal, server } = await setup();
  await using _p = portal;
  await using _s = server;
  const token = await server.student("s-5", "c-1");
  const page = await browser.newPage();
  await page.goto(`${portal.url}/page?endpoint=${server.url}&token=${token}`);
  await waitForText(page, "Live");
  assert.equal(server.internals.streams.registry.size, 1);
  await page.evaluate(() => document.querySelector("attendance-feed")!.remove());
  await eventually(() => server.internals.streams.registry.size === 0, 2000, "stream closed");
});

Deno.test("widget: two tabs share one stream; the other tab takes over when the leader closes", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  const { portal, server } = await setup();
  await using _p = portal;
  await using _s = server;
  const token = await server.student("s-6", "c-1");
  const other = await server.student("s-6", "c-1", 7200); // another token, same student
  const context = await browser.newContext();
  const first = await context.newPage();
  await first.goto(`${portal.url}/page?endpoint=${server.url}&token=${token}`);
  await waitForText(first, "Live");
  const second = await context.newPage();
  await second.goto(`${portal.url}/page?endpoint=${server.url}&token=${other}`);
  await waitForText(second, "Live");
  assert.equal(server.internals.streams.registry.size, 1, "one stream for two tabs");

  await postJson(`${server.url}/api/students/notifications/test`, token, {
    testType: "notification",
  });
  await waitForText(first, "Test notification");
  await waitForText(second, "Test notification");

  const closedAt = Date.now();
  await first.close();
  await eventually(
    () =>
      server.internals.streams.registry.size === 1 &&
      server.internals.streams.registry.forStudent("s-6").length === 1,
    5000,
    "the second tab's own stream",
  );
  await postJson(`${server.url}/api/students/notifications/test`, token, {
    testType: "metrics_update",
  });
  await waitForText(second, "1 of 1");
  assert.ok(Date.now() - closedAt < 5000, "takeover within a few seconds");
  assert.equal(server.internals.streams.registry.size, 1);
  await context.close();
});

Deno.test("widget: starts from the snapshot; mark-as-read reaches the server and the other tab", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  const { portal, server } = await setup();
  await using _p = portal;
  await using _s = server;
  const token = await server.student("s-11", "c-11");
  const teacher = await server.teacher("t-11", ["c-11"]);
  const mark = await postJson(`${server.url}/api/attendance`, teacher, {
    studentId: "s-11",
    classId: "c-11",
    date: localDay(new Date()),
    period: 3,
    status: "LEAVE",
    subject: "Chemistry",
  });
  assert.equal(mark.status, 200, JSON.stringify(mark.body));
  const sent = await postJson(`${server.url}/api/notifications`, teacher, {
    studentId: "s-11",
    title: "Sent before you opened the page",
    message: "From the snapshot",
    severity: "warning",
  });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));

  const context = await browser.newContext();
  const first = await context.newPage();
  await first.goto(`${portal.url}/page?endpoint=${server.url}&token=${token}`);
  await waitForText(first, "Period 3 · Chemistry Leave");
  await waitForText(first, "Sent before you opened the page");
  const second = await context.newPage();
  await second.goto(`${portal.url}/page?endpoint=${server.url}&token=${token}`);
  await waitForText(second, "Mark as read");
  assert.equal(await unread(first), 1);

  await first.getByRole("button", { name: /Mark as read/ }).click();
  await eventually(async () => await unread(first) === 0, 3000, "read in this tab");
  await eventually(async () => await unread(second) === 0, 3000, "read in the other tab");
  await first.reload();
  await waitForText(first, "Sent before you opened the page");
  assert.equal(await unread(first), 0, "the server kept it read");
  assert.doesNotMatch(await widgetText(first), /Mark as read/);
  await context.close();
});

function unread(page: import("playwright-core").Page): Promise<number> {
  return page.evaluate(() =>
    (document.querySelector("attendance-feed") as unknown as { unreadCount: number }).unreadCount
  );
}

Deno.test("widget: goes offline with the browser and reconnects at once when it is back", async () => {
  await using browser = await launchChromium();
  if (!browser) return;
  const { portal, server } = await setup();
  await using _p = portal;
  await using _s = server;
  const token = await server.student("s-12", "c-1");
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${portal.url}/page?endpoint=${server.url}&token=${token}&lang=de-DE`);
  await waitForText(page, "Live");
  await postJson(`${server.url}/api/students/notifications/test`, token, {
    testType: "metrics_update",
  });
  await waitForText(page, "100 %", 3000); // German number formatting from the lang attribute
  await context.setOffline(true);
  await waitForText(page, "Offline");
  await eventually(() => server.internals.streams.registry.size === 0, 3000, "stream closed");
  const back = Date.now();
  await context.setOffline(false);
  await waitForText(page, "Live");
  assert.ok(Date.now() - back < 2000, "no backoff wait after the online event");
  await context.close();
});
