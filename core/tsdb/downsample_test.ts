import assert from "node:assert/strict";
import { newMatcher, SampleBatch, type SeriesData, toLabels } from "../model/mod.ts";
import { createEngine } from "../promql/mod.ts";
import { openDB } from "./db.ts";
import { AGG, downsampleSeries, viewFor } from "./downsample.ts";
import { mulberry32 } from "./edge_workload.ts";
import { BLOCKS_DIR } from "./filenames.ts";

const H = 3_600_000, D = 24 * H;
const T0 = 1_700_006_400_000 - (1_700_006_400_000 % D); // a day start

Deno.test("downsampleSeries() keeps min/max/sum/count/last per window and every counter increase", () => {
  const t = new Float64Array([0, 10, 20, 60, 70, 130]);
  const v = new Float64Array([5, 9, 2, NaN, 4, 6]); // a drop (reset) inside the first window
  const out = downsampleSeries({ kind: "raw", s: { t, v } }, 60, true).parts;
  const pts = (a: number) => [...out.get(a)!.t].map((x, i) => [x, out.get(a)!.v[i]]);
  assert.deepEqual(pts(AGG.min), [[20, 2], [70, 4], [130, 6]]);
  assert.deepEqual(pts(AGG.max), [[20, 9], [70, 4], [130, 6]]);
  assert.deepEqual(pts(AGG.sum), [[20, 16], [70, 4], [130, 6]]);
  assert.deepEqual(pts(AGG.count), [[20, 3], [70, 1], [130, 1]]);
  assert.deepEqual(pts(AGG.last), [[20, 2], [70, 4], [130, 6]]);
  // The counter keeps the sample before the drop: 9 → 2 stays a reset.
  assert.deepEqual(pts(AGG.counter), [[10, 9], [20, 2], [70, 4], [130, 6]]);
  // A second tier built from the first gives the same as building from raw.
  const again = downsampleSeries({ kind: "agg", parts: out }, 120, true).parts;
  const direct = downsampleSeries({ kind: "raw", s: { t, v } }, 120, true).parts;
  assert.deepEqual(again, direct);
  assert.deepEqual(viewFor(out, "max_over_time"), out.get(AGG.max));
  // avg_over_time and count_over_time see each window with the raw samples it stands for.
  const avg = viewFor(out, "avg_over_time")!;
  assert.deepEqual([...avg.v], [16, 4, 6]);
  assert.deepEqual([...avg.c!], [3, 1, 1]);
  assert.deepEqual([...viewFor(out, "count_over_time")!.c!], [3, 1, 1]);
});

function series(rows: SeriesData[], name: string): SeriesData {
  const s = rows.find((r) => r.labels.some((l) => l.name === "__name__" && l.value === name));
  assert.ok(s, name);
  return s;
}

