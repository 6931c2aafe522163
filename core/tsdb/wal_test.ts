import assert from "node:assert/strict";
import {
  decodeSamples,
  decodeSeries,
  encodeSamples,
  encodeSeries,
  REC_SAMPLES,
  REC_SERIES,
  replayWal,
  Wal,
  WAL_PREALLOC_BYTES,
  writeAll,
} from "./wal.ts";
import { STALE_NAN } from "../model/mod.ts";
import { joinPath, walSegmentName } from "./filenames.ts";
import { ByteReader } from "./_byte_buf.ts";
import { REC_SAMPLES_SYNC, SampleDecoder } from "./wal_codec.ts";

function samplesRec(ref: number, t0: number, n: number): Uint8Array {
  const refs = new Uint32Array(n).fill(ref);
  const t = new Float64Array(n), v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = t0 + i * 1000;
    v[i] = i + 0.5;
  }
  return encodeSamples(refs, t, v, n);
}

async function readAll(dir: string) {
  const got: { type: number; ref: number; t: number; v: number; seg: number }[] = [];
  const res = await replayWal(dir, (type, r, seg) => {
    if (type === REC_SAMPLES) {
      const c = decodeSamples(r);
      for (let i = 0; i < c.n; i++) got.push({ type, ref: c.refs[i], t: c.t[i], v: c.v[i], seg });
    } else if (type === REC_SERIES) {
      for (const d of decodeSeries(r)) got.push({ type, ref: d.ref, t: 0, v: 0, seg });
    }
  });
  return { got, res };
}

