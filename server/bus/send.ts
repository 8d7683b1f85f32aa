/**
 * The core API every feature uses to reach students: record an event and deliver it live.
 *
 * @module
 */

import { type EventType, feedEvent } from "../events.ts";
import { type Bus, classChannel, studentChannel } from "./bus.ts";

/**
 * Sends one event to one student (all of its streams, on every instance). Resolves with the
 * event id once recorded; rejects with `BusUnavailableError` when it cannot be recorded.
 *
 * @example
 * ```ts
 * const id = await sendToStudent(bus, "s-1", "notification", { id: "n1", title: "Hi", message: "…", severity: "info" });
 * ```
 */
export async function sendToStudent<T>(
  bus: Bus,
  studentId: string,
  type: EventType,
  data: T,
): Promise<string> {
  const [id] = await bus.publish([{
    channel: studentChannel(studentId),
    event: feedEvent(type, data),
  }]);
  return id;
}

/**
 * Broadcasts one event to every student of a class; serialized and recorded once for the class.
 *
 * @example
 * ```ts
 * await broadcastToClass(bus, "c-1", "notification", { id: "n2", title: "Trip", message: "…", severity: "info" });
 * ```
 */
export async function broadcastToClass<T>(
  bus: Bus,
  classId: string,
  type: EventType,
  data: T,
): Promise<string> {
  const [id] = await bus.publish([{
    channel: classChannel(classId),
    event: feedEvent(type, data),
  }]);
  return id;
}
