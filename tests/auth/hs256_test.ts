/**
 * verifyHs256 against jose: over a matrix of tokens (good, expired, tampered, wrong algorithm,
 * malformed in many ways, claims that miss), both must accept the same tokens with the same claims
 * and refuse the others for the same reason.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as jose from "jose";
import { Hs256Error, type Hs256Refusal, verifyHs256 } from "../../server/auth/hs256.ts";

const SECRET = "a-secret-of-at-least-32-bytes-for-hs256!";
const key = new TextEncoder().encode(SECRET);
const now = Math.floor(Date.now() / 1000);
const b64 = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const hmac = async (input: string, secret = key) => {
  const k = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return Buffer.from(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(input)))
    .toString("base64url");
};
/** A token with exactly this header and payload text, signed (HS256) over what is given. */
const raw = async (header: unknown, payload: unknown, secret = key) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${await hmac(input, secret)}`;
};
const claims = { sub: "s-1", role: "student", classId: "c-1", exp: now + 600 };
const HS = { alg: "HS256", typ: "JWT" };

/** jose's refusal, in verifyHs256's categories (as token_verifier.ts words them). */
function joseReason(error: unknown): Hs256Refusal {
  switch ((error as { code?: string }).code) {
    case "ERR_JWT_EXPIRED":
      return "expired";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "signature";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return "algorithm";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return "claims";
    default:
      return "malformed";
  }
}

type Outcome = { claims: Record<string, unknown> } | { refused: Hs256Refusal };

async function viaJose(token: string, options: jose.JWTVerifyOptions): Promise<Outcome> {
  try {
    const { payload } = await jose.jwtVerify(token, key, { ...options, algorithms: ["HS256"] });
    return { claims: payload as Record<string, unknown> };
  } catch (error) {
    return { refused: joseReason(error) };
  }
}

function viaOurs(token: string, options: { issuer?: string; audience?: string }): Outcome {
  try {
    return { claims: verifyHs256(token, key, { ...options, requiredClaims: ["exp", "sub"] }) };
  } catch (error) {
    if (!(error instanceof Hs256Error)) throw error;
    return { refused: error.reason };
  }
}

Deno.test("verifyHs256() accepts and refuses exactly as jose.jwtVerify (HS256)", async () => {
  const sign = (payload: jose.JWTPayload, header: jose.JWTHeaderParameters = { alg: "HS256" }) =>
    new jose.SignJWT(payload).setProtectedHeader(header).sign(key);
  const good = await sign(claims);
  const [h, p, s] = good.split(".");
  const rsa = await jose.generateKeyPair("RS256");
  const cases: Record<string, string> = {
    "good": good,
    "good, typ and kid": await sign(claims, { alg: "HS256", typ: "JWT", kid: "k1" }),
    "good, unicode claim": await sign({ ...claims, name: "Zoë 😀" }),
    "good, iat and nbf now": await sign({ ...claims, iat: now, nbf: now }),
    "good, iat in the future": await sign({ ...claims, iat: now + 3600 }),
    "expired a minute ago": await sign({ ...claims, exp: now - 60 }),
    "expires this second": await sign({ ...claims, exp: now }),
    "not before a minute from now": await sign({ ...claims, nbf: now + 60 }),
    "nbf a string": await raw(HS, { ...claims, nbf: "1" }),
    "iat a string": await raw(HS, { ...claims, iat: "1" }),
    "exp a string": await raw(HS, { ...claims, exp: String(now + 600) }),
    "no exp": await raw(HS, { sub: "s-1" }),
    "no sub": await raw(HS, { exp: now + 600 }),
    "wrong secret": await raw(
      HS,
      claims,
      new TextEncoder().encode("another-secret-32-bytes-long!!!!"),
    ),
    "payload swapped": `${h}.${b64({ ...claims, role: "admin" })}.${s}`,
    "header swapped": `${b64({ alg: "HS256", kid: "x" })}.${p}.${s}`,
    "signature cut": `${h}.${p}.${s.slice(0, -2)}`,
    "signature empty": `${h}.${p}.`,
    "alg none": `${b64({ alg: "none" })}.${p}.`,
    "alg HS512": await sign(claims, { alg: "HS512" }),
    "alg RS256": await new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256" }).sign(
      rsa.privateKey,
    ),
    "alg missing": await raw({ typ: "JWT" }, claims),
    "alg empty": await raw({ alg: "" }, claims),
    "alg a number": await raw({ alg: 256 }, claims),
    "alg lower case": await raw({ alg: "hs256" }, claims),
    "two parts": `${h}.${p}`,
    "four parts": `${good}.${s}`,
    "empty": "",
    "dots only": "..",
    "header not JSON": `${b64("{alg")}.${p}.${await hmac(`${b64("{alg")}.${p}`)}`,
    "header an array": await raw(["HS256"], claims),
    "header empty": `.${p}.${await hmac(`.${p}`)}`,
    "header bad base64": `${h}*.${p}.${s}`,
    "payload an array": await raw(HS, [claims]),
    "payload null": await raw(HS, "null"),
    "payload not JSON": await raw(HS, "{sub:"),
    "payload not UTF-8": await (async () => {
      const bad = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString("base64url");
      return `${b64(HS)}.${bad}.${await hmac(`${b64(HS)}.${bad}`)}`;
    })(),
    "payload empty": `${h}..${await hmac(`${h}.`)}`,
  };
  // Where verifyHs256 is stricter than jose on purpose: it refuses every crit and b64 header, and a
  // signature with base64 padding or white space (RFC 7515 has neither; jose's decoder skips them).
  const stricter: Record<string, string> = {
    "signature padded": `${h}.${p}.${s}=`,
    "signature with a space": `${h}.${p}.${s.slice(0, 5)} ${s.slice(5)}`,
    // Padded, and with + or / when the signature's bytes give them (jose refuses those).
    "signature in base64": `${h}.${p}.${Buffer.from(s, "base64url").toString("base64")}`,
    "crit b64 true": await raw({ alg: "HS256", b64: true, crit: ["b64"] }, claims),
    "crit unknown": await raw({ alg: "HS256", crit: ["exp"] }, claims),
    "b64 without crit": await raw({ alg: "HS256", b64: false }, claims),
  };
  const optionSets = [{}, { issuer: "portal", audience: "feed" }];
  const withIssuer = {
    "iss and aud right": await sign({ ...claims, iss: "portal", aud: "feed" }),
    "aud in an array": await sign({ ...claims, iss: "portal", aud: ["other", "feed"] }),
    "iss wrong": await sign({ ...claims, iss: "elsewhere", aud: "feed" }),
    "aud wrong": await sign({ ...claims, iss: "portal", aud: ["other"] }),
    "iss missing": await sign({ ...claims, aud: "feed" }),
    "aud missing": await sign({ ...claims, iss: "portal" }),
    "aud a number": await raw(HS, { ...claims, iss: "portal", aud: 5 }),
  };
  let accepted = 0;
  for (const options of optionSets) {
    for (const [name, token] of Object.entries({ ...cases, ...withIssuer })) {
      const expected = await viaJose(token, { ...options, requiredClaims: ["exp", "sub"] });
      assert.deepEqual(viaOurs(token, options), expected, `${name} ${JSON.stringify(options)}`);
      if ("claims" in expected) accepted++;
    }
    for (const [name, token] of Object.entries(stricter)) {
      assert.deepEqual(viaOurs(token, options), { refused: "malformed" }, name);
    }
  }
  // Both outcomes are exercised: without options the 5 good tokens and the 7 iss/aud ones pass
  // (iss and aud unchecked then); with options only the 2 right iss/aud pairs.
  assert.equal(accepted, 5 + 7 + 2);
});

Deno.test("verifyHs256() compares signatures in constant time and refuses before parsing claims", async () => {
  // A token whose payload is garbage but whose signature is wrong: the signature decides first.
  const header = b64({ alg: "HS256" });
  const token = `${header}.${b64("not json")}.${await hmac(`${header}.x`)}`;
  assert.throws(() => verifyHs256(token, key), (e) => (e as Hs256Error).reason === "signature");
});
