import assert from "node:assert/strict";
import { Head, mergeSamples } from "./head.ts";
import { decodeChunk } from "./chunk.ts";
import { SampleBuf } from "./_sample_buf.ts";

const R = 7_200_000;

function pts(s: { t: Float64Array; v: Float64Array }): [number, number][] {
  return [...s.t].map((t, i) => [t, s.v[i]]);
}

Deno.test("Head keeps a series sorted with late samples folded over sealed chunks", () => {
  const h = new Head(R);
  for (let i = 0; i < 1000; i++) h.append(1, i * 10, i);
  // Late samples between existing ones, more than one OOO buffer's worth.
  for (let i = 0; i < 300; i++) h.append(1, i * 10 + 5, -i);
  const got = h.read(1, -Infinity, Infinity);
  assert.equal(got.t.length, 1300);
  for (let i = 1; i < got.t.length; i++) assert.ok(got.t[i] > got.t[i - 1]);
  assert.deepEqual(pts(h.read(1, 0, 15)), [[0, 0], [5, -0], [10, 1], [15, -1]]);
  assert.equal(h.stats().samples, 1300);
});

Deno.test("Head lets the last write win for equal timestamps in every buffer", () => {
  const h = new Head(R);
  for (let i = 0; i < 300; i++) h.append(1, i, 1);
  h.append(1, 5, 2); // in a sealed chunk → OOO buffer wins
  h.append(1, 295, 3); // in the open buffer
  h.append(1, 5, 4); // again, in the OOO buffer
  const got = h.read(1, 0, 1000);
  assert.equal(got.t.length, 300);
  assert.equal(got.v[5], 4);
  assert.equal(got.v[295], 3);
});

Deno.test("Head.extractWindow returns a window's samples as chunks and keeps the rest", () => {
  const h = new Head(R);
  for (let i = 0; i < 500; i++) h.append(7, R - 2500 * 10 + i * 100, i); // crosses into window 1
  h.append(7, R - 1, 99); // late sample into window 0
  const w0 = h.extractWindow(0);
  const chunks = w0.get(7)!;
  const all = chunks.map((c) => decodeChunk(c)).reduce((a, b) => mergeSamples(a, b));
  assert.ok(all.t.every((t) => t < R));
  assert.equal(all.t[all.t.length - 1], R - 1);
  const rest = h.read(7, -Infinity, Infinity);
  assert.ok(rest.t.length > 0 && rest.t.every((t) => t >= R));
  assert.equal(all.t.length + rest.t.length, 501);
  assert.deepEqual(h.windows(), [1]);
});

Deno.test("Head never puts samples of two block windows in one chunk", () => {
  const h = new Head(R);
  h.append(1, R - 10, 1);
  h.append(1, R + 10, 2);
  const w0 = h.extractWindow(0).get(1)!;
  assert.equal(w0.length, 1);
  assert.deepEqual(pts(decodeChunk(w0[0])), [[R - 10, 1]]);
});

Deno.test("Head keeps timestamps its open buffer cannot hold as offsets: fractional ones, and any in a window over 2^31 ms", () => {
  for (const range of [R, 2 ** 33]) {
    const h = new Head(range);
    const want: [number, number][] = [];
    for (let i = 0; i < 300; i++) {
      // Every 7th fractional; a late fractional one between open samples at 150.
      const t = 2 ** 32 + i * 1000 + (i % 7 === 3 ? 0.5 : 0);
      h.append(1, t, i);
      want.push([t, i]);
    }
    h.append(1, 2 ** 32 + 149_500.25, -1);
    want.push([2 ** 32 + 149_500.25, -1]);
    h.append(1, 2 ** 32 + 299_000, 42); // replaces the last sample
    want[299][1] = 42;
    // 2^31 ms after the open buffer's first sample: the same window only in the long one.
    h.append(1, 2 ** 32 + 299_000 + 2 ** 31, 7);
    want.push([2 ** 32 + 299_000 + 2 ** 31, 7]);
    want.sort((a, b) => a[0] - b[0]);
    assert.deepEqual(pts(h.read(1, -Infinity, Infinity)), want);
    assert.equal(h.stats().samples, 302);
    assert.ok(h.hasData(1, 2 ** 32 + 298_999.5, 2 ** 32 + 299_000));
    assert.ok(!h.hasData(1, 2 ** 32 + 299_000.5, 2 ** 32 + 2 ** 31));
    const flushed = h.windows().flatMap((w) => [...h.extractWindow(w).get(1)!]);
    assert.deepEqual(flushed.flatMap((c) => pts(decodeChunk(c))), want);
  }
});

