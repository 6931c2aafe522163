import assert from "node:assert/strict";
import type { NativeHistogram } from "../model/mod.ts";
import { ChunkCorruptError, decodeChunk } from "./chunk.ts";
import {
  decodeHistogramChunk,
  encodeHistogramChunk,
  histogramChunkMeta,
} from "./histogram_chunk.ts";

/** A counter histogram at step i: buckets grow, the layout widens every 40 samples. */
function counterAt(i: number): NativeHistogram {
  const wide = Math.floor(i / 40);
  const positiveBuckets = [i, 2 * i, 3 + i * 5, ...Array.from({ length: wide }, (_, k) => k + i)];
  const negativeBuckets = [i % 7 === 0 ? i : i + 1];
  const zeroCount = i * 3;
  let count = zeroCount;
  for (const c of [...positiveBuckets, ...negativeBuckets]) count += c;
  return {
    schema: 3,
    zeroThreshold: 2.938735877055719e-39,
    zeroCount,
    count,
    sum: i * 1.25,
    positiveSpans: [{ offset: -2, length: 3 }, ...(wide > 0 ? [{ offset: 4, length: wide }] : [])],
    positiveBuckets,
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeBuckets,
    float: false,
    counterResetHint: i === 0 ? "reset" : "not_reset",
  };
}

const FLOAT: NativeHistogram = {
  schema: -4,
  zeroThreshold: 0,
  zeroCount: 0.25,
  count: 3.75,
  sum: NaN,
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveBuckets: [1.5, 2],
  negativeSpans: [],
  negativeBuckets: [],
  float: true,
  counterResetHint: "gauge",
};

const NHCB: NativeHistogram = {
  schema: -53,
  zeroThreshold: 0,
  zeroCount: 0,
  count: 3,
  sum: 2,
  positiveSpans: [{ offset: 1, length: 2 }],
  positiveBuckets: [1, 2],
  negativeSpans: [],
  negativeBuckets: [],
  customValues: [0.1, 0.5, 1],
  float: false,
  counterResetHint: "unknown",
};

Deno.test("histogram chunk round-trips a counter histogram series with layout changes", () => {
  const n = 120;
  const t = Array.from(
    { length: n },
    (_, i) => 1_700_000_000_000 + i * 15_000 + (i % 5 === 0 ? 3 : 0),
  );
  const h = Array.from({ length: n }, (_, i) => counterAt(i));
  const c = encodeHistogramChunk(t, h);
  const back = decodeHistogramChunk(c);
  assert.deepEqual([...back.t], t);
  assert.deepEqual(back.h, h);
  assert.deepEqual(histogramChunkMeta(c), { count: n, minT: t[0], maxT: t[n - 1] });
  console.log(
    `histogram chunk: ${c.length} bytes for ${n} samples (${(c.length / n).toFixed(1)} B/sample)`,
  );
});

Deno.test("histogram chunk round-trips float, custom-bucket and mixed samples", () => {
  const h = [FLOAT, NHCB, { ...NHCB, count: 4, positiveBuckets: [2, 2] }, counterAt(3), FLOAT];
  const t = [1, 2, 3, 4, 5];
  assert.deepEqual(decodeHistogramChunk(encodeHistogramChunk(t, h)).h, h);
  const one = encodeHistogramChunk([7], [NHCB]);
  assert.deepEqual(decodeHistogramChunk(one), { t: new Float64Array([7]), h: [NHCB] });
  assert.deepEqual(histogramChunkMeta(one), { count: 1, minT: 7, maxT: 7 });
});

Deno.test("histogram chunk keeps timestamps that are not integers bit-exactly", () => {
  const t = [0.5, 1e300, Infinity];
  const c = encodeHistogramChunk(t, [FLOAT, FLOAT, FLOAT]);
  assert.deepEqual([...decodeHistogramChunk(c).t], t);
  assert.deepEqual(histogramChunkMeta(c), { count: 3, minT: 0.5, maxT: Infinity });
});

Deno.test("a damaged histogram chunk is refused, and the float decoder refuses it too", () => {
  const c = encodeHistogramChunk([1, 2], [counterAt(1), counterAt(2)]);
  for (let i = 0; i < c.length; i++) {
    const bad = c.slice();
    bad[i]! ^= 0x10;
    assert.throws(() => decodeHistogramChunk(bad), ChunkCorruptError, `byte ${i}`);
  }
  assert.throws(() => decodeHistogramChunk(c.subarray(0, 5)), ChunkCorruptError);
  assert.throws(() => decodeChunk(c), ChunkCorruptError);
});
