/**
 * `POST /api/notifications` (teachers, admins), and a student's kept notifications:
 * `GET /api/students/notifications?limit=20`, `POST /api/students/notifications/{id}/read`.
 *
 * @module
 */

import { Hono } from "hono";
import { sendNotification } from "../attendance/notifications.ts";
import { validateNotificationBody } from "../attendance/validation.ts";
import type { Principal } from "../auth/claims.ts";
import { authenticate } from "../auth/request_token.ts";
import { ForbiddenError, NotFoundError, ValidationError } from "../errors.ts";
import { NOTIFICATIONS_KEPT } from "../store/feed_store.ts";
import type { FeatureDeps } from "./feature_deps.ts";
import { readJsonObject } from "./json_body.ts";

function requireStudent(principal: Principal, action: string): void {
  if (principal.role !== "student") {
    throw new ForbiddenError(`Cannot ${action}: only student tokens have notifications`);
  }
}

/**
 * Mounts the notification routes.
 *
 * @example
 * ```ts
 * app.route("/", notificationRoutes({ verifyToken, store, excusedAbsences: "absent" }));
 * ```
 */
export function notificationRoutes(deps: FeatureDeps): Hono {
  const app = new Hono();

  app.post("/api/notifications", async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    if (principal.role === "student") {
      throw new ForbiddenError("Cannot send notification: only teachers and admins may");
    }
    const input = validateNotificationBody(await readJsonObject(c, "send notification"));
    const { notification, eventId } = await sendNotification(
      { store: deps.store, now: deps.now },
      principal,
      input,
    );
    return c.json({ id: notification.id, eventId, notification }, 201);
  });

  app.get("/api/students/notifications", async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    requireStudent(principal, "list notifications");
    const raw = c.req.query("limit") ?? "20";
    const limit = Number(raw);
    if (!/^\d{1,3}$/.test(raw) || limit < 1 || limit > NOTIFICATIONS_KEPT) {
      throw new ValidationError(
        `Cannot list notifications: 'limit' must be an integer from 1 to ${NOTIFICATIONS_KEPT}`,
        [{ field: "limit", message: `must be an integer from 1 to ${NOTIFICATIONS_KEPT}` }],
      );
    }
    await deps.store.learnMember(principal.classId!, principal.sub);
    const notifications = await deps.store.listNotifications(
      principal.sub,
      principal.classId!,
      limit,
    );
    return c.json({ notifications });
  });

  app.post("/api/students/notifications/:id/read", async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    requireStudent(principal, "mark notification read");
    const id = c.req.param("id");
    const found = /^[A-Za-z0-9_-]{1,64}$/.test(id)
      ? await deps.store.markRead(principal.sub, principal.classId!, id)
      : null;
    if (!found) {
      throw new NotFoundError(
        `Cannot mark notification read: no notification '${id.slice(0, 64)}'`,
      );
    }
    return c.json({ notification: found });
  });

  return app;
}