Deno.test("Wal replays every appended record after close", async () => {
  const dir = await Deno.makeTempDir();
  const wal = await Wal.open({ dir });
  await wal.append(encodeSeries([{ ref: 1, labels: [{ name: "__name__", value: "up" }] }]));
  await wal.append(samplesRec(1, 1_700_000_000_000, 5));
  await wal.close();
  const { got, res } = await readAll(dir);
  assert.equal(res.records, 2);
  assert.equal(got.length, 6);
  assert.deepEqual(
    got.slice(1).map((g) => g.t),
    [0, 1, 2, 3, 4].map((i) => 1_700_000_000_000 + i * 1000),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Wal reopens an empty newest segment instead of adding one per restart", async () => {
  const dir = await Deno.makeTempDir();
  // Two starts that wrote nothing (killed before any record) leave one segment.
  for (let i = 0; i < 2; i++) {
    const wal = await Wal.open({ dir });
    assert.equal(wal.currentSegment, 1);
    await wal.close();
  }
  const wal = await Wal.open({ dir });
  await wal.append(samplesRec(1, 1_700_000_000_000, 3));
  await wal.close();
  // A segment that holds records is not appended to: the next start opens a new one.
  const next = await Wal.open({ dir });
  assert.equal(next.currentSegment, 2);
  await next.append(samplesRec(2, 1_700_000_000_000, 2));
  await next.close();
  const { got, res } = await readAll(dir);
  assert.equal(res.segments, 2);
  assert.deepEqual(got.map((g) => [g.seg, g.ref]), [[1, 1], [1, 1], [1, 1], [2, 2], [2, 2]]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Wal group commit shares fsyncs among concurrent appends", async () => {
  const dir = await Deno.makeTempDir();
  const wal = await Wal.open({ dir });
  const ps = [];
  for (let i = 0; i < 200; i++) ps.push(wal.append(samplesRec(i, 1000 * i, 3)));
  await Promise.all(ps);
  assert.ok(wal.stats.fsyncs < 50, `fsyncs ${wal.stats.fsyncs}`);
  assert.equal(wal.stats.records, 200);
  await wal.close();
  const { got } = await readAll(dir);
  assert.equal(got.length, 600);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Wal runs onDurable in WAL order, before each append resolves and before a rotation", async () => {
  const dir = await Deno.makeTempDir();
  const wal = await Wal.open({ dir });
  const applied: number[] = [];
  const settled: number[] = [];
  const ps: Promise<number>[] = [];
  // Appends that arrive while a group is being written form the next groups.
  for (let i = 0; i < 60; i++) {
    const p = wal.append(samplesRec(i, 1000 * i, 3), () => applied.push(i));
    ps.push(p.then((seg) => {
      assert.ok(applied.includes(i), `append ${i} resolved before its onDurable ran`);
      settled.push(i);
      return seg;
    }));
    if (i % 7 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  const rotated = wal.rotate().then(() => [...applied]);
  await Promise.all(ps);
  assert.deepEqual(applied, [...Array(60).keys()]);
  assert.deepEqual(settled, [...Array(60).keys()]);
  assert.equal((await rotated).length, 60);
  await wal.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("replayWal truncates a torn tail at the last good record", async () => {
  const dir = await Deno.makeTempDir();
  const wal = await Wal.open({ dir });
  await wal.append(samplesRec(1, 0, 10));
  await wal.append(samplesRec(2, 0, 10));
  await wal.close();
  const path = joinPath(dir, walSegmentName(1));
  const data = await Deno.readFile(path);
  await Deno.writeFile(path, data.subarray(0, data.length - 7)); // torn last record
  const { got, res } = await readAll(dir);
  assert.equal(got.length, 10);
  assert.ok(got.every((g) => g.ref === 1));
  assert.equal(res.truncatedBytes > 0, true);
  const after = await Deno.stat(path);
  const { got: again, res: res2 } = await readAll(dir);
  assert.equal(again.length, 10);
  assert.equal(res2.truncatedBytes, 0);
  assert.ok(after.size < data.length);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a WAL left open (a crash) ends cleanly at the zeros written ahead", async () => {
  const dir = await Deno.makeTempDir();
  const wal = await Wal.open({ dir });
  await wal.append(samplesRec(1, 0, 10));
  await wal.append(samplesRec(2, 0, 10));
  const path = joinPath(dir, walSegmentName(1));
  const records = wal.currentSize;
  assert.equal((await Deno.stat(path)).size, WAL_PREALLOC_BYTES);
  // Not closed: the segment is read as a crash leaves it, zeros and all.
  const { got, res } = await readAll(dir);
  assert.deepEqual([...new Set(got.map((g) => g.ref))], [1, 2]);
  assert.deepEqual(res.damage, []);
  assert.equal(res.truncatedBytes, 0);
  assert.equal((await Deno.stat(path)).size, records);
  await wal.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a reused empty segment gets zeros written ahead and its records in place", async () => {
  const dir = await Deno.makeTempDir();
  await (await Wal.open({ dir })).close();
  const wal = await Wal.open({ dir });
  assert.equal(wal.currentSegment, 1);
  await wal.append(samplesRec(1, 0, 10));
  await wal.append(samplesRec(2, 0, 10));
  assert.equal((await Deno.stat(joinPath(dir, walSegmentName(1)))).size, WAL_PREALLOC_BYTES);
  const { got, res } = await readAll(dir); // as a crash leaves it
  assert.deepEqual([...new Set(got.map((g) => g.ref))], [1, 2]);
  assert.deepEqual(res.damage, []);
  await wal.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a torn record before the zeros written ahead is cut as a torn tail", async () => {
  const dir = await Deno.makeTempDir();
  const wal = await Wal.open({ dir });
  await wal.append(samplesRec(1, 0, 10));
  const good = wal.currentSize;
  await wal.append(samplesRec(2, 0, 10));
  const torn = wal.currentSize - 7;
  const path = joinPath(dir, walSegmentName(1));
  const f = await Deno.open(path, { write: true });
  await f.seek(torn, Deno.SeekMode.Start);
  await writeAll(f, new Uint8Array(7)); // the end of the last record never reached the disk
  f.close();
  const { got, res } = await readAll(dir);
  assert.ok(got.every((g) => g.ref === 1));
  assert.equal(res.damage.length, 1);
  assert.equal(res.damage[0].tail, true);
  assert.equal((await Deno.stat(path)).size, good);
  await wal.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Wal cuts the zeros written ahead off a segment it closes", async () => {
  const dir = await Deno.makeTempDir();
  const wal = await Wal.open({ dir });
  await wal.append(samplesRec(1, 0, 10));
  const first = wal.currentSize;
  await wal.rotate();
  await wal.append(samplesRec(2, 0, 10));
  const second = wal.currentSize;
  await wal.close();
  assert.equal((await Deno.stat(joinPath(dir, walSegmentName(1)))).size, first);
  assert.equal((await Deno.stat(joinPath(dir, walSegmentName(2)))).size, second);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("replayWal skips a damaged record in an older segment and reads on", async () => {
  const dir = await Deno.makeTempDir();
  const wal = await Wal.open({ dir });
  await wal.append(samplesRec(1, 0, 10));
  await wal.append(samplesRec(2, 0, 10));
  await wal.rotate();
  await wal.append(samplesRec(3, 0, 10));
  await wal.close();
  const path = joinPath(dir, walSegmentName(1));
  const data = await Deno.readFile(path);
  data[data.length - 3] ^= 0x10; // flip a bit in record 2
  await Deno.writeFile(path, data);
  const { got, res } = await readAll(dir);
  assert.deepEqual([...new Set(got.map((g) => g.ref))], [1, 3]);
  assert.deepEqual(res.corruptSegments, [1]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Wal rotates segments past segmentBytes and removes closed ones on request", async () => {
  const dir = await Deno.makeTempDir();
  const wal = await Wal.open({ dir, segmentBytes: 1024 });
  for (let i = 0; i < 40; i++) await wal.append(samplesRec(i, 0, 10));
  assert.ok(wal.segments().length > 3);
  const cur = wal.currentSegment;
  await wal.removeSegments((n) => n < cur);
  assert.deepEqual(wal.segments(), [cur]);
  await wal.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Wal undoes a partial write on ENOSPC and keeps earlier records", async () => {
  const dir = await Deno.makeTempDir();
  let fail = false;
  const wal = await Wal.open({
    dir,
    write: async (file, data) => {
      if (fail) {
        await writeAll(file, data.subarray(0, data.length >> 1));
        throw new Error("No space left on device (os error 28)");
      }
      await writeAll(file, data);
    },
  });
  await wal.append(samplesRec(1, 0, 10));
  fail = true;
  await assert.rejects(wal.append(samplesRec(2, 0, 10)), /os error 28/);
  fail = false;
  await wal.append(samplesRec(3, 0, 10));
  await wal.close();
  const { got, res } = await readAll(dir);
  assert.deepEqual([...new Set(got.map((g) => g.ref))], [1, 3]);
  assert.equal(res.truncatedBytes, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("encodeSamples keeps NaN bit patterns and fractional timestamps", () => {
  const t = new Float64Array([1.5, 2.25]), v = new Float64Array([STALE_NAN, -0]);
  const rec = encodeSamples([7, 8], t, v, 2);
  const c = decodeSamples(new ByteReader(rec, 1));
  assert.deepEqual([...c.t], [1.5, 2.25]);
  assert.deepEqual([...c.refs], [7, 8]);
  assert.deepEqual(new Uint8Array(c.v.buffer), new Uint8Array(v.buffer));
});

/** Appends `n` compressed records of 50 series each (1 sample per series per record). */
async function writeCompressed(dir: string, n: number) {
  const wal = await Wal.open({ dir });
  for (let r = 0; r < n; r++) {
    const refs = Array.from({ length: 50 }, (_, i) => i + 1);
    await wal.appendSamples({
      n: refs.length,
      refs,
      t: refs.map(() => 1_700_000_000_000 + r * 10_000),
      v: refs.map((_, i) => (r * 7 + i * 13) % 1000 + 0.25),
    });
  }
  await wal.close();
}

async function readCompressed(dir: string) {
  const got: { ref: number; t: number; v: number }[] = [];
  const dec = new SampleDecoder();
  const res = await replayWal(dir, (type, r, seg) => {
    dec.decode(r, seg, (ref, t, v) => got.push({ ref, t, v }), type === REC_SAMPLES_SYNC);
  });
  return { got, res };
}

Deno.test("replayWal resumes after damage mid-segment at the next sync point and counts the loss", async () => {
  const dir = await Deno.makeTempDir();
  await writeCompressed(dir, 2000);
  const path = joinPath(dir, walSegmentName(1));
  const data = await Deno.readFile(path);
  const at = Math.floor(data.length / 3);
  data.fill(0, at, at + 4096); // a zeroed page
  await Deno.writeFile(path, data);
  const { got, res } = await readCompressed(dir);
  // Every sample served is one that was written.
  const rec = (s: { t: number }) => (s.t - 1_700_000_000_000) / 10_000;
  for (const s of got) {
    assert.equal(s.v, (rec(s) * 7 + (s.ref - 1) * 13) % 1000 + 0.25, `sample ${JSON.stringify(s)}`);
  }
  assert.equal(res.damage.length, 1);
  const d = res.damage[0];
  assert.equal(d.tail, false);
  assert.equal(d.offset > 0 && d.offset <= at, true);
  assert.ok(d.bytes >= 4096 - 64, `skipped ${d.bytes} bytes`);
  // Records after the damage up to the next sync point are skipped and counted.
  const lostRecords = 2000 - got.length / 50;
  assert.ok(d.samples === d.records * 50);
  assert.ok(lostRecords > d.records, "the damaged bytes held records too");
  // Far less than the rest of the segment is lost, and the newest records are read.
  assert.ok(lostRecords < 2000 / 3, `lost ${lostRecords} of 2000 records`);
  assert.equal(Math.max(...got.map(rec)), 1999);
  assert.deepEqual(res.corruptSegments, [1]);
  // The newest segment is not cut at damage that has good records after it.
  assert.equal((await Deno.stat(path)).size, data.length);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("replayWal reads past a flipped byte and a damaged header", async () => {
  const dir = await Deno.makeTempDir();
  await writeCompressed(dir, 400);
  const path = joinPath(dir, walSegmentName(1));
  const data = await Deno.readFile(path);
  data[2] ^= 0xff; // header magic
  data[Math.floor(data.length / 2)] ^= 0x01;
  await Deno.writeFile(path, data);
  const { got, res } = await readCompressed(dir);
  assert.equal(res.damage.length, 2);
  assert.equal(res.damage[0].offset, 0);
  assert.ok(got.length > 0 && got.length < 400 * 50);
  assert.equal(Math.max(...got.map((s) => s.t)), 1_700_000_000_000 + 399 * 10_000);
  await Deno.remove(dir, { recursive: true });
});
