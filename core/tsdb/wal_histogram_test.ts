import assert from "node:assert/strict";
import type { NativeHistogram } from "../model/mod.ts";
import { ByteReader, ShortReadError } from "./_byte_buf.ts";
import { decodeHistogramRecord, encodeHistogramRecord, REC_HISTOGRAMS } from "./wal_histogram.ts";

const H: NativeHistogram = {
  schema: 1,
  zeroThreshold: 0.5,
  zeroCount: 2,
  count: 9,
  sum: 40,
  positiveSpans: [{ offset: 0, length: 2 }],
  positiveBuckets: [3, 4],
  negativeSpans: [],
  negativeBuckets: [],
  float: false,
  counterResetHint: "not_reset",
};
const F: NativeHistogram = { ...H, count: 9.5, positiveBuckets: [3.5, 4], float: true };

function decode(rec: Uint8Array) {
  assert.equal(rec[0], REC_HISTOGRAMS);
  const out: [number, number, NativeHistogram][] = [];
  decodeHistogramRecord(new ByteReader(rec, 1), (ref, t, h) => out.push([ref, t, h]));
  return out;
}

Deno.test("WAL histogram record round-trips refs, timestamps and values", () => {
  const rec = encodeHistogramRecord({ refs: [3, 3, 9], t: [1000, 2000, -5], h: [H, F, H] });
  assert.deepEqual(decode(rec), [[3, 1000, H], [3, 2000, F], [9, -5, H]]);
  const raw = encodeHistogramRecord({ refs: [1], t: [0.25], h: [F] });
  assert.deepEqual(decode(raw), [[1, 0.25, F]]);
});

Deno.test("WAL histogram record: a cut record fails to decode instead of misreading", () => {
  const rec = encodeHistogramRecord({ refs: [3, 4], t: [1000, 2000], h: [H, H] });
  for (let n = 2; n < rec.length; n++) {
    assert.throws(() => decode(rec.subarray(0, n)), ShortReadError, `cut at ${n}`);
  }
});
