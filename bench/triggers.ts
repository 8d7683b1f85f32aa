/**
 * How the driver makes a server send: a class broadcast through the test endpoint (both servers
 * take it) and attendance marks through `POST /api/attendance` (the product, once it has the
 * route). Every event carries the benchmark marker with its send time, stamped as the request is
 * written (see {@link RawHttpClient}).
 *
 * @module
 */

import { preciseNow } from "./precise_clock.ts";
import type { RawHttpClient } from "./raw_http_client.ts";
import { benchMarker } from "./sse_scanner.ts";

const TEST_PATH = "/api/students/notifications/test";
const ATTENDANCE_PATH = "/api/attendance";

/** A failed trigger request. */
export class TriggerError extends Error {
  override name = "TriggerError";
}

function post(client: RawHttpClient, path: string, token: string, body: () => unknown) {
  return client.post(path, { Authorization: `Bearer ${token}` }, () => JSON.stringify(body()));
}

/**
 * Sends broadcast number `k` to a class; resolves once the server answered (in memory mode, after
 * it has enqueued the frame into every local stream).
 *
 * @example
 * ```ts
 * await classBroadcast(new RawHttpClient(server.url), adminToken, "bench-all", 1);
 * ```
 */
export async function classBroadcast(
  client: RawHttpClient,
  token: string,
  classId: string,
  k: number,
): Promise<void> {
  const response = await post(client, TEST_PATH, token, () => ({
    testType: "class_broadcast",
    classId,
    message: `bench ${benchMarker(k, preciseNow())}`,
  }));
  if (response.status < 200 || response.status > 299) {
    throw new TriggerError(
      `Cannot broadcast: the server answered ${response.status} ${response.body}`,
    );
  }
}

/**
 * Makes the baseline ping every stream once per `periodMs` (0: stop), as the product's heartbeat
 * does; see bench/baseline_server.ts.
 */
export async function baselineHeartbeat(
  client: RawHttpClient,
  token: string,
  periodMs: number,
): Promise<void> {
  const response = await post(client, "/bench/heartbeat", token, () => ({ periodMs }));
  if (response.status !== 200) {
    throw new TriggerError(`Cannot start the baseline's heartbeat: ${response.status}`);
  }
}

/** True when the server has `POST /api/attendance` (any answer but 404). */
export async function hasAttendanceRoute(client: RawHttpClient, token: string): Promise<boolean> {
  const response = await post(client, ATTENDANCE_PATH, token, () => ({}));
  return response.status !== 404;
}

/**
 * Marks every student of `studentIds` with `status` (default PRESENT) for one period, in one bulk
 * request, with round `k`'s marker in the subject (a changed subject is stored and sent, so every
 * round sends again; a changed status is a correction that also moves every student's metrics).
 */
export async function markAttendance(
  client: RawHttpClient,
  token: string,
  classId: string,
  studentIds: string[],
  k: number,
  status: "PRESENT" | "ABSENT" = "PRESENT",
): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  const response = await post(client, ATTENDANCE_PATH, token, () => {
    const subject = `bench ${benchMarker(k, preciseNow())}`;
    const records = studentIds.map((studentId) => ({
      studentId,
      classId,
      date,
      period: 1,
      status,
      subject,
    }));
    return { records };
  });
  if (response.status < 200 || response.status > 299) {
    throw new TriggerError(
      `Cannot mark attendance: the server answered ${response.status} ${response.body}`,
    );
  }
}
