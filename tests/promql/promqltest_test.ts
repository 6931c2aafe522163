import assert from "node:assert/strict";
import { type HistItem, histogramsMatch } from "./_hist_notation.ts";
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

Deno.test("parseSequence() reads native histograms and expands {{a}}+{{b}}xN by histogram addition", () => {
  const s = parseSequence(
    "{{schema:1 sum:5 count:4 z_bucket:1 z_bucket_w:0.5 buckets:[1 2] offset:-1 n_buckets:[1]}} _ " +
      "{{sum:1 count:1 buckets:[1]}}+{{sum:2 count:2 buckets:[1 1] counter_reset_hint:gauge}}x2",
  );
  assert.equal(s.length, 5);
  const first = s[0] as HistItem;
  assert.equal(first.h.schema, 1);
  assert.deepEqual(first.h.pIdx, [-1, 0]);
  assert.deepEqual(first.h.nCnt, [1]);
  assert.equal(first.h.zeroThreshold, 0.5);
  assert.equal(first.hintSet, false);
  assert.equal(s[1], undefined);
  const last = s[4] as HistItem;
  assert.equal(last.h.count, 5);
  assert.deepEqual(last.h.pCnt, [3, 2]);
  assert.equal(last.hintSet, true);
  assert.throws(() => parseSequence("{{schema:0 bogus:1}}"), /unknown histogram field/);
});

Deno.test("histogramsMatch() compares compacted histograms with the harness's tolerance", () => {
  const [a] = parseSequence("{{sum:3 count:3 buckets:[0 1 2]}}") as HistItem[];
  const [b] = parseSequence("{{sum:3.0000000001 count:3 offset:1 buckets:[1 2]}}") as HistItem[];
  const [c] = parseSequence("{{sum:3 count:3 offset:1 buckets:[1 2.1]}}") as HistItem[];
  const [d] = parseSequence(
    "{{sum:3 count:3 offset:1 buckets:[1 2] counter_reset_hint:gauge}}",
  ) as HistItem[];
  assert.ok(histogramsMatch(a!, b!.h));
  assert.ok(!histogramsMatch(a!, c!.h));
  // A hint is compared only when the expectation writes one.
  assert.ok(histogramsMatch(a!, d!.h));
  assert.ok(!histogramsMatch(d!, a!.h));
});
