import assert from "node:assert/strict";
import type { NativeHistogram } from "../model/mod.ts";
import { FloatHistogram, IncompatibleSchemaError, toSpans } from "./float_histogram.ts";
import { exponentialBound } from "./histogram_bounds.ts";
import { histogramString } from "./histogram_buckets.ts";

function fh(init: ConstructorParameters<typeof FloatHistogram>[0]): FloatHistogram {
  return new FloatHistogram(init);
}

Deno.test("exponentialBound() gives base 2^(2^-schema) bounds and MAX_VALUE before the Inf bucket", () => {
  assert.equal(exponentialBound(0, 0), 1);
  assert.equal(exponentialBound(-1, 0), 0.5);
  assert.equal(exponentialBound(3, 0), 8);
  assert.equal(exponentialBound(1, -2), 16);
  assert.equal(exponentialBound(1, 1), Math.SQRT2);
  assert.equal(exponentialBound(-1, 1), Math.SQRT1_2);
  assert.equal(exponentialBound(1, 3), 2 ** (1 / 8));
  assert.equal(exponentialBound(1024, 0), Number.MAX_VALUE);
  assert.equal(exponentialBound(4096, 2), Number.MAX_VALUE);
  assert.equal(exponentialBound(1025, 0), Infinity);
});

Deno.test("FloatHistogram.fromNative() expands spans and toSpans() rebuilds them", () => {
  const n: NativeHistogram = {
    schema: 1,
    zeroThreshold: 0.001,
    zeroCount: 2,
    count: 12,
    sum: 7,
    positiveSpans: [{ offset: -2, length: 2 }, { offset: 3, length: 1 }],
    positiveBuckets: [1, 0, 4],
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeBuckets: [5],
    float: false,
    counterResetHint: "not_reset",
  };
  const h = FloatHistogram.fromNative(n);
  assert.deepEqual(h.pIdx, [-2, -1, 3]);
  assert.deepEqual(h.nIdx, [1]);
  assert.deepEqual(toSpans(h.pIdx), n.positiveSpans);
  const back = h.toNative();
  assert.deepEqual(back.positiveSpans, n.positiveSpans);
  assert.deepEqual(back.positiveBuckets, [1, 0, 4]);
  assert.equal(back.counterResetHint, "not_reset");
});

Deno.test("add() reduces to the coarser schema and merges buckets", () => {
  // Schema 1 buckets 1 and 2 fall into schema 0 bucket 1 (1, 2]; bucket 3 into 2.
  const a = fh({ schema: 1, count: 6, sum: 10, pIdx: [1, 2, 3], pCnt: [1, 2, 3] });
  const b = fh({ schema: 0, count: 1, sum: 1, pIdx: [1], pCnt: [1] });
  const r = a.copy();
  r.add(b);
  assert.equal(r.schema, 0);
  assert.deepEqual(r.pIdx, [1, 2]);
  assert.deepEqual(r.pCnt, [4, 3]);
  assert.equal(r.count, 7);
  assert.equal(r.sum, 11);
  // The receiver of the copy was changed, not the original.
  assert.equal(a.schema, 1);
});

Deno.test("add() widens the zero bucket to the larger threshold, absorbing buckets below it", () => {
  const a = fh({ schema: 0, zeroThreshold: 1, zeroCount: 1, count: 3, pIdx: [1], pCnt: [2] });
  // Bucket 0 is (0.5, 1]: inside a's zero bucket of width 1.
  const b = fh({
    schema: 0,
    zeroThreshold: 0.5,
    zeroCount: 1,
    count: 4,
    pIdx: [0, 1],
    pCnt: [2, 1],
  });
  const r = b.copy();
  r.add(a);
  assert.equal(r.zeroThreshold, 1);
  assert.equal(r.zeroCount, 4);
  assert.deepEqual(r.pIdx, [1]);
  assert.deepEqual(r.pCnt, [3]);
});

