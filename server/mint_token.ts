/**
 * `deno task token --role student --sub s-1 --class c-1 [--classes c-1,c-2] [--ttl 3600]`:
 * prints a token signed with JWT_SECRET, for curl users.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ID_PATTERN, ROLES } from "./auth/claims.ts";
import { mintToken } from "./auth/token_verifier.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      role: { type: "string", default: "student" },
      sub: { type: "string" },
      class: { type: "string" },
      classes: { type: "string" },
      ttl: { type: "string", default: "3600" },
    },
  });
  const secret = Deno.env.get("JWT_SECRET");
  const fail = (message: string): never => {
    console.error(`Cannot mint token: ${message}`);
    Deno.exit(2);
  };
  if (!secret || new TextEncoder().encode(secret).length < 32) {
    fail("JWT_SECRET must be set to the server's secret (at least 32 bytes)");
  }
  if (!(ROLES as readonly string[]).includes(values.role!)) {
    fail(`--role must be one of ${ROLES.join(", ")}`);
  }
  if (!values.sub || !ID_PATTERN.test(values.sub)) {
    fail("--sub must be an id ([A-Za-z0-9_-]{1,64})");
  }
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) fail("--ttl must be a positive number of seconds");
  const claims: Record<string, unknown> = { sub: values.sub, role: values.role };
  if (values.class) claims.classId = values.class;
  if (values.classes) claims.classIds = values.classes.split(",").map((s) => s.trim());
  if (values.role === "student" && !values.class) fail("--class is required for students");
  console.log(await mintToken(secret!, claims, ttl));
}