Deno.test("Head.appendColumns() stores what append() stores, sample by sample", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const one = new Head(R), cols = new Head(R);
  const last = new Map<number, number>();
  for (let round = 0; round < 60; round++) {
    const n = 1 + Math.floor(rnd() * 400);
    const refs = new Int32Array(n), ts = new Float64Array(n), vs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const ref = 1 + Math.floor(rnd() * 5);
      const prev = last.get(ref) ?? R - 50_000;
      const r = rnd();
      // Mostly in order (crossing window ends), sometimes equal or late.
      const t = r < 0.8 ? prev + 1000 : r < 0.9 ? prev : prev - Math.floor(rnd() * 200_000);
      if (t > prev) last.set(ref, t);
      refs[i] = ref;
      ts[i] = t;
      vs[i] = Math.floor(rnd() * 1000) / 4;
      one.append(ref, t, vs[i]);
    }
    cols.appendColumns(refs, ts, vs, n);
  }
  assert.deepEqual(cols.stats(), one.stats());
  assert.deepEqual(cols.timeRange(), one.timeRange());
  for (let ref = 1; ref <= 5; ref++) {
    assert.deepEqual(
      pts(cols.read(ref, -Infinity, Infinity)),
      pts(one.read(ref, -Infinity, Infinity)),
    );
  }
  // Flushed window by window, both give the same chunks.
  assert.deepEqual(cols.windows(), one.windows());
  for (const w of one.windows()) {
    const decoded = (h: Head) =>
      [...h.extractWindow(w)].map(([ref, cs]) => [ref, cs.map((c) => pts(decodeChunk(c)))]);
    assert.deepEqual(decoded(cols), decoded(one));
  }
});

/** What a head should hold: value by timestamp per ref. */
type Model = Map<number, Map<number, number>>;

function modelPts(m: Model, ref: number, minT = -Infinity, maxT = Infinity): [number, number][] {
  return [...(m.get(ref) ?? new Map<number, number>())]
    .filter(([t]) => t >= minT && t <= maxT)
    .sort((a, b) => a[0] - b[0]);
}

/** Checks every ref's samples through read(), readInto() and hasData(), and the sample count. */
function assertHolds(h: Head, m: Model, refs: number, minT = -Infinity, maxT = Infinity): void {
  const buf = new SampleBuf();
  let n = 0;
  for (let ref = 0; ref < refs; ref++) {
    const want = modelPts(m, ref, minT, maxT);
    n += modelPts(m, ref).length;
    assert.deepEqual(pts(h.read(ref, minT, maxT)), want, `read of ref ${ref}`);
    buf.reset();
    h.readInto(ref, minT, maxT, buf);
    const got = buf.finish(minT, maxT);
    assert.deepEqual(got ? pts(got) : [], want, `readInto of ref ${ref}`);
    assert.equal(h.hasData(ref, minT, maxT), want.length > 0);
  }
  // Out-of-order samples that replace chunk samples count twice until folded or flushed.
  const { samples, oooSamples } = h.stats();
  if (oooSamples === 0) assert.equal(samples, n);
  else assert.ok(samples >= n);
}

/** Extracts window `w` and checks it returns exactly the model's samples there, then drops them. */
function extractAndCheck(h: Head, m: Model, w: number): void {
  const got = h.extractWindow(w);
  for (const [ref, byT] of m) {
    const want = modelPts(m, ref, w * R, (w + 1) * R - 1);
    const cs = got.get(ref) ?? [];
    assert.deepEqual(
      cs.map((c) => pts(decodeChunk(c))).reduce((a, b) => [...a, ...b], []),
      want,
      `window ${w} of ref ${ref}`,
    );
    for (const [t] of want) byT.delete(t);
  }
}

