/**
 * hmac_sha256.ts against RFC 4231's test vectors and against node:crypto over every key length
 * around the block size and every message length that crosses a padding boundary.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";
import { hmacSha256, sha256 } from "../../server/auth/hmac_sha256.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const bytes = (text: string) => new TextEncoder().encode(text);
const filled = (length: number, value: number) => new Uint8Array(length).fill(value);

Deno.test("sha256() gives FIPS 180-4's digests", () => {
  assert.equal(
    hex(sha256(bytes(""))),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    hex(sha256(bytes("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    hex(sha256(bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("hmacSha256() gives RFC 4231's HMAC-SHA-256 values", () => {
  const cases: [Uint8Array, string, string][] = [
    [
      filled(20, 0x0b),
      "Hi There",
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ],
    [
      bytes("Jefe"),
      "what do ya want for nothing?",
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ],
    // A key longer than the block (131 bytes) is hashed first.
    [
      filled(131, 0xaa),
      "Test Using Larger Than Block-Size Key - Hash Key First",
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
    [
      filled(131, 0xaa),
      "This is a test using a larger than block-size key and a larger than block-size data. " +
      "The key needs to be hashed before being used by the HMAC algorithm.",
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ];
  for (const [key, message, expected] of cases) {
    assert.equal(hex(hmacSha256(key)(message)), expected, message);
  }
});

Deno.test("hmacSha256() equals node:crypto for keys of 0-130 bytes and messages of 0-300 characters", () => {
  // Deterministic "random" text, with multi-byte UTF-8 now and then (a JWT is ASCII, but the
  // function takes any string).
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const text = (length: number) =>
    Array.from({ length }, () => {
      const r = next() % 100;
      return r === 0 ? "é" : r === 1 ? "😀" : String.fromCharCode(32 + (r % 95));
    }).join("");
  for (const keyLength of [0, 1, 31, 32, 63, 64, 65, 100, 130]) {
    const key = Uint8Array.from({ length: keyLength }, () => next() & 0xff);
    const sign = hmacSha256(key);
    for (let length = 0; length <= 300; length++) {
      const message = text(length);
      assert.equal(
        hex(sign(message)),
        createHmac("sha256", key).update(message).digest("hex"),
        `key of ${keyLength} bytes, message of ${length} characters`,
      );
    }
  }
  // And sha256 alone, over lengths around the padding boundaries.
  for (let length = 0; length <= 200; length++) {
    const data = Uint8Array.from({ length }, () => next() & 0xff);
    assert.equal(hex(sha256(data)), createHash("sha256").update(data).digest("hex"));
  }
});

Deno.test("hmacSha256() keeps its own copy of the key, and one signature does not alter the next", () => {
  const key = bytes("a-secret-of-at-least-32-bytes-for-hs256!");
  const sign = hmacSha256(key);
  const first = hex(sign("header.payload"));
  key.fill(0);
  // A long message grows the signer's buffer; the short one after it must not see its bytes.
  sign("x".repeat(5000));
  assert.equal(hex(sign("header.payload")), first);
  assert.equal(
    first,
    createHmac("sha256", "a-secret-of-at-least-32-bytes-for-hs256!").update("header.payload")
      .digest("hex"),
  );
});