Deno.test("custom buckets: add() intersects different bounds and reports it; mixing schemas throws", () => {
  const a = fh({
    schema: -53,
    count: 3,
    customValues: [1, 2, 5],
    pIdx: [0, 1, 3],
    pCnt: [1, 1, 1],
  });
  const b = fh({ schema: -53, count: 2, customValues: [2, 4], pIdx: [0, 1], pCnt: [1, 1] });
  const r = a.copy();
  assert.deepEqual(r.add(b), { collision: false, reconciled: true });
  assert.deepEqual(r.customValues, [2]);
  assert.deepEqual(r.pIdx, [0, 1]);
  assert.deepEqual(r.pCnt, [3, 2]);
  assert.throws(() => a.copy().add(fh({ schema: 0, count: 1 })), IncompatibleSchemaError);
});

Deno.test("kahanAdd() keeps small increments that plain addition loses", () => {
  const big = fh({ schema: 0, count: 1e16, sum: 1e16, pIdx: [0], pCnt: [1e16] });
  const one = fh({ schema: 0, count: 1, sum: 1, pIdx: [0], pCnt: [1] });
  const plain = big.copy(), kahan = big.copy();
  let c: FloatHistogram | undefined;
  for (let i = 0; i < 10; i++) {
    plain.add(one);
    c = kahan.kahanAdd(one, c).c;
  }
  kahan.add(c!);
  assert.equal(plain.count, 1e16);
  assert.equal(kahan.count, 1e16 + 10);
  assert.equal(kahan.pCnt[0], 1e16 + 10);
});

Deno.test("detectReset() sees a smaller count, a shrunk bucket, a vanished bucket and a finer schema", () => {
  const prev = fh({ schema: 0, count: 5, pIdx: [0, 1], pCnt: [2, 3] });
  assert.equal(fh({ schema: 0, count: 6, pIdx: [0, 1], pCnt: [3, 3] }).detectReset(prev), false);
  assert.equal(fh({ schema: 0, count: 4, pIdx: [0, 1], pCnt: [1, 3] }).detectReset(prev), true);
  assert.equal(fh({ schema: 0, count: 6, pIdx: [0, 1], pCnt: [1, 5] }).detectReset(prev), true);
  assert.equal(fh({ schema: 0, count: 6, pIdx: [1], pCnt: [6] }).detectReset(prev), true);
  assert.equal(fh({ schema: 1, count: 6, pIdx: [0], pCnt: [6] }).detectReset(prev), true);
  // A coarser schema: prev's buckets are merged before comparing.
  assert.equal(fh({ schema: -1, count: 6, pIdx: [0, 1], pCnt: [2, 4] }).detectReset(prev), false);
  assert.equal(fh({ schema: -1, count: 6, pIdx: [1], pCnt: [6] }).detectReset(prev), true);
  // The hints "reset" and "not_reset" are believed.
  assert.equal(fh({ schema: 0, count: 1, hint: "not_reset" }).detectReset(prev), false);
  assert.equal(fh({ schema: 0, count: 9, hint: "reset" }).detectReset(prev), true);
});

Deno.test("div(0) drops buckets; compact() removes empty ones; String() as Prometheus prints it", () => {
  const h = fh({
    schema: 0,
    zeroThreshold: 0.25,
    zeroCount: 3,
    count: 42,
    sum: 34593.34,
    pIdx: [-1, 0, 1, 2],
    pCnt: [12, 21, 0, 6],
  });
  assert.equal(
    histogramString(h),
    "{count:42, sum:34593.34, [-0.25,0.25]:3, (0.25,0.5]:12, (0.5,1]:21, (2,4]:6}",
  );
  assert.deepEqual(h.copy().compact().pIdx, [-1, 0, 2]);
  const z = h.copy().div(0);
  assert.deepEqual(z.pIdx, []);
  assert.equal(z.count, Infinity);
});
