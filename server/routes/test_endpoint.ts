/**
 * `/api/students/notifications/test`: lets a developer see a stream work without the rest of the
 * portal. Off unless `ENABLE_TEST_ENDPOINT=true` or demo mode.
 *
 * @module
 */

import { Hono } from "hono";
import { canManageClass, ID_PATTERN, type Principal } from "../auth/claims.ts";
import { authenticate } from "../auth/request_token.ts";
import type { TokenVerifier } from "../auth/token_verifier.ts";
import type { Bus } from "../bus/bus.ts";
import { broadcastToClass, sendToStudent } from "../bus/send.ts";
import { ForbiddenError, ValidationError } from "../errors.ts";
import type { EventType } from "../events.ts";
import type { StudentStreams } from "../streams/student_streams.ts";
import { readJsonObject } from "./json_body.ts";

/** Accepted `testType` values. */
export const TEST_TYPES = [
  "ping",
  "attendance_update",
  "metrics_update",
  "notification",
  "class_broadcast",
  "connection_info",
] as const;

const PATH = "/api/students/notifications/test";

/** Mounts the test endpoint. */
export function testEndpointRoutes(deps: {
  verifyToken: TokenVerifier;
  bus: Bus;
  streams: StudentStreams;
  instanceId: string;
}): Hono {
  const app = new Hono();

  app.get(PATH, async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    return c.json(await connectionInfo(deps, principal));
  });

  app.post(PATH, async (c) => {
    const principal = await authenticate(c, deps.verifyToken);
    const body = await readJsonObject(c, "send test event");
    const testType = body.testType;
    if (typeof testType !== "string" || !(TEST_TYPES as readonly string[]).includes(testType)) {
      throw new ValidationError(
        `Cannot send test event: 'testType' must be one of ${TEST_TYPES.join(", ")}`,
        [{ field: "testType", message: `must be one of ${TEST_TYPES.join(", ")}` }],
      );
    }
    if (testType === "connection_info") return c.json(await connectionInfo(deps, principal));
    if (testType === "class_broadcast") {
      const classId = body.classId;
      if (typeof classId !== "string" || !ID_PATTERN.test(classId)) {
        throw new ValidationError("Cannot broadcast: 'classId' must be a class id", [
          { field: "classId", message: "must be a class id" },
        ]);
      }
      if (!canManageClass(principal, classId)) {
        throw new ForbiddenError("Cannot broadcast: only the class's teachers and admins may");
      }
      const eventId = await broadcastToClass(deps.bus, classId, "notification", {
        id: crypto.randomUUID(),
        title: typeof body.title === "string" ? body.title.slice(0, 120) : "Test broadcast",
        message: typeof body.message === "string"
          ? body.message.slice(0, 2000)
          : `Hello, class ${classId}`,
        severity: "info",
        createdAt: new Date().toISOString(),
      });
      return c.json({ sent: true, testType, classId, eventId });
    }
    const studentId = targetStudent(principal, body.studentId);
    if (testType === "ping") {
      const local = deps.streams.registry.forStudent(studentId);
      for (const connection of local) deps.streams.ping(connection);
      return c.json({ sent: true, testType, streams: local.length });
    }
    const eventId = await sendToStudent(
      deps.bus,
      studentId,
      testType as EventType,
      samplePayload(testType, studentId, principal),
    );
    return c.json({ sent: true, testType, studentId, eventId });
  });

  return app;
}

/** A student tests its own streams; an admin may name a student. */
function targetStudent(principal: Principal, requested: unknown): string {
  if (requested === undefined || requested === principal.sub) return principal.sub;
  if (typeof requested !== "string" || !ID_PATTERN.test(requested)) {
    throw new ValidationError("Cannot send test event: 'studentId' must be a student id", [
      { field: "studentId", message: "must be a student id" },
    ]);
  }
  if (principal.role !== "admin") {
    throw new ForbiddenError("Cannot send test event: only admins may target another student");
  }
  return requested;
}

function samplePayload(testType: string, studentId: string, principal: Principal): unknown {
  const classId = principal.classId ?? "test-class";
  switch (testType) {
    case "attendance_update":
      return {
        studentId,
        date: new Date().toISOString().slice(0, 10),
        period: 1,
        status: "PRESENT",
        subject: "Test subject",
        markedBy: principal.sub,
        classId,
      };
    case "metrics_update":
      return {
        studentId,
        attendanceRate: 100,
        totalClasses: 1,
        presentDays: 1,
        ranking: 1,
        classSize: 1,
        classAverage: 100,
        trend: "stable",
      };
    default:
      return {
        id: crypto.randomUUID(),
        title: "Test notification",
        message: "If you can read this, your stream works.",
        severity: "info",
        createdAt: new Date().toISOString(),
      };
  }
}

async function connectionInfo(
  deps: { streams: StudentStreams; instanceId: string },
  principal: Principal,
) {
  const [totals, mine] = await Promise.all([
    deps.streams.tracker.totals(),
    deps.streams.tracker.studentConnections(principal.sub),
  ]);
  return {
    user: { sub: principal.sub, role: principal.role },
    streams: mine.map((c) => ({
      connectionId: c.id,
      instanceId: c.instanceId,
      classId: c.classId,
      connectedAt: new Date(c.connectedAt).toISOString(),
    })),
    instance: { id: deps.instanceId, connections: deps.streams.registry.size },
    total: totals,
  };
}
