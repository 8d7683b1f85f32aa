/**
 * Token claims: the contract portals implement, validated as pure data.
 *
 * @module
 */

/** Roles a token may carry. */
export const ROLES = ["student", "teacher", "admin"] as const;
/** One of {@link ROLES}. */
export type Role = typeof ROLES[number];

/** Ids of users and classes: what every route accepts. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The verified identity behind a request. */
export interface Principal {
  sub: string;
  role: Role;
  /** A student's class. */
  classId?: string;
  /** A teacher's classes. */
  classIds: string[];
  /** Expiry, ms since epoch. */
  expiresAt: number;
}

/**
 * Turns a verified JWT payload into a {@link Principal}, or explains what is wrong with it.
 *
 * @example
 * ```ts
 * principalFromClaims({ sub: "s-1", role: "student", classId: "c-1", exp: 2e9 });
 * ```
 */
export function principalFromClaims(payload: Record<string, unknown>): Principal | string {
  const { sub, role, classId, classIds, exp } = payload;
  if (typeof sub !== "string" || !ID_PATTERN.test(sub)) {
    return "Token 'sub' must be an id of 1-64 letters, digits, '_' or '-'";
  }
  if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) {
    return `Token 'role' must be one of ${ROLES.join(", ")}`;
  }
  if (typeof exp !== "number" || !Number.isFinite(exp)) return "Token 'exp' is required";
  if (classId !== undefined && (typeof classId !== "string" || !ID_PATTERN.test(classId))) {
    return "Token 'classId' must be an id";
  }
  if (role === "student" && classId === undefined) return "Student tokens need a 'classId'";
  if (
    classIds !== undefined &&
    (!Array.isArray(classIds) ||
      !classIds.every((id) => typeof id === "string" && ID_PATTERN.test(id)))
  ) {
    return "Token 'classIds' must be an array of ids";
  }
  return {
    sub,
    role: role as Role,
    classId: classId as string | undefined,
    classIds: (classIds as string[] | undefined) ?? [],
    expiresAt: exp * 1000,
  };
}

/** True when the principal may act on a class: its teacher, or an admin. */
export function canManageClass(principal: Principal, classId: string): boolean {
  return principal.role === "admin" ||
    (principal.role === "teacher" && principal.classIds.includes(classId));
}
