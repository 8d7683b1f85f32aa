/**
 * Tokens for the benchmark's students, teachers and admin, minted with jose like a portal would.
 *
 * @module
 */

import * as jose from "jose";

/** Claims of one benchmark user. */
export type BenchClaims =
  | { sub: string; role: "student"; classId: string }
  | { sub: string; role: "teacher"; classIds: string[] }
  | { sub: string; role: "admin" };

/**
 * Mints HS256 tokens valid for `ttlSeconds`.
 *
 * @example
 * ```ts
 * const [token] = await mintTokens(secret, [{ sub: "s-1", role: "student", classId: "c" }]);
 * ```
 */
export async function mintTokens(
  secret: string,
  users: BenchClaims[],
  ttlSeconds = 3600,
): Promise<string[]> {
  const key = new TextEncoder().encode(secret);
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
  return await Promise.all(
    users.map((claims) =>
      new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setExpirationTime(
        exp,
      ).sign(key)
    ),
  );
}

/** Student claims `bench-<prefix>-<i>` in `classId`, for `count` students. */
export function students(prefix: string, classId: string, count: number): BenchClaims[] {
  return Array.from(
    { length: count },
    (_, i) => ({ sub: `${prefix}-${i}`, role: "student" as const, classId }),
  );
}
