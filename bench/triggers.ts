/**
 * How the driver makes a server send: a class broadcast through the test endpoint (both servers
 * take it) and attendance marks through `POST /api/attendance` (the product, once it has the
 * route). Every event carries the benchmark marker with its send time.
 *
 * @module
 */

import { preciseNow } from "./load_client.ts";
import { benchMarker } from "./sse_scanner.ts";

const TEST_PATH = "/api/students/notifications/test";
const ATTENDANCE_PATH = "/api/attendance";

/** A failed trigger request. */
export class TriggerError extends Error {
  override name = "TriggerError";
}

async function post(url: string, token: string, body: unknown): Promise<Response> {
  const response = await fetch(url, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response;
}

/**
 * Sends broadcast number `k` to a class; resolves once the server answered (in memory mode, after
 * it has enqueued the frame into every local stream).
 *
 * @example
 * ```ts
 * await classBroadcast(server.url, adminToken, "bench-all", 1);
 * ```
 */
export async function classBroadcast(
  baseUrl: string,
  token: string,
  classId: string,
  k: number,
): Promise<void> {
  const message = `bench ${benchMarker(k, preciseNow())}`;
  const response = await post(`${baseUrl}${TEST_PATH}`, token, {
    testType: "class_broadcast",
    classId,
    message,
  });
  if (!response.ok) {
    throw new TriggerError(`Cannot broadcast: the server answered ${response.status}`);
  }
}

/** True when the server has `POST /api/attendance` (any answer but 404). */
export async function hasAttendanceRoute(baseUrl: string, token: string): Promise<boolean> {
  const response = await post(`${baseUrl}${ATTENDANCE_PATH}`, token, {});
  return response.status !== 404;
}

/**
 * Marks every student of `studentIds` PRESENT for one period, in one bulk request, with round `k`'s
 * marker in the subject (a changed subject is stored and sent, so every round sends again).
 */
export async function markAttendance(
  baseUrl: string,
  token: string,
  classId: string,
  studentIds: string[],
  k: number,
): Promise<void> {
  const subject = `bench ${benchMarker(k, preciseNow())}`;
  const date = new Date().toISOString().slice(0, 10);
  const records = studentIds.map((studentId) => ({
    studentId,
    classId,
    date,
    period: 1,
    status: "PRESENT",
    subject,
  }));
  const response = await post(`${baseUrl}${ATTENDANCE_PATH}`, token, { records });
  if (!response.ok) {
    throw new TriggerError(`Cannot mark attendance: the server answered ${response.status}`);
  }
}
