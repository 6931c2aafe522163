import assert from "node:assert/strict";
import { TokenBucket } from "./rate_limit.ts";

Deno.test("TokenBucket allows a burst, then one token per period/burst", () => {
  const b = new TokenBucket({ burst: 3, periodMs: 60_000 }, 0);
  assert.ok(b.take(0));
  assert.ok(b.take(0));
  assert.ok(b.take(0));
  assert.equal(b.take(0), false);
  assert.equal(b.readyAt(0), 20_000);
  assert.equal(b.take(19_999), false);
  assert.ok(b.take(20_000));
  assert.equal(b.readyAt(20_000), 40_000);
});

Deno.test("TokenBucket refills no higher than the burst", () => {
  const b = new TokenBucket({ burst: 2, periodMs: 1000 }, 0);
  assert.ok(b.take(0));
  assert.ok(b.take(10_000));
  assert.ok(b.take(10_000));
  assert.equal(b.take(10_000), false);
});