Deno.test("DB downsamples old blocks: rate within 1% of raw, max_over_time exact, retention deletes whole blocks", async () => {
  const dir = await Deno.makeTempDir(), refDir = await Deno.makeTempDir();
  let now = T0 + 3 * D + H;
  // The reference keeps raw data; the database under test downsamples.
  const ref = await openDB({
    dir: refDir,
    now: () => now,
    backgroundIntervalMs: 0,
    useWorker: false,
    outOfOrderWindowMs: Infinity,
    downsampling: [],
  });
  const db = await openDB({
    dir,
    now: () => now,
    backgroundIntervalMs: 0,
    useWorker: false,
    outOfOrderWindowMs: Infinity,
    deleteGraceMs: 0,
    downsampling: [{ afterMs: D, resolutionMs: 60_000 }, { afterMs: 2 * D, resolutionMs: 300_000 }],
  });
  const rnd = mulberry32(3);
  let c = 0, g = 20;
  const step = 10_000;
  for (let t = T0; t < T0 + 3 * D; t += H) {
    const b = new SampleBatch();
    const cs = b.addSeries(toLabels("requests_total", { job: "a" }), "c");
    const gs = b.addSeries(toLabels("temperature", { job: "a" }), "g");
    for (let u = t; u < t + H; u += step) {
      c = u % (17 * H) === 0 ? 0 : c + Math.floor(rnd() * 100); // a reset every 17 h
      g = Math.round((g + (rnd() - 0.5) * 2) * 100) / 100;
      b.add(cs, u, c);
      b.add(gs, u, g);
    }
    await db.append(b);
    await ref.append(b);
  }
  await db.flush();
  await ref.flush();
  const rateAt = async (t: number, q = db) => {
    const r = (await createEngine({ querier: q }).instantQuery("rate(requests_total[6h])", t))
      .result;
    assert.ok(r.type === "vector" && r.samples.length === 1);
    return r.samples[0].v;
  };
  const at = [T0 + 6 * H, T0 + 17 * H + 30 * 60_000, T0 + D + 12 * H]; // the second one spans a reset
  const rateRaw = [];
  for (const t of at) {
    rateRaw.push(await rateAt(t, ref));
  }
  const day = { minT: T0, maxT: T0 + D - 1, func: "max_over_time" };
  const rawDay = await ref.select([newMatcher("=", "job", "a")], { minT: T0, maxT: T0 + D - 1 });
  const rawMax = Math.max(...series(rawDay, "temperature").v);
  const rawMin = Math.min(...series(rawDay, "temperature").v);
  const blocksBefore = (await ref.stats()).blocks;
  await ref.close();
  await Deno.remove(refDir, { recursive: true });
  now = T0 + 4 * D + H; // days 0 and 1 are past both tiers (5 m), day 2 past the first (1 m)
  await db.maintenance();
  const st = await db.stats();
  assert.ok(st.downsamplings >= 2, `downsampled ${st.downsamplings}`);
  assert.equal(st.downsamplingFailures, 0);
  const rateDown: number[] = [];
  for (let i = 0; i < at.length; i++) {
    const got = await rateAt(at[i]);
    rateDown.push(got);
    assert.ok(Math.abs(got / rateRaw[i] - 1) < 0.01, `rate at ${i}: ${got} vs raw ${rateRaw[i]}`);
  }
  const down = await db.select([newMatcher("=", "__name__", "temperature")], day);
  assert.equal(Math.max(...down[0].v), rawMax, "max_over_time exact");
  const mins = await db.select([newMatcher("=", "__name__", "temperature")], {
    ...day,
    func: "min_over_time",
  });
  assert.equal(Math.min(...mins[0].v), rawMin, "min_over_time exact");
  const plain = await db.select([newMatcher("=", "__name__", "temperature")], day);
  assert.ok(down[0].t.length <= D / 300_000 && plain[0].t.length <= D / 300_000, "5 m points");
  const bytes = (await db.diskBytes()).blocks;

  // Retention: blocks whose newest sample is older than 2.5 days go, whole.
  await db.close();
  now = T0 + 5 * D;
  const again = await openDB({
    dir,
    now: () => now,
    backgroundIntervalMs: 0,
    useWorker: false,
    deleteGraceMs: 0,
    retentionMs: 2.5 * D,
    downsampling: [{ afterMs: D, resolutionMs: 60_000 }, { afterMs: 2 * D, resolutionMs: 300_000 }],
  });
  await again.maintenance();
  const left = await again.select([newMatcher("=", "job", "a")], {
    minT: -Infinity,
    maxT: Infinity,
  });
  for (const s of left) assert.ok(s.t[0] >= T0 + 2 * D, "nothing older than the cutoff's blocks");
  assert.ok(left.length > 0 && left[0].t.length > 0, "newer data kept");
  const st2 = await again.stats();
  assert.ok(st2.retentionDeletedBlocks >= 1);
  const files = [...Deno.readDirSync(`${dir}/${BLOCKS_DIR}`)].map((e) => e.name);
  assert.equal(
    files.filter((f) => f.endsWith(".blk")).length,
    st2.blocks,
    "deleted files are gone",
  );
  await again.close();
  console.log(
    `blocks ${blocksBefore} -> ${st.blocks}, block bytes after downsampling ${bytes}, rate raw ${
      rateRaw.map((x) => x.toFixed(4))
    } downsampled ${rateDown.map((x) => x.toFixed(4))}`,
  );
  await Deno.remove(dir, { recursive: true });
});
