import assert from "node:assert/strict";
import { almostEqual, parseDuration, parseSequence, parseSeriesLine } from "./promqltest.ts";

Deno.test("parseSequence() expands a+bxn, gaps, stale and special floats", () => {
  const s = parseSequence("0+10x2 _ 1 _x2 stale -1-1x1 3x1 Inf -inf 1e3");
  assert.deepEqual(s.slice(0, 3), [0, 10, 20]);
  assert.equal(s[3], undefined);
  assert.deepEqual(s.slice(4, 7), [1, undefined, undefined]);
  assert.equal(s[7], "stale");
  assert.deepEqual(s.slice(8), [-1, -2, 3, 3, Infinity, -Infinity, 1000]);
});

Deno.test("parseDuration() reads compound durations and bare seconds", () => {
  assert.equal(parseDuration("1h30m"), 5400000);
  assert.equal(parseDuration("10s53ms"), 10053);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("100"), 100000);
  assert.throws(() => parseDuration("5x"));
});

Deno.test("parseSeriesLine() reads names, quoted labels and UTF-8 names", () => {
  const a = parseSeriesLine(`m{a="x\\"y", b='z'} 1 2`);
  assert.deepEqual(a.labels, [
    { name: "__name__", value: "m" },
    { name: "a", value: 'x"y' },
    { name: "b", value: "z" },
  ]);
  assert.equal(a.rest, "1 2");
  const b = parseSeriesLine(`{"my.metric", le="0.1"} 3`);
  assert.deepEqual(b.labels, [{ name: "__name__", value: "my.metric" }, {
    name: "le",
    value: "0.1",
  }]);
});

Deno.test("almostEqual() uses a relative tolerance except near zero", () => {
  assert.ok(almostEqual(1, 1 + 1e-9));
  assert.ok(!almostEqual(1, 1.001));
  assert.ok(!almostEqual(0, 1e-300));
  assert.ok(almostEqual(NaN, NaN));
});
