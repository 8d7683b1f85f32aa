/**
 * Reading JSON bodies: a non-JSON body is a 400 that says so, never a crash.
 *
 * @module
 */

import type { Context } from "hono";
import { ValidationError } from "../errors.ts";

/**
 * Parses the request body as a JSON object.
 *
 * @example
 * ```ts
 * const body = await readJsonObject(c, "send test event");
 * ```
 */
export async function readJsonObject(c: Context, action: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new ValidationError(`Cannot ${action}: the body must be a JSON object`, [
      { field: "body", message: "must be valid JSON" },
    ]);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ValidationError(`Cannot ${action}: the body must be a JSON object`, [
      { field: "body", message: "must be a JSON object" },
    ]);
  }
  return body as Record<string, unknown>;
}
