/**
 * Native histograms through compaction, downsampling, late writes into
 * compacted and downsampled files, crash leftovers, damage found at read
 * time and the disk budget (the same answers in every storage state).
 */
import assert from "node:assert/strict";
import { type NativeHistogram, newMatcher, SampleBatch, toLabels } from "../model/mod.ts";
import { type DB, openDB, type OpenOptions } from "./db.ts";
import { HIST_DIR, histFileName } from "./filenames.ts";
import type { HistogramSamples } from "./histogram_chunk.ts";
import { downsampleHistograms, mergeRuns } from "./histogram_runs.ts";
import { counterHistogram } from "./_histogram_test_util.ts";

const H = 3_600_000, MIN = 60_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (24 * H)); // a day start
const DAY = histFileName({ lo: T0, hi: T0 + 24 * H, resolution: 0 });

/** A histogram every 5 minutes for a day, the counter restarting at 13:00. */
function day(): HistogramSamples {
  const t: number[] = [], h: NativeHistogram[] = [];
  for (let i = 0; i < 288; i++) {
    t.push(T0 + i * 5 * MIN);
    h.push(i < 156 ? counterHistogram(i + 20) : counterHistogram(i - 155));
  }
  return { t: Float64Array.from(t), h };
}

function batchOf(s: HistogramSamples, name = "lat"): SampleBatch {
  const b = new SampleBatch();
  const ref = b.addSeries(toLabels(name, { job: "api" }), name);
  for (let i = 0; i < s.t.length; i++) b.addHistogram(ref, s.t[i]!, s.h[i]!);
  return b;
}

class Clock {
  t = T0 + 26 * H;
  now = () => this.t;
}

async function open(dir: string, clock: Clock, extra: Partial<OpenOptions> = {}): Promise<DB> {
  return await openDB({
    dir,
    now: clock.now,
    backgroundIntervalMs: 0,
    useWorker: false,
    downsampling: [],
    deleteGraceMs: 0,
    ...extra,
  });
}

async function read(db: DB, name = "lat"): Promise<HistogramSamples> {
  const got = await db.select([newMatcher("=", "__name__", name)], {
    minT: -Infinity,
    maxT: Infinity,
  });
  const h = got[0]?.histograms;
  return h ? { t: h.t, h: [...h.h] } : { t: new Float64Array(0), h: [] };
}

function files(dir: string): string[] {
  return [...Deno.readDirSync(`${dir}/${HIST_DIR}`)].map((e) => e.name).sort();
}

/** Stores a day, then one sample at 26:00 so the day lies behind the flush horizon. */
async function fill(db: DB): Promise<HistogramSamples> {
  const want = day();
  assert.equal((await db.append(batchOf(want))).accepted, 288);
  const next = { t: Float64Array.of(T0 + 26 * H), h: [counterHistogram(200)] };
  await db.append(batchOf(next));
  return mergeRuns(want, next);
}

