/**
 * Server-Sent Events framing, kept pure so that tests and the benchmark can call it directly.
 *
 * @module
 */

const encoder = new TextEncoder();

/** One SSE frame's fields. `data` must be a single line (JSON.stringify output always is). */
export interface FrameFields {
  id?: string;
  event: string;
  data: string;
}

/**
 * Formats one frame as text: `id:` (when given), `event:`, one `data:` line, blank line.
 *
 * @example
 * ```ts
 * formatFrame({ id: "1-0", event: "ping", data: "{}" }); // "id: 1-0\nevent: ping\ndata: {}\n\n"
 * ```
 */
export function formatFrame(fields: FrameFields): string {
  if (/[\r\n]/.test(fields.event) || /[\r\n]/.test(fields.data)) {
    throw new Error("Cannot frame event: 'event' and 'data' must be single lines");
  }
  if (fields.id !== undefined && /[\r\n\0]/.test(fields.id)) {
    throw new Error("Cannot frame event: 'id' must not contain line breaks or NUL");
  }
  const idLine = fields.id === undefined ? "" : `id: ${fields.id}\n`;
  return `${idLine}event: ${fields.event}\ndata: ${fields.data}\n\n`;
}

/** {@link formatFrame}, encoded as UTF-8 bytes ready to enqueue into many streams. */
export function encodeFrame(fields: FrameFields): Uint8Array {
  return encoder.encode(formatFrame(fields));
}

/**
 * {@link encodeFrame} without an id and without its checks, for frames the caller builds from
 * parts that are single lines by construction (the heartbeat: 10,000 streams ping every 15 s, and
 * the checks cost a regex pass and a flattened copy of the text per ping).
 *
 * @example
 * ```ts
 * encodeUncheckedFrame("ping", '{"type":"ping"}'); // bytes of "event: ping\ndata: {…}\n\n"
 * ```
 */
export function encodeUncheckedFrame(event: string, data: string): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${data}\n\n`);
}

/** The `retry:` field that tells EventSource-style clients how long to wait before reconnecting. */
export function encodeRetry(ms: number): Uint8Array {
  return encoder.encode(`retry: ${Math.max(0, Math.floor(ms))}\n\n`);
}
