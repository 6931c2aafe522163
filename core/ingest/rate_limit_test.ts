import assert from "node:assert/strict";
import { RateLimitedError, SourceRateLimiter } from "./rate_limit.ts";

Deno.test("SourceRateLimiter refuses a source only while its bucket is empty; others are untouched", () => {
  const l = new SourceRateLimiter(() => 100, () => 200);
  l.take("a", 150, 0);
  l.take("a", 150, 0); // The bucket had 50: accepted, 100 in debt.
  assert.throws(
    () => l.take("a", 1, 0),
    (e) =>
      e instanceof RateLimitedError && e.retryAfterSeconds === 2 &&
      /limits\.ingest_rate_per_source/.test(e.message),
  );
  l.take("b", 200, 0);
  // 1.5 s later "a" has paid its debt back and has 50.
  l.take("a", 10, 1500);
  assert.equal(l.refused.get("a"), 1);
  assert.equal(l.refused.get("b"), undefined);
});

Deno.test("SourceRateLimiter is off at rate 0 and bursts ten seconds by default", () => {
  const off = new SourceRateLimiter(() => 0, () => 0);
  for (let i = 0; i < 10; i++) off.take("a", 1e9, 0);
  const l = new SourceRateLimiter(() => 10, () => 0);
  l.take("a", 100, 0);
  assert.throws(() => l.take("a", 1, 0), RateLimitedError);
});