Deno.test("histogram files are compacted 2h → 6h → 24h; a late histogram is merged into the compacted file", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new Clock();
  let db = await open(dir, clock, { compaction: false });
  const want = await fill(db);
  await db.maintenance();
  assert.equal(files(dir).length, 12); // one per 2 h window, the 26:00 sample still in the head
  const windows = files(dir).map((f) => Deno.readFileSync(`${dir}/${HIST_DIR}/${f}`));
  assert.deepEqual(await read(db), want);
  await db.close();

  db = await open(dir, clock);
  await db.maintenance();
  assert.deepEqual(files(dir), [DAY]);
  assert.deepEqual(await read(db), want);
  assert.equal((await db.stats()).histogramFiles, 1);

  // A late histogram into the compacted day: served at once, then merged into that file.
  const late = { t: Float64Array.of(T0 + H + 1000), h: [counterHistogram(7)] };
  await db.append(batchOf(late));
  const withLate = mergeRuns(want, late);
  assert.deepEqual(await read(db), withLate);
  await db.maintenance();
  assert.deepEqual(files(dir), [DAY]);
  assert.deepEqual(await read(db), withLate);
  await db.close();
  db = await open(dir, clock);
  assert.deepEqual(await read(db), withLate);
  await db.close();

  // A crash after the compacted file was written, before its inputs were removed:
  // the inputs are found beside it at open and removed, nothing is served twice.
  const names = windows.map((_, k) =>
    histFileName({ lo: T0 + 2 * k * H, hi: T0 + 2 * (k + 1) * H, resolution: 0 })
  );
  windows.forEach((b, k) => Deno.writeFileSync(`${dir}/${HIST_DIR}/${names[k]}`, b));
  db = await open(dir, clock);
  assert.deepEqual(files(dir), [DAY]);
  assert.deepEqual(await read(db), withLate);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("histogram files are downsampled: the last histogram per step and the samples around the reset", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new Clock();
  const tiers = [{ afterMs: 24 * H, resolutionMs: H }];
  let db = await open(dir, clock, { downsampling: tiers });
  const want = await fill(db);
  await db.maintenance();
  assert.deepEqual(files(dir), [DAY]); // not yet older than the tier
  const raw = Deno.readFileSync(`${dir}/${HIST_DIR}/${DAY}`);

  clock.t = T0 + 49 * H;
  await db.maintenance();
  const tier = histFileName({ lo: T0, hi: T0 + 24 * H, resolution: H });
  assert.deepEqual(files(dir), [tier]);
  const dayRun = { t: want.t.slice(0, 288), h: want.h.slice(0, 288) };
  const thin = mergeRuns(downsampleHistograms(dayRun, H), {
    t: want.t.slice(288),
    h: want.h.slice(288),
  });
  // 24 hourly points, 13:00 after the restart (12:55 is the last of its hour), both samples
  // around the two layout changes (02:25, 02:30, 17:00, 17:05) and the sample at 26:00.
  assert.equal(thin.t.length, 24 + 1 + 4 + 1);
  assert.deepEqual(await read(db), thin);
  await db.close();
  db = await open(dir, clock, { downsampling: tiers });
  assert.deepEqual(await read(db), thin);

  // A late raw histogram at 03:59:30, after that hour's last (03:55): it becomes the hour's
  // point in the same downsampled file.
  const late = { t: Float64Array.of(T0 + 4 * H - 30_000), h: [counterHistogram(90)] };
  await db.append(batchOf(late));
  await db.maintenance();
  assert.deepEqual(files(dir), [tier]);
  const merged = downsampleHistograms(mergeRuns(thin, late), H);
  assert.ok([...merged.t].includes(T0 + 4 * H - 30_000));
  assert.ok(![...merged.t].includes(T0 + 4 * H - 5 * MIN));
  assert.deepEqual(await read(db), merged);
  await db.close();

  // A crash after the tier file was written, before the raw file was removed.
  Deno.writeFileSync(`${dir}/${HIST_DIR}/${DAY}`, raw);
  db = await open(dir, clock, { downsampling: tiers });
  assert.deepEqual(files(dir), [tier]);
  assert.deepEqual(await read(db), merged);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a histogram file damaged after open is quarantined at its first read; the rest is served", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new Clock();
  const db = await open(dir, clock, { compaction: false });
  const want = await fill(db);
  await db.maintenance();
  const first = files(dir)[0]!;
  // Flip a byte in the middle of the file (inside a chunk), in place.
  const f = await Deno.open(`${dir}/${HIST_DIR}/${first}`, { read: true, write: true });
  const size = (await f.stat()).size;
  const b = new Uint8Array(1);
  await f.seek(size >> 1, Deno.SeekMode.Start);
  await f.read(b);
  b[0]! ^= 0xff;
  await f.seek(size >> 1, Deno.SeekMode.Start);
  await f.write(b);
  f.close();
  assert.equal(db.health().status, "healthy");
  const got = await read(db);
  // The first 2 h window (24 samples) is gone, the rest is served.
  assert.deepEqual([...got.t], [...want.t.slice(24)]);
  assert.ok(!files(dir).includes(first));
  assert.ok(Deno.statSync(`${dir}/quarantine/${HIST_DIR}/${first}`).isFile);
  const health = db.health();
  assert.equal(health.status, "degraded");
  assert.match(health.message, new RegExp(`${HIST_DIR}/${first} failed its checks`));
  assert.equal(health.incidents?.[0]?.samples, 24);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the disk budget deletes the oldest histogram files first", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new Clock();
  let db = await open(dir, clock, { compaction: false });
  const want = await fill(db);
  await db.maintenance();
  const before = files(dir);
  await db.close();
  // Measured after a restart: the KV file shrinks when it is closed.
  db = await open(dir, clock, { compaction: false });
  const total = (await db.diskBytes()).total;
  await db.close();
  // A budget just under what is used: the oldest file must go, the newest stay.
  db = await open(dir, clock, { compaction: false, maxBytes: total - 1 });
  await db.maintenance();
  const after = files(dir);
  assert.ok(!after.includes(before[0]!));
  assert.ok(after.includes(before[before.length - 1]!));
  const got = await read(db);
  assert.deepEqual([...got.t], [...want.t.slice(want.t.length - got.t.length)]);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a day back-filled after its tier is due: 2 h files downsampled before compaction are merged, not hidden", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new Clock();
  clock.t = T0 + 49 * H;
  const tiers = [{ afterMs: 24 * H, resolutionMs: H }];
  let db = await open(dir, clock, { downsampling: tiers });
  // Hour by hour: each append that completes a window flushes and downsamples it at once.
  const want = day();
  for (let h = 0; h < 24; h++) {
    const k = [...want.t].findIndex((t) => t >= T0 + h * H);
    await db.append(batchOf({ t: want.t.slice(k, k + 12), h: want.h.slice(k, k + 12) }));
  }
  await db.append(batchOf({ t: Float64Array.of(T0 + 26 * H), h: [counterHistogram(200)] }));
  await db.maintenance();
  await db.maintenance();
  const ranges = files(dir).map((f) => f.split(".")[0]!.split("_").map(Number));
  for (const [lo, hi] of ranges) {
    const inside = ranges.filter(([l, h]) => (l !== lo || h !== hi) && lo! <= l! && h! <= hi!);
    assert.deepEqual(inside, [], `no file inside ${lo}_${hi}: ${files(dir)}`);
  }
  const thin = mergeRuns(downsampleHistograms(want, H), {
    t: Float64Array.of(T0 + 26 * H),
    h: [counterHistogram(200)],
  });
  const got = await read(db);
  assert.deepEqual([...got.t], [...thin.t]);
  await db.close();
  db = await open(dir, clock, { downsampling: tiers });
  assert.deepEqual(await read(db), got, "the same after a restart");
  await db.close();
  await Deno.remove(dir, { recursive: true });
});
