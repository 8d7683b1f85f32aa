/**
 * Finds the token on a request: `Authorization: Bearer`, the `session-token` cookie, or the
 * `access_token` query parameter (for plain EventSource across origins).
 *
 * @module
 */

import { getCookie } from "hono/cookie";
import type { Context } from "hono";
import { AuthenticationError } from "../errors.ts";
import type { Principal } from "./claims.ts";
import type { TokenVerifier } from "./token_verifier.ts";

/** The raw token of a request, or null when it has none. */
export function requestToken(c: Context): string | null {
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : "";
  }
  const cookie = getCookie(c, "session-token");
  if (cookie) return cookie;
  return c.req.query("access_token") ?? null;
}

/**
 * Verifies the request's token; throws {@link AuthenticationError} (401) when missing or bad.
 *
 * @example
 * ```ts
 * const principal = await authenticate(c, verifier);
 * ```
 */
export async function authenticate(c: Context, verify: TokenVerifier): Promise<Principal> {
  const token = requestToken(c);
  if (token === null) {
    throw new AuthenticationError("Authentication required: no token given", false);
  }
  if (token === "") throw new AuthenticationError("Token is malformed", true);
  return await verify(token);
}