Deno.test("Head gives a flushed series' open-buffer memory back and reuses it for new series", () => {
  const h = new Head(R);
  const m: Model = new Map();
  const add = (ref: number, t: number, v: number) => {
    h.append(ref, t, v);
    if (!m.has(ref)) m.set(ref, new Map());
    m.get(ref)!.set(t, v);
  };
  // 500 series with full buffers, 500 with a few samples (a new series' small buffer).
  for (let i = 0; i < 100; i++) {
    for (let ref = 0; ref < 500; ref++) add(ref, R - 1_000_000 + i * 1000, ref + i);
  }
  for (let ref = 500; ref < 1000; ref++) for (let i = 0; i < 3; i++) add(ref, R - 10_000 + i, -ref);
  assertHolds(h, m, 1000);
  const { openSlabs, bufferBytes } = h.stats();
  assert.equal(bufferBytes, 500 * 120 * 12 + 500 * 8 * 12);
  extractAndCheck(h, m, 0);
  assert.equal(h.stats().series, 0);
  assert.equal(h.stats().bufferBytes, 0);
  // One empty slab of each slot size is kept for the next series.
  assert.equal(h.stats().openSlabs, 2);
  // The same number of series again, under other refs: no more slabs than the first time.
  for (let i = 0; i < 100; i++) {
    for (let ref = 1000; ref < 1500; ref++) add(ref, R + i * 1000, ref * i);
  }
  for (let ref = 1500; ref < 2000; ref++) add(ref, R + 5, ref);
  assert.equal(h.stats().openSlabs, openSlabs);
  assertHolds(h, m, 2000);
});

Deno.test("Head keeps every answer while series come and go, with late, duplicate and fractional samples", () => {
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const h = new Head(R);
  const m: Model = new Map();
  const last = new Map<number, number>();
  const REFS = 150;
  let w = 0;
  for (let round = 0; round < 24; round++) {
    // Each round, a random third of the refs take 1-150 samples each.
    for (let ref = 0; ref < REFS; ref++) {
      if (rnd() > 0.33) continue;
      const n = 1 + Math.floor(rnd() * 150);
      for (let k = 0; k < n; k++) {
        const prev = last.get(ref) ?? w * R + Math.floor(rnd() * R / 2);
        const r = rnd();
        let t = r < 0.8
          ? prev + 1000 + Math.floor(rnd() * 3) * 1000
          : r < 0.85
          ? prev
          : r < 0.95
          ? prev - Math.floor(rnd() * 400_000)
          : prev + 333.25; // fractional, in order
        if (rnd() < 0.02) t -= 0.5; // fractional and maybe late
        if (t < w * R) t = w * R + Math.floor(rnd() * 1000);
        if (t > (last.get(ref) ?? -Infinity)) last.set(ref, t);
        const v = Math.floor(rnd() * 1000) / 8;
        h.append(ref, t, v);
        if (!m.has(ref)) m.set(ref, new Map());
        m.get(ref)!.set(t, v);
      }
    }
    assertHolds(h, m, REFS);
    const lo = w * R + R / 4;
    assertHolds(h, m, REFS, lo, lo + R / 2);
    // Every third round the oldest window goes, and the series only it held with it.
    if (round % 3 === 2) {
      extractAndCheck(h, m, w);
      w++;
      for (const [ref, t] of last) if (t < w * R) last.delete(ref);
      assertHolds(h, m, REFS);
    }
  }
  for (const x of h.windows()) extractAndCheck(h, m, x);
  assert.deepEqual(
    { ...h.stats(), samples: 0 },
    {
      series: 0,
      samples: 0,
      chunks: 0,
      chunkBytes: 0,
      bufferBytes: 0,
      oooSamples: 0,
      // The empty slab each slot size keeps for the next series.
      openSlabs: 2,
    },
  );
});

Deno.test("Head seals a full open buffer when a sample lands between its samples, and the sample goes out of order", () => {
  const h = new Head(R);
  for (let i = 0; i < 120; i++) h.append(1, i * 10, i);
  h.append(1, 505, -1);
  h.append(1, 1200, 120);
  const want: [number, number][] = [];
  for (let i = 0; i <= 120; i++) want.push([i * 10, i]);
  want.push([505, -1]);
  want.sort((a, b) => a[0] - b[0]);
  assert.deepEqual(pts(h.read(1, -Infinity, Infinity)), want);
  assert.equal(h.stats().samples, 122);
  assert.equal(h.stats().oooSamples, 1);
  assert.equal(h.stats().chunks, 1);
  const flushed = h.extractWindow(0).get(1)!.map((c) => pts(decodeChunk(c)));
  assert.deepEqual(flushed.flat(), want);
});
