import assert from "node:assert/strict";
import { Head, mergeSamples } from "./head.ts";
import { decodeChunk } from "./chunk.ts";

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
