/**
 * `POST /api/attendance` (mark, single or bulk) and `GET /api/attendance` (list).
 * The 1 MiB body limit of the POST is applied in app.ts, before any route.
 *
 * @module
 */

import { Hono } from "hono";
import { markAttendance } from "../attendance/marking.ts";
import { recordPayload } from "../attendance/record.ts";
import { validateAttendanceQuery, validateMarkBody } from "../attendance/validation.ts";
import { canManageClass } from "../auth/claims.ts";
import { authenticate } from "../auth/request_token.ts";
import { ForbiddenError, ValidationError } from "../errors.ts";
import type { FeatureDeps } from "./feature_deps.ts";
import { readJsonObject } from "./json_body.ts";

/**
 * Mounts the attendance routes.
 *
 * @example
 * ```ts
 * app.route("/", attendanceRoutes({ verifyToken, store, excusedAbsences: "absent" }));
 * ```
 */
export function attendanceRoutes(deps: FeatureDeps): Hono {
  const app = new Hono();

  app.post("/api/attendance", async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    if (principal.role === "student") {
      throw new ForbiddenError("Cannot mark attendance: only teachers and admins may");
    }
    const inputs = validateMarkBody(await readJsonObject(c, "mark attendance"));
    const result = await markAttendance(
      { store: deps.store, excusedAbsences: deps.excusedAbsences, now: deps.now },
      principal,
      inputs,
    );
    return c.json({
      stored: result.stored,
      corrections: result.corrections,
      unchanged: result.unchanged,
    });
  });

  app.get("/api/attendance", async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    const query = validateAttendanceQuery(c.req.query());
    if (principal.role === "student") {
      if (query.studentId !== undefined && query.studentId !== principal.sub) {
        throw new ForbiddenError("Cannot list attendance: students may list only their own");
      }
      query.studentId = principal.sub;
    } else if (query.classId === undefined && query.studentId === undefined) {
      throw new ValidationError("Cannot list attendance: give 'classId' or 'studentId'", [
        { field: "classId", message: "give 'classId' or 'studentId'" },
      ]);
    } else if (query.classId !== undefined && !canManageClass(principal, query.classId)) {
      throw new ForbiddenError(
        `Cannot list attendance: only teachers of class ${query.classId} and admins may`,
      );
    }
    let records = await deps.store.queryRecords(query);
    // A teacher asking by student sees that student's records in the teacher's classes only.
    if (principal.role === "teacher") {
      records = records.filter((r) => canManageClass(principal, r.classId));
    }
    return c.json({ records: records.map(recordPayload) });
  });

  return app;
}
