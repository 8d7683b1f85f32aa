import assert from "node:assert/strict";
import { decide, MemoryRateLimiter } from "../../server/limits/connect_rate_limiter.ts";

Deno.test("decide() allows up to the limit within the window and says when to retry", () => {
  assert.deepEqual(decide([], 1000, 2, 60_000), { allowed: true, retryAfterS: 0 });
  assert.deepEqual(decide([1000], 1000, 2, 60_000), { allowed: true, retryAfterS: 0 });
  assert.deepEqual(decide([1000, 2000], 3000, 2, 60_000), { allowed: false, retryAfterS: 58 });
  // Attempts that left the window no longer count.
  assert.deepEqual(decide([1000, 2000], 61_500, 2, 60_000), { allowed: true, retryAfterS: 0 });
});

Deno.test("MemoryRateLimiter.hit() refuses the 11th attempt in a minute, per key", async () => {
  let now = 0;
  const limiter = new MemoryRateLimiter({ limit: 10, now: () => now });
  for (let i = 0; i < 10; i++) {
    assert.equal((await limiter.hit("s-1")).allowed, true);
    now += 1000;
  }
  const refused = await limiter.hit("s-1");
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfterS, 50);
  assert.equal((await limiter.hit("s-2")).allowed, true);
  now = 61_000;
  assert.equal((await limiter.hit("s-1")).allowed, true);
});
