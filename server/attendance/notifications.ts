/**
 * Sending notifications: authorize, assign an id, keep it for students who are offline, and send
 * one `notification` event (on the student's channel, or once on the class channel).
 *
 * @module
 */

import { canManageClass, type Principal } from "../auth/claims.ts";
import { classChannel, studentChannel } from "../bus/bus.ts";
import { ForbiddenError } from "../errors.ts";
import { feedEvent, type NotificationPayload } from "../events.ts";
import type { NotificationStore, RosterStore } from "../store/feed_store.ts";
import type { NotificationInput } from "./validation.ts";

/** What sending needs. */
export interface NotificationDeps {
  store: NotificationStore & RosterStore;
  now?: () => Date;
}

/**
 * Sends a validated notification as `principal`: admins to anyone; teachers to their classes and
 * to students whose known class is one of theirs. Resolves with the stored notification and the
 * event id.
 *
 * @example
 * ```ts
 * const { notification, eventId } = await sendNotification(deps, teacher, validateNotificationBody(body));
 * ```
 */
export async function sendNotification(
  deps: NotificationDeps,
  principal: Principal,
  input: NotificationInput,
): Promise<{ notification: NotificationPayload & { createdAt: string }; eventId: string }> {
  if (principal.role === "student") {
    throw new ForbiddenError("Cannot send notification: only teachers and admins may");
  }
  const { target } = input;
  if ("classId" in target) {
    if (!canManageClass(principal, target.classId)) {
      throw new ForbiddenError(
        `Cannot send notification: only teachers of class ${target.classId} and admins may notify it`,
      );
    }
  } else if (principal.role !== "admin") {
    const classId = await deps.store.classOf(target.studentId);
    if (classId === null || !canManageClass(principal, classId)) {
      throw new ForbiddenError(
        `Cannot send notification: ${target.studentId} is not a student of your classes`,
      );
    }
  }
  const now = (deps.now ?? (() => new Date()))();
  const notification: NotificationPayload & { createdAt: string } = {
    id: crypto.randomUUID(),
    title: input.title,
    message: input.message,
    severity: input.severity,
    createdAt: now.toISOString(),
  };
  if (input.actionUrl !== undefined) notification.actionUrl = input.actionUrl;
  const channel = "classId" in target
    ? classChannel(target.classId)
    : studentChannel(target.studentId);
  const [eventId] = await deps.store.commitNotification(target, notification, [
    { channel, event: feedEvent("notification", notification, now) },
  ]);
  return { notification, eventId };
}
