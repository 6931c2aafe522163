import assert from "node:assert/strict";
import { humanize, humanize1024, humanizeDuration, humanizeTimestamp } from "./humanize.ts";

Deno.test("humanize functions round half to even on the exact binary value, as Go does", () => {
  assert.equal(humanize(100.25), "100.2");
  assert.equal(humanize(12345), "12.35k"); // 12.345000000000000639488462184... rounds up
  assert.equal(humanize(-1234), "-1.234k");
  assert.equal(humanize(0.0012), "1.2m");
  assert.equal(humanize(1e-7), "100n");
  assert.equal(humanize(1e21), "1Z");
  assert.equal(humanize1024(1), "1");
  assert.equal(humanizeDuration(45.5), "45.5s");
  assert.equal(humanizeDuration(-(86400 * 2 + 3600 * 3 + 60 * 4 + 5)), "-2d 3h 4m 5s");
  assert.equal(humanizeDuration(0.12345), "123.5ms");
  assert.equal(humanizeTimestamp(-1), "1969-12-31 23:59:59 +0000 UTC");
  assert.equal(humanizeTimestamp(NaN), "NaN");
});
