import assert from "node:assert/strict";
import { FeedHttpError } from "../../widget/feed_stream.ts";
import { afterClose, afterError } from "../../widget/recovery.ts";
import { TokenFetchError, TokenUnavailableError } from "../../widget/token_source.ts";

Deno.test("afterClose() follows the close frame's reason", () => {
  assert.deepEqual(afterClose({ reason: "token_expired", reconnect: true }), {
    action: "renew",
    reason: "Token expired",
  });
  assert.deepEqual(afterClose({ reason: "replaced", reconnect: false }), {
    action: "stop",
    input: { type: "offline", reason: "replaced" },
  });
  assert.deepEqual(afterClose({ reason: "shutdown", reconnect: true, retryAfterMs: 3000 }), {
    action: "retry",
    minDelayMs: 3000,
  });
  assert.deepEqual(afterClose({ reason: "server_error", reconnect: false }), {
    action: "stop",
    input: { type: "offline", reason: "server_error" },
  });
  assert.deepEqual(afterClose(undefined), { action: "retry", minDelayMs: undefined });
});

Deno.test("afterError() renews on 401, stops on 403 or no token, retries otherwise", () => {
  assert.equal(afterError(new FeedHttpError(401, "Token expired")).action, "renew");
  assert.deepEqual(afterError(new FeedHttpError(403, "not a student")), {
    action: "stop",
    input: { type: "unauthorized", reason: "not a student" },
  });
  assert.equal(afterError(new TokenUnavailableError("none")).action, "stop");
  assert.deepEqual(afterError(new FeedHttpError(429, "slow down", 60_000)), {
    action: "retry",
    minDelayMs: 60_000,
  });
  assert.deepEqual(afterError(new TypeError("network")), {
    action: "retry",
    minDelayMs: undefined,
  });
  assert.equal(afterError(new TokenFetchError("portal down")).action, "retry");
  assert.equal(afterError(new DOMException("aborted", "AbortError")).action, "retry");
});
