import assert from "node:assert/strict";
import { type Labels, toLabels } from "../model/mod.ts";
import { counterHistogram } from "./_histogram_test_util.ts";
import { encodeHistogramChunk } from "./histogram_chunk.ts";
import {
  encodeHistogramFile,
  type HistFileSeries,
  salvageHistogramFile,
} from "./histogram_file.ts";

const ID = { lo: 0, hi: 7_200_000, resolution: 0 };

/** Three series of two 10-sample chunks each; refs 1, 2, 3. */
function file(): { bytes: Uint8Array; series: HistFileSeries[] } {
  const series = [1, 2, 3].map((ref) => ({
    ref,
    labels: toLabels("lat", { job: `j${ref}` }),
    chunks: [0, 1].map((c) => {
      const t = Array.from({ length: 10 }, (_, i) => (c * 10 + i) * 60_000);
      return encodeHistogramChunk(t, t.map((_, i) => counterHistogram(ref * 100 + c * 10 + i)));
    }),
  }));
  return { bytes: encodeHistogramFile({ ...ID, seq: 1 }, series), series };
}

const index = (series: HistFileSeries[]) => (ref: number): Labels | undefined =>
  series.find((s) => s.ref === ref)?.labels;

/** Offset of `chunk` (by identity of bytes) in the file. */
function offsetOf(bytes: Uint8Array, chunk: Uint8Array): number {
  outer: for (let i = 0; i + chunk.length <= bytes.length; i++) {
    for (let j = 0; j < chunk.length; j++) if (bytes[i + j] !== chunk[j]) continue outer;
    return i;
  }
  throw new Error("chunk not found");
}

Deno.test("salvage keeps every intact chunk of the series the index vouches for", () => {
  const { bytes, series } = file();
  const at = offsetOf(bytes, series[1]!.chunks[0]!) + 6;
  bytes[at]! ^= 0x55;
  const got = salvageHistogramFile(bytes, ID, index(series));
  assert.deepEqual(got.series.map((s) => [s.ref, s.chunks.length]), [[1, 2], [2, 1], [3, 2]]);
  assert.deepEqual(got.series[1]!.chunks[0], series[1]!.chunks[1]);
  assert.equal(got.samples, 50);
  assert.equal(got.chunksLost, 1);
  assert.equal(got.seriesLost, 0);
  assert.equal(got.stoppedAt, undefined);
});

Deno.test("salvage leaves out a series whose labels or ref the index does not have", () => {
  const { bytes, series } = file();
  const known = index(series);
  // The index knows ref 2 under other labels (damaged labels would look the same), and not ref 3.
  const got = salvageHistogramFile(
    bytes,
    ID,
    (ref) => ref === 2 ? toLabels("lat", { job: "other" }) : ref === 3 ? undefined : known(ref),
  );
  assert.deepEqual(got.series.map((s) => s.ref), [1]);
  assert.equal(got.seriesLost, 2);
  assert.equal(got.chunksLost, 4);
});

Deno.test("salvage stops where the framing breaks and keeps what came before", () => {
  const { bytes, series } = file();
  const cut = offsetOf(bytes, series[2]!.chunks[0]!) + 3;
  const got = salvageHistogramFile(bytes.subarray(0, cut), ID, index(series));
  assert.deepEqual(got.series.map((s) => s.ref), [1, 2]);
  assert.ok(got.stoppedAt !== undefined && got.stoppedAt <= cut);
  // Chunks outside the range the file's name gives are left out.
  const narrow = salvageHistogramFile(file().bytes, { ...ID, hi: 600_000 }, index(series));
  assert.deepEqual(narrow.series.map((s) => [s.ref, s.chunks.length]), [[1, 1], [2, 1], [3, 1]]);
  assert.equal(narrow.chunksLost, 3);
});

Deno.test("salvage recovers nothing from a file that is not a version 2 histogram file", () => {
  const { bytes, series } = file();
  bytes[0] = 0;
  assert.deepEqual(salvageHistogramFile(bytes, ID, index(series)).series, []);
});
