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
  writeAll,
} from "./wal.ts";
import { STALE_NAN } from "../model/mod.ts";
import { joinPath, walSegmentName } from "./filenames.ts";
import { ByteReader } from "./_byte_buf.ts";

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

Deno.test("replayWal skips the rest of a corrupt older segment and reads the next", async () => {
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
