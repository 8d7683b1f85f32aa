/**
 * The demo portal (demo mode only): `/` is a plain "school portal" page that embeds the widget
 * exactly as a real portal would — one script tag, one element with a `token-url` — beside a small
 * teacher panel that marks attendance and sends notifications, so a newcomer sees the feed move.
 *
 * @module
 */

import { Hono } from "hono";
import { mintToken } from "../auth/token_verifier.ts";

/** A token, or a function that mints a fresh one (so the demo also shows token renewal). */
export type TokenProvider = string | (() => string | Promise<string>);

/** Options of {@link demoPortalRoutes}. */
export interface DemoPortalOptions {
  studentToken: TokenProvider;
  teacherToken: TokenProvider;
  /** The demo student's id and class; must match the tokens' claims. */
  studentId?: string;
  classId?: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Mounts `GET /` (the page), `GET /demo/student-token` (the widget's token-url) and
 * `GET /demo/teacher-token` (for the panel). Never mount it outside demo mode: it hands out tokens.
 *
 * @example
 * ```ts
 * extraRoutes.push(demoPortalRoutes({ studentToken: () => mint("student"), teacherToken }));
 * ```
 */
export function demoPortalRoutes(options: DemoPortalOptions): Hono {
  const studentId = options.studentId ?? "demo-student";
  const classId = options.classId ?? "demo-class";
  const resolve = async (provider: TokenProvider) =>
    typeof provider === "string" ? provider : await provider();
  const app = new Hono();
  const noStore = { "Cache-Control": "no-store" };
  app.get("/", (c) => c.html(portalPage(studentId, classId), 200, noStore));
  app.get(
    "/demo/student-token",
    async (c) => c.json({ token: await resolve(options.studentToken) }, 200, noStore),
  );
  app.get(
    "/demo/teacher-token",
    async (c) => c.json({ token: await resolve(options.teacherToken) }, 200, noStore),
  );
  return app;
}

/**
 * Token providers for demo mode: fresh tokens for `demo-student` (class `demo-class`) and its
 * teacher, minted per request with the throw-away secret, valid 15 minutes (so a page left open
 * also shows the widget renewing its token through `token-url`).
 *
 * @example
 * ```ts
 * demoPortalRoutes(demoTokens(secret));
 * ```
 */
export function demoTokens(
  secret: string,
  ttlSeconds = 900,
): { studentToken: () => Promise<string>; teacherToken: () => Promise<string> } {
  return {
    studentToken: () =>
      mintToken(
        secret,
        { sub: "demo-student", role: "student", classId: "demo-class" },
        ttlSeconds,
      ),
    teacherToken: () =>
      mintToken(
        secret,
        { sub: "demo-teacher", role: "teacher", classIds: ["demo-class"] },
        ttlSeconds,
      ),
  };
}

function portalPage(studentId: string, classId: string): string {
  const student = escapeHtml(studentId);
  const klass = escapeHtml(classId);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Springfield High — student portal (attendance-feed demo)</title>
<style>
  :root { color-scheme: light dark; --bg: #f6f8fa; --card: #ffffff; --fg: #1f2328;
    --muted: #59636e; --border: #d1d9e0; --accent: #0550ae; }
  @media (prefers-color-scheme: dark) {
    :root { --bg: #010409; --card: #0d1117; --fg: #e6edf3; --muted: #9198a1;
      --border: #3d444d; --accent: #4493f8; }
  }
  body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.5 system-ui, sans-serif; }
  header.top { padding: 0.75rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--border); }
  header.top h1 { margin: 0; font-size: 1.25rem; }
  header.top p { margin: 0; color: var(--muted); font-size: 0.9rem; }
  main { display: grid; gap: 1.5rem; padding: 1.5rem; grid-template-columns: minmax(0, 30rem) minmax(0, 24rem); }
  @media (max-width: 56rem) { main { grid-template-columns: 1fr; } }
  section.card { background: var(--card); border: 1px solid var(--border); border-radius: 0.75rem; padding: 1rem 1.25rem; }
  h2 { margin: 0 0 0.5rem; font-size: 1.1rem; }
  form { display: grid; gap: 0.5rem; margin-bottom: 1.25rem; }
  fieldset { border: 1px solid var(--border); border-radius: 0.5rem; display: grid; gap: 0.5rem; }
  legend { font-weight: 600; padding: 0 0.25rem; }
  .row { display: grid; grid-template-columns: 1fr 1fr; gap: 0.5rem; }
  label { display: grid; gap: 0.15rem; font-size: 0.9rem; }
  input, select, textarea, button { font: inherit; padding: 0.35rem 0.5rem; border-radius: 0.4rem;
    border: 1px solid var(--border); background: var(--card); color: var(--fg); }
  button { background: var(--accent); border-color: var(--accent); color: var(--card); font-weight: 600; cursor: pointer; }
  .muted { color: var(--muted); font-size: 0.9rem; }
  attendance-feed { margin-top: 0.75rem; }
</style>
<script type="module" src="/widget.js"></script>
</head>
<body>
<header class="top">
  <h1>Springfield High</h1>
  <p>Student portal — signed in as <strong>${student}</strong> (class ${klass})</p>
</header>
<main>
  <section class="card" aria-labelledby="student-heading">
    <h2 id="student-heading">My day</h2>
    <p class="muted">This is the embedded widget, exactly as a portal adds it:
      one script tag and one <code>&lt;attendance-feed&gt;</code> element.</p>
    <attendance-feed endpoint="" token-url="/demo/student-token"></attendance-feed>
  </section>
  <section class="card" aria-labelledby="teacher-heading">
    <h2 id="teacher-heading">Teacher panel</h2>
    <p class="muted">Acts as the class's teacher; the widget on the left updates live.</p>
    <form id="mark">
      <fieldset>
        <legend>Mark attendance for ${student}</legend>
        <div class="row">
        <label>Period <select name="period">${
    Array.from({ length: 8 }, (_, i) => `<option>${i + 1}</option>`).join("")
  }</select></label>
        <label>Status <select name="status">
          <option>PRESENT</option><option>ABSENT</option><option>SICK</option><option>LEAVE</option>
        </select></label>
        </div>
        <label>Subject <input name="subject" value="Mathematics" required maxlength="100"></label>
        <button type="submit">Mark attendance</button>
      </fieldset>
    </form>
    <form id="notify">
      <fieldset>
        <legend>Send a notification</legend>
        <label>Title <input name="title" value="Field trip tomorrow" required maxlength="120"></label>
        <label>Message <textarea name="message" rows="2" required maxlength="2000">Bring a packed lunch.</textarea></label>
        <div class="row">
        <label>Severity <select name="severity">
          <option>info</option><option>success</option><option>warning</option><option>error</option>
        </select></label>
        <label>Link (optional) <input name="actionUrl" type="url" placeholder="https://…"></label>
        </div>
        <button type="submit">Send notification</button>
      </fieldset>
    </form>
    <p id="result" role="status" class="muted"></p>
  </section>
</main>
<script type="module">
  const studentId = ${JSON.stringify(studentId)};
  const classId = ${JSON.stringify(classId)};
  const result = document.getElementById("result");
  const token = async (who) => (await (await fetch("/demo/" + who + "-token")).json()).token;
  const post = async (path, who, body) => {
    const res = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer " + await token(who) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json().catch(() => ({})) };
  };
  const today = () => {
    const d = new Date();
    return [d.getFullYear(), d.getMonth() + 1, d.getDate()].map((n) => String(n).padStart(2, "0")).join("-");
  };
  const report = (what, res) => {
    result.textContent = res.status < 300 ? what + ": done" : what + " failed: " + (res.body.error ?? res.status);
  };
  document.getElementById("mark").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    let res = await post("/api/attendance", "teacher", {
      studentId, classId, date: today(), period: Number(f.get("period")),
      status: f.get("status"), subject: f.get("subject"),
    });
    // Servers without the attendance API: fall back to the test endpoint's sample mark.
    if (res.status === 404) res = await post("/api/students/notifications/test", "student", { testType: "attendance_update" });
    report("Mark attendance", res);
  });
  document.getElementById("notify").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const body = { studentId, title: f.get("title"), message: f.get("message"), severity: f.get("severity") };
    if (f.get("actionUrl")) body.actionUrl = f.get("actionUrl");
    let res = await post("/api/notifications", "teacher", body);
    if (res.status === 404) {
      res = await post("/api/students/notifications/test", "teacher", {
        testType: "class_broadcast", classId, title: body.title, message: body.message,
      });
    }
    report("Send notification", res);
  });
</script>
</body>
</html>
`;
}
