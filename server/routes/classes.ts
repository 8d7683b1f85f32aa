/**
 * Class rosters: `PUT /api/classes/{classId}/roster` (admins) and `GET` (its teachers, admins).
 * Membership is also learned from attendance records and student tokens.
 *
 * @module
 */

import { Hono } from "hono";
import { validateRosterBody } from "../attendance/validation.ts";
import { canManageClass, ID_PATTERN } from "../auth/claims.ts";
import { authenticate } from "../auth/request_token.ts";
import { ForbiddenError, ValidationError } from "../errors.ts";
import type { FeatureDeps } from "./feature_deps.ts";
import { readJsonObject } from "./json_body.ts";

function classIdOf(raw: string, action: string): string {
  if (!ID_PATTERN.test(raw)) {
    throw new ValidationError(`Cannot ${action}: the class id must be an id`, [
      { field: "classId", message: "must be an id" },
    ]);
  }
  return raw;
}

/**
 * Mounts the roster routes.
 *
 * @example
 * ```ts
 * app.route("/", classRoutes({ verifyToken, store, excusedAbsences: "absent" }));
 * ```
 */
export function classRoutes(deps: FeatureDeps): Hono {
  const app = new Hono();

  app.put("/api/classes/:classId/roster", async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    const classId = classIdOf(c.req.param("classId"), "set roster");
    if (principal.role !== "admin") {
      throw new ForbiddenError("Cannot set roster: only admins may");
    }
    const studentIds = validateRosterBody(await readJsonObject(c, "set roster"));
    await deps.store.setRoster(classId, studentIds);
    return c.json({ classId, studentIds: await deps.store.roster(classId) });
  });

  app.get("/api/classes/:classId/roster", async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    const classId = classIdOf(c.req.param("classId"), "read roster");
    if (!canManageClass(principal, classId)) {
      throw new ForbiddenError(
        `Cannot read roster: only teachers of class ${classId} and admins may`,
      );
    }
    return c.json({ classId, studentIds: await deps.store.roster(classId) });
  });

  return app;
}
