/**
 * HMAC-SHA-256 (RFC 2104, FIPS 180-4) for one fixed key, in plain JavaScript.
 *
 * Why not `node:crypto`: Deno's `createHmac` builds its key pads in JavaScript and makes several
 * ops per call, 10–14 µs for a 150-byte token, a twentieth of the server's CPU per stream connect.
 * With the key's two padded blocks compressed once, a token costs its own 3–4 blocks plus one:
 * 3.3–4 µs (docs/performance-log.md, "Made in the third session of 2026-11-30"). WebCrypto is an
 * asynchronous op here, slower still. `tests/auth/hmac_sha256_test.ts` holds this to `node:crypto`
 * and to RFC 4231's vectors.
 *
 * Nothing here depends on secret data except arithmetic on the key's state, which JavaScript does
 * in constant time; comparing a signature is the caller's job (see hs256.ts).
 *
 * @module
 */

// deno-fmt-ignore
const ROUND_CONSTANTS = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// deno-fmt-ignore
const INITIAL_STATE = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const BLOCK_BYTES = 64;

/** The message schedule, shared: JavaScript runs one compression at a time. */
const schedule = new Int32Array(64);

/** Compresses the 64-byte block at `offset` of `bytes` into `state`. */
function compress(state: Int32Array, bytes: Uint8Array, offset: number): void {
  const w = schedule;
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15], w2 = w[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3];
  let e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const sum1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + sum1 + ((e & f) ^ (~e & g)) + ROUND_CONSTANTS[i] + w[i]) | 0;
    const sum0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (sum0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
  state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0;
  state[7] = (state[7] + h) | 0;
}

/**
 * Pads the `length` bytes at the start of `bytes` (which has room for 72 more), that follow
 * `precededBy` bytes already compressed into `state`, and compresses them.
 */
function compressLast(
  state: Int32Array,
  bytes: Uint8Array,
  length: number,
  precededBy: number,
): void {
  let end = length;
  bytes[end++] = 0x80;
  while (end % BLOCK_BYTES !== 56) bytes[end++] = 0;
  // The message's length in bits, 64-bit big-endian (messages here are far below 2^32 bytes).
  const bytesTotal = length + precededBy;
  bytes[end++] = 0;
  bytes[end++] = 0;
  bytes[end++] = 0;
  bytes[end++] = bytesTotal >>> 29;
  bytes[end++] = bytesTotal >>> 21;
  bytes[end++] = bytesTotal >>> 13;
  bytes[end++] = bytesTotal >>> 5;
  bytes[end++] = bytesTotal << 3;
  for (let offset = 0; offset < end; offset += BLOCK_BYTES) compress(state, bytes, offset);
}

function writeDigest(state: Int32Array, into: Uint8Array): Uint8Array {
  for (let i = 0; i < 8; i++) {
    const word = state[i];
    into[i * 4] = word >>> 24;
    into[i * 4 + 1] = word >>> 16;
    into[i * 4 + 2] = word >>> 8;
    into[i * 4 + 3] = word;
  }
  return into;
}

/**
 * SHA-256 of `data`.
 *
 * @example
 * ```ts
 * sha256(new TextEncoder().encode("abc")); // ba7816bf…
 * ```
 */
export function sha256(data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(data.length + BLOCK_BYTES + 8);
  bytes.set(data);
  const state = INITIAL_STATE.slice();
  compressLast(state, bytes, data.length, 0);
  return writeDigest(state, new Uint8Array(32));
}

/**
 * Returns a function that computes HMAC-SHA-256 with `key` over a string's UTF-8 bytes. The key is
 * copied: changing it afterwards changes nothing.
 *
 * @example
 * ```ts
 * const sign = hmacSha256(new TextEncoder().encode(secret));
 * const signature = sign(`${encodedHeader}.${encodedPayload}`); // 32 bytes
 * ```
 */
export function hmacSha256(key: Uint8Array): (message: string) => Uint8Array {
  const block = new Uint8Array(BLOCK_BYTES);
  block.set(key.length > BLOCK_BYTES ? sha256(key) : key);
  // The states after the key's inner and outer pads: every signature starts from these.
  const innerStart = INITIAL_STATE.slice();
  const outerStart = INITIAL_STATE.slice();
  const pad = new Uint8Array(BLOCK_BYTES);
  for (let i = 0; i < BLOCK_BYTES; i++) pad[i] = block[i] ^ 0x36;
  compress(innerStart, pad, 0);
  for (let i = 0; i < BLOCK_BYTES; i++) pad[i] = block[i] ^ 0x5c;
  compress(outerStart, pad, 0);
  block.fill(0);
  pad.fill(0);

  const encoder = new TextEncoder();
  const state = new Int32Array(8);
  const innerDigest = new Uint8Array(32 + BLOCK_BYTES + 8);
  let buffer = new Uint8Array(1024);
  return (message) => {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; the padding at most 72 more.
    const room = message.length * 3 + BLOCK_BYTES + 8;
    if (buffer.length < room) buffer = new Uint8Array(room);
    const { written } = encoder.encodeInto(message, buffer);
    state.set(innerStart);
    compressLast(state, buffer, written, BLOCK_BYTES);
    writeDigest(state, innerDigest);
    state.set(outerStart);
    compressLast(state, innerDigest, 32, BLOCK_BYTES);
    return writeDigest(state, new Uint8Array(32));
  };
}
