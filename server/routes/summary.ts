/**
 * `GET /api/students/me/summary`: what a widget starting cold shows before it opens the stream,
 * with the id to resume the stream from so that it receives exactly the changes after this.
 *
 * @module
 */

import { Hono } from "hono";
import { classMetrics } from "../attendance/metrics.ts";
import { recordPayload } from "../attendance/record.ts";
import { isCalendarDate } from "../attendance/validation.ts";
import { authenticate } from "../auth/request_token.ts";
import { ForbiddenError, ValidationError } from "../errors.ts";
import type { FeatureDeps } from "./feature_deps.ts";

/** Notifications in a summary. */
export const SUMMARY_NOTIFICATIONS = 20;

/**
 * Mounts the summary route. "Today" is the UTC date unless the portal passes `?date=YYYY-MM-DD`
 * (its own time zone's today).
 *
 * @example
 * ```ts
 * app.route("/", summaryRoutes({ verifyToken, store, excusedAbsences: "absent" }));
 * ```
 */
export function summaryRoutes(deps: FeatureDeps): Hono {
  const app = new Hono();
  app.get("/api/students/me/summary", async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    if (principal.role !== "student") {
      throw new ForbiddenError("Cannot load summary: only student tokens have one");
    }
    const date = c.req.query("date") ?? (deps.now?.() ?? new Date()).toISOString().slice(0, 10);
    if (!isCalendarDate(date)) {
      throw new ValidationError("Cannot load summary: 'date' must be a date (YYYY-MM-DD)", [
        { field: "date", message: "must be a date (YYYY-MM-DD)" },
      ]);
    }
    const classId = principal.classId!;
    await deps.store.learnMember(classId, principal.sub);
    const snapshot = await deps.store.readSnapshot({
      studentId: principal.sub,
      classId,
      date,
      notificationLimit: SUMMARY_NOTIFICATIONS,
    });
    const metrics = classMetrics(snapshot.classCounts, deps.excusedAbsences).get(principal.sub);
    return c.json({
      records: snapshot.records.map(recordPayload),
      metrics: metrics ?? null,
      notifications: snapshot.notifications,
      lastEventId: snapshot.lastEventId,
    });
  });
  return app;
}
