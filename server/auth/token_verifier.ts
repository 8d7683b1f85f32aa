/**
 * JWT verification: the only importer of jose on the server (HS256 is checked by hs256.ts).
 *
 * @module
 */

import * as jose from "jose";
import { AuthenticationError } from "../errors.ts";
import { type Principal, principalFromClaims } from "./claims.ts";
import { Hs256Error, type Hs256Refusal, verifyHs256 } from "./hs256.ts";

/** Verifies a raw token string into a {@link Principal}; throws {@link AuthenticationError}. */
export type TokenVerifier = (token: string) => Promise<Principal>;

/** Where keys come from and which claims must match. */
export type VerifierOptions =
  & { issuer?: string; audience?: string }
  & ({ secret: string } | { jwksUrl: string });

/**
 * Builds a verifier for HS256 with a shared secret, or RS256/ES256 with a remote JWK set.
 * Any other algorithm, `alg: none` included, is refused.
 *
 * @example
 * ```ts
 * const verify = createTokenVerifier({ secret: Deno.env.get("JWT_SECRET")! });
 * const principal = await verify(token);
 * ```
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  // The claims both paths check (hs256.ts checks them as jose does).
  const claims = {
    issuer: options.issuer,
    audience: options.audience,
    requiredClaims: ["exp", "sub"],
  };
  let verify: (token: string) => Promise<jose.JWTPayload>;
  if ("secret" in options) {
    // Not through jose: WebCrypto's HMAC is an asynchronous op in Deno, several times the cost of
    // hs256.ts's synchronous one on every connect (hs256.ts checks what jose would; its differential
    // test holds it to that).
    const secret = new TextEncoder().encode(options.secret);
    // A refusal becomes a rejection, as jose's are.
    verify = (token) => Promise.try(() => verifyHs256(token, secret, claims) as jose.JWTPayload);
  } else {
    const keys = jose.createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5000 });
    verify = async (token) =>
      (await jose.jwtVerify(token, keys, { ...claims, algorithms: ["RS256", "ES256"] }))
        .payload;
  }
  return async (token) => {
    let payload: jose.JWTPayload;
    try {
      payload = await verify(token);
    } catch (error) {
      throw new AuthenticationError(describeRefusal(error), true);
    }
    const principal = principalFromClaims(payload as Record<string, unknown>);
    if (typeof principal === "string") throw new AuthenticationError(principal, true);
    return principal;
  };
}

const HS256_REFUSALS: Record<Hs256Refusal, string> = {
  malformed: "Token is malformed",
  algorithm: "Token algorithm is not accepted",
  signature: "Token signature is invalid",
  expired: "Token expired",
  claims: "Token claims are not accepted",
};

function describeRefusal(error: unknown): string {
  return error instanceof Hs256Error ? HS256_REFUSALS[error.reason] : describeJoseError(error);
}

/** Our own words for jose's failures: its internal messages never reach clients. */
function describeJoseError(error: unknown): string {
  const code = (error as { code?: string })?.code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "Token expired";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "Token signature is invalid";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return "Token algorithm is not accepted";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return "Token claims are not accepted";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return "Token key is not known";
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JOSE_GENERIC":
      return "Token could not be verified";
    default:
      return "Token is malformed";
  }
}

/**
 * Signs an HS256 token; used by demo mode, the `token` task and tests.
 *
 * @example
 * ```ts
 * await mintToken(secret, { sub: "s-1", role: "student", classId: "c-1" }, 3600);
 * ```
 */
export function mintToken(
  secret: string,
  claims: Record<string, unknown>,
  ttlSeconds: number,
): Promise<string> {
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}
