/**
 * HS256 JWT verification, synchronous. jose verifies through WebCrypto, whose
 * `crypto.subtle.verify` is an asynchronous op in Deno: ~60 µs of the server's ~330 µs per connect
 * in a profile of a connect wave. Here a token costs ~10 µs: the HMAC of hmac_sha256.ts from the
 * key's precomputed state, the header checked once per distinct header (a portal signs every token
 * with the same one), base64url decoded by V8's `Uint8Array.fromBase64`. Only HS256 with a shared
 * secret takes this path; key sets (RS256, ES256) stay with jose, and so does minting.
 *
 * It accepts exactly what `jose.jwtVerify(token, key, { algorithms: ["HS256"], issuer, audience,
 * requiredClaims })` accepts, and refuses for the same reason, except that any `crit` or `b64` header
 * is refused outright (jose accepts a few such headers; no portal needs them). A differential test
 * against jose holds it to that (tests/auth/hs256_test.ts).
 *
 * @module
 */

import { hmacSha256 } from "./hmac_sha256.ts";

/** Why a token was refused, in the categories of the 401's message (see token_verifier.ts). */
export type Hs256Refusal = "malformed" | "algorithm" | "signature" | "expired" | "claims";

/** Thrown by {@link verifyHs256}. */
export class Hs256Error extends Error {
  override name = "Hs256Error";
  constructor(readonly reason: Hs256Refusal) {
    super(`HS256 token refused: ${reason}`);
  }
}

/** The claims that must match, as jose's options of the same names. */
export interface Hs256Options {
  issuer?: string;
  audience?: string;
  /** Claims that must be present (own properties of the payload). */
  requiredClaims?: readonly string[];
  /** Seconds since the epoch (default: now). */
  nowS?: number;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** One signer per secret (the verifier passes the same bytes every time). */
const signers = new WeakMap<Uint8Array, (message: string) => Uint8Array>();
/** The last encoded header that passed the checks: the same text passes them again. */
let acceptedHeader = "";

/**
 * Verifies a compact HS256 JWS and its claims; returns the payload, or throws {@link Hs256Error}.
 *
 * @example
 * ```ts
 * const secret = new TextEncoder().encode(Deno.env.get("JWT_SECRET")!);
 * const claims = verifyHs256(token, secret, { requiredClaims: ["exp", "sub"] });
 * ```
 */
export function verifyHs256(
  token: string,
  secret: Uint8Array,
  options: Hs256Options = {},
): Record<string, unknown> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Hs256Error("malformed");
  const [encodedHeader, encodedPayload, encodedSignature] = parts;
  if (encodedHeader !== acceptedHeader) {
    checkHeader(decodeJsonObject(encodedHeader));
    acceptedHeader = encodedHeader;
  }

  const signature = decodeBase64url(encodedSignature);
  let sign = signers.get(secret);
  if (!sign) signers.set(secret, sign = hmacSha256(secret));
  if (!equalInConstantTime(signature, sign(`${encodedHeader}.${encodedPayload}`))) {
    throw new Hs256Error("signature");
  }

  const claims = decodeJsonObject(encodedPayload);
  checkClaims(claims, options);
  return claims;
}

function checkHeader(header: Record<string, unknown>): void {
  // Unencoded payloads and critical extensions: nothing a portal's token uses.
  if ("crit" in header || "b64" in header) throw new Hs256Error("malformed");
  if (typeof header.alg !== "string" || header.alg === "") throw new Hs256Error("malformed");
  if (header.alg !== "HS256") throw new Hs256Error("algorithm");
}

/** Compares every byte whatever the first difference: the time says nothing of where it was. */
function equalInConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/** jose's claim checks, in its order (src/lib/jwt_claims_set.ts), for the options above. */
function checkClaims(claims: Record<string, unknown>, options: Hs256Options): void {
  const required = [...(options.requiredClaims ?? [])];
  if (options.audience !== undefined) required.push("aud");
  if (options.issuer !== undefined) required.push("iss");
  for (const claim of required) {
    if (!Object.hasOwn(claims, claim)) throw new Hs256Error("claims");
  }
  if (options.issuer !== undefined && claims.iss !== options.issuer) {
    throw new Hs256Error("claims");
  }
  if (options.audience !== undefined) {
    const aud = claims.aud;
    const present = typeof aud === "string"
      ? aud === options.audience
      : Array.isArray(aud) && aud.includes(options.audience);
    if (!present) throw new Hs256Error("claims");
  }
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  const numeric = (claim: string) => {
    const value = claims[claim];
    if (value !== undefined && typeof value !== "number") throw new Hs256Error("claims");
    return value as number | undefined;
  };
  numeric("iat");
  const nbf = numeric("nbf");
  if (nbf !== undefined && nbf > now) throw new Hs256Error("claims");
  const exp = numeric("exp");
  if (exp !== undefined && exp <= now) throw new Hs256Error("expired");
}

function decodeBase64url(part: string): Uint8Array {
  // fromBase64 would skip white space and accept padding; jose's decoder refuses them, and so do
  // we. It ignores stray low bits of the last character, as jose's does.
  if (!BASE64URL.test(part) || part.length % 4 === 1) throw new Hs256Error("malformed");
  return Uint8Array.fromBase64(part, { alphabet: "base64url" });
}

function decodeJsonObject(part: string): Record<string, unknown> {
  if (part === "") throw new Hs256Error("malformed");
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(decodeBase64url(part)));
  } catch (error) {
    if (error instanceof Hs256Error) throw error;
    throw new Hs256Error("malformed");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Hs256Error("malformed");
  }
  return value as Record<string, unknown>;
}
