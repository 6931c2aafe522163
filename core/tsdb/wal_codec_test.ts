import assert from "node:assert/strict";
import { STALE_NAN } from "../model/mod.ts";
import { ByteReader, ByteWriter } from "./_byte_buf.ts";
import {
  REC_SAMPLES_SYNC,
  REC_SAMPLES_V2,
  SampleDecoder,
  SampleEncoder,
  type SampleSource,
} from "./wal_codec.ts";
import { generateEdgeWorkload, mulberry32 } from "./edge_workload.ts";
import { Wal } from "./wal.ts";
import { replayWal } from "./wal.ts";

interface Cols extends SampleSource {
  refs: number[];
  ts: number[];
  vs: number[];
}

function cols(refs: number[], ts: number[], vs: number[]): Cols {
  return { refs, ts, vs, n: refs.length, t: ts, v: vs };
}

function bits(x: number): string {
  const b = new Float64Array([x]);
  return [...new Uint8Array(b.buffer)].join(",");
}

/** Encodes records in order and decodes them back as one segment. */
function roundTrip(records: Cols[], segmentOf = (_i: number) => 1): number {
  const enc = new SampleEncoder();
  const dec = new SampleDecoder();
  let bytes = 0, lastSeg = 1;
  for (let r = 0; r < records.length; r++) {
    const seg = segmentOf(r);
    if (seg !== lastSeg) {
      enc.reset();
      lastSeg = seg;
    }
    const w = new ByteWriter();
    enc.encode(w, records[r]);
    const rec = w.copy();
    bytes += rec.length;
    assert.ok(rec[0] === REC_SAMPLES_V2 || rec[0] === REC_SAMPLES_SYNC);
    const got: [number, number, number][] = [];
    const rd = new ByteReader(rec, 1);
    dec.decode(rd, seg, (ref, t, v) => got.push([ref, t, v]), rec[0] === REC_SAMPLES_SYNC);
    assert.equal(rd.pos, rec.length, "whole record consumed");
    const c = records[r];
    assert.equal(got.length, c.n);
    for (let i = 0; i < c.n; i++) {
      assert.equal(got[i][0], c.refs[i], `ref of sample ${i} in record ${r}`);
      assert.equal(bits(got[i][1]), bits(c.ts[i]), `t of sample ${i} in record ${r}`);
      assert.equal(bits(got[i][2]), bits(c.vs[i]), `v of sample ${i} in record ${r}: ${c.vs[i]}`);
    }
  }
  return bytes;
}

Deno.test("WAL samples codec round-trips adversarial values and times bit-exactly", () => {
  const nan2 = new Float64Array(new Uint32Array([1, 0x7ff80000]).buffer)[0];
  const special = [
    NaN,
    STALE_NAN,
    nan2,
    Infinity,
    -Infinity,
    -0,
    0,
    5e-324,
    Number.MAX_VALUE,
    0.1 + 0.2,
    1.5,
    2 ** 53,
    -(2 ** 60),
    123456789.123,
    1e-15,
    42,
    42,
    42.25,
    42.251,
    1e21,
  ];
  const times = [0, 1, 1, 0.5, -1e18, 2 ** 53, 1e3, 1e3 + 1e-9, -0, 1e300, 1700000000000];
  const rnd = mulberry32(7);
  const records: Cols[] = [];
  for (let r = 0; r < 40; r++) {
    const refs: number[] = [], ts: number[] = [], vs: number[] = [];
    for (let i = 0; i < 60; i++) {
      refs.push(1 + Math.floor(rnd() * 6) + (rnd() < 0.05 ? 100_000 : 0));
      ts.push(
        rnd() < 0.2
          ? times[Math.floor(rnd() * times.length)]
          : 1e12 + r * 1e4 + Math.floor(rnd() * 3e4),
      );
      const p = rnd();
      vs.push(
        p < 0.3
          ? special[Math.floor(rnd() * special.length)]
          : p < 0.6
          ? Math.round(rnd() * 1e6) / 100
          : p < 0.8
          ? Math.floor(rnd() * 2 ** 52) * (rnd() < 0.5 ? -1 : 1)
          : rnd(),
      );
    }
    records.push(cols(refs, ts, vs));
  }
  roundTrip(records);
  // Segment changes reset the state on both sides.
  roundTrip(records, (i) => 1 + Math.floor(i / 7));
});

Deno.test("WAL samples codec stores the edge workload in under 3 bytes per sample", () => {
  const series = [...generateEdgeWorkload({ hosts: 20, durationMs: 2 * 3_600_000, jitterMs: 0 })];
  const records: Cols[] = [];
  let samples = 0;
  for (let i = 0; i < series[0].t.length; i++) {
    const refs: number[] = [], ts: number[] = [], vs: number[] = [];
    for (let k = 0; k < series.length; k++) {
      refs.push(k + 1);
      ts.push(series[k].t[i]);
      vs.push(series[k].v[i]);
    }
    samples += refs.length;
    records.push(cols(refs, ts, vs));
  }
  const bytes = roundTrip(records);
  const perSample = (bytes + records.length * 8) / samples; // with the 8-byte frame
  console.log(`edge workload in the WAL: ${perSample.toFixed(3)} B/sample`);
  assert.ok(perSample < 3, `${perSample.toFixed(2)} B/sample`);
  assert.ok(perSample > 1, `${perSample.toFixed(2)} B/sample is below the information content`);
});

Deno.test("Wal.appendSamples replays across rotation and after a failed write", async () => {
  const dir = await Deno.makeTempDir();
  let fail = false;
  const wal = await Wal.open({
    dir,
    segmentBytes: 100,
    write: async (file, data) => {
      if (fail) throw new Error("No space left on device (os error 28)");
      let off = 0;
      while (off < data.length) off += await file.write(data.subarray(off));
    },
  });
  const want: [number, number, number][] = [];
  for (let r = 0; r < 30; r++) {
    const refs = [1, 2, 3], ts = refs.map(() => 1e12 + r * 1000), vs = refs.map((x) => x * r + 0.5);
    if (r === 12) {
      fail = true;
      await assert.rejects(wal.appendSamples(cols(refs, ts, vs)), /os error 28/);
      fail = false;
      continue;
    }
    await wal.appendSamples(cols(refs, ts, vs));
    for (let i = 0; i < 3; i++) want.push([refs[i], ts[i], vs[i]]);
  }
  await wal.close();
  assert.ok(wal.segments().length > 3, "rotated");
  const got: [number, number, number][] = [];
  const dec = new SampleDecoder();
  const res = await replayWal(dir, (type, r, seg) => {
    assert.ok(type === REC_SAMPLES_V2 || type === REC_SAMPLES_SYNC);
    dec.decode(r, seg, (ref, t, v) => got.push([ref, t, v]), type === REC_SAMPLES_SYNC);
  });
  assert.deepEqual(got, want);
  assert.equal(res.corruptSegments.length, 0);
  await Deno.remove(dir, { recursive: true });
});
