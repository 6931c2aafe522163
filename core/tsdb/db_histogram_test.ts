import assert from "node:assert/strict";
import { type NativeHistogram, newMatcher, SampleBatch, toLabels } from "../model/mod.ts";
import { encodeWriteRequest, IngestPipeline, parseRemoteWrite } from "../ingest/mod.ts";
import { type DB, openDB, type OpenOptions } from "./db.ts";
import { HIST_DIR, histFileName } from "./filenames.ts";
import { createEngine } from "../promql/mod.ts";
import { counterHistogram } from "./_histogram_test_util.ts";

const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (24 * H)); // a day (and block window) start

const hist = counterHistogram;

async function tmpDB(extra: Partial<OpenOptions> = {}, dir?: string) {
  dir ??= await Deno.makeTempDir();
  const db = await openDB({
    dir,
    now: () => T0 + 100 * H,
    backgroundIntervalMs: 0,
    useWorker: false,
    downsampling: [],
    ...extra,
  });
  return { db, dir };
}

const ALL = { minT: -Infinity, maxT: Infinity };

/** The raw histogram file of the 2 h block window `k` windows after T0. */
function windowFile(k: number): string {
  return histFileName({ lo: T0 + k * 2 * H, hi: T0 + (k + 1) * 2 * H, resolution: 0 });
}

async function histPoints(db: DB, name = "lat", hints = ALL) {
  const got = await db.select([newMatcher("=", "__name__", name)], hints);
  if (got.length === 0) return [];
  assert.equal(got.length, 1);
  const h = got[0]!.histograms;
  return h ? [...h.t].map((t, i) => [t, h.h[i]!] as const) : [];
}

/** 200 histogram samples a minute apart (three block windows) and a float series beside them. */
function mixedBatch(): { b: SampleBatch; want: (readonly [number, NativeHistogram])[] } {
  const b = new SampleBatch();
  const lat = b.addSeries(toLabels("lat", { job: "api" }), "lat");
  const temp = b.addSeries(toLabels("temp", { job: "api" }), "temp");
  const want: (readonly [number, NativeHistogram])[] = [];
  for (let i = 0; i < 200; i++) {
    const t = T0 + i * 60_000;
    b.addHistogram(lat, t, hist(i));
    b.add(temp, t, i / 2);
    want.push([t, hist(i)]);
  }
  return { b, want };
}

Deno.test("DB stores native histograms through WAL replay, flush to files and reopen", async () => {
  let { db, dir } = await tmpDB();
  const { b, want } = mixedBatch();
  const res = await db.append(b);
  assert.equal(res.accepted, 400);
  assert.deepEqual(res.rejected, []);
  assert.deepEqual(await histPoints(db), want);
  // The float series beside them is untouched, and has no histograms.
  const temp = await db.select([newMatcher("=", "__name__", "temp")], ALL);
  assert.equal(temp[0]!.t.length, 200);
  assert.equal(temp[0]!.histograms, undefined);
  // A range read clips.
  const mid = await histPoints(db, "lat", { minT: T0 + 10 * 60_000, maxT: T0 + 12 * 60_000 });
  assert.deepEqual(mid, want.slice(10, 13));

  // Restart without flushing: the WAL brings them back.
  await db.close();
  ({ db } = await tmpDB({}, dir));
  assert.deepEqual(await histPoints(db), want);

  // Flush: one file per block window; the head is empty; a restart reads the files.
  await db.flush();
  const files = [...Deno.readDirSync(`${dir}/${HIST_DIR}`)].map((e) => e.name).sort();
  assert.deepEqual(files, [windowFile(0), windowFile(1)]);
  assert.deepEqual(await histPoints(db), want);
  await db.close();
  ({ db } = await tmpDB({}, dir));
  assert.deepEqual(await histPoints(db), want);

  // A late histogram into a flushed window, one replacing a stored timestamp: merged at the next flush.
  const late = new SampleBatch();
  const ref = late.addSeries(toLabels("lat", { job: "api" }), "lat");
  late.addHistogram(ref, T0 + 30 * 60_000 + 1, hist(7));
  late.addHistogram(ref, T0 + 31 * 60_000, hist(99));
  assert.equal((await db.append(late)).accepted, 2);
  const merged = [...want];
  merged.splice(31, 0, [T0 + 30 * 60_000 + 1, hist(7)]);
  merged[32] = [T0 + 31 * 60_000, hist(99)];
  assert.deepEqual(await histPoints(db), merged);
  await db.flush();
  await db.close();
  ({ db } = await tmpDB({}, dir));
  assert.deepEqual(await histPoints(db), merged);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB: a damaged histogram file is set aside and reported, the rest is served", async () => {
  let { db, dir } = await tmpDB();
  const { b, want } = mixedBatch();
  await db.append(b);
  await db.flush();
  await db.close();
  const first = `${dir}/${HIST_DIR}/${windowFile(0)}`;
  const bytes = await Deno.readFile(first);
  bytes[bytes.length >> 1]! ^= 0xff;
  await Deno.writeFile(first, bytes);
  ({ db } = await tmpDB({}, dir));
  // The first window (120 samples) is gone; the second is served.
  assert.deepEqual(await histPoints(db), want.slice(120));
  assert.ok((await Deno.stat(`${dir}/quarantine/${HIST_DIR}/${windowFile(0)}`)).isFile);
  await assert.rejects(Deno.stat(first), Deno.errors.NotFound);
  const inc = db.incidents.list().find((i) => i.file.startsWith(HIST_DIR));
  assert.match(inc?.message ?? "", /failed its checks .*CRC.*quarantined/);
  assert.equal(db.health().status, "degraded");
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB: a damaged histogram file keeps serving its intact series; the original is quarantined", async () => {
  let { db, dir } = await tmpDB();
  const b = new SampleBatch();
  const refs = ["a", "b", "c"].map((job) => b.addSeries(toLabels("lat", { job }), job));
  const t = (i: number) => T0 + i * 60_000;
  for (let i = 0; i < 100; i++) for (const ref of refs) b.addHistogram(ref, t(i), hist(i + ref));
  await db.append(b);
  await db.flush();
  await db.close();
  const path = `${dir}/${HIST_DIR}/${windowFile(0)}`;
  const bytes = await Deno.readFile(path);
  bytes[bytes.length >> 1]! ^= 0xff; // inside the middle series' chunk
  await Deno.writeFile(path, bytes);
  const served = async (d: DB) => {
    const got = await d.select([newMatcher("=", "__name__", "lat")], ALL);
    return Object.fromEntries(got.map((s) => [
      s.labels.find((l) => l.name === "job")!.value,
      s.histograms!.h.length,
    ]));
  };
  ({ db } = await tmpDB({}, dir));
  assert.deepEqual(await served(db), { a: 100, c: 100 });
  const [first] = await db.select([newMatcher("=", "job", "a")], ALL);
  assert.deepEqual(first!.histograms!.h, Array.from({ length: 100 }, (_, i) => hist(i + refs[0]!)));
  assert.ok((await Deno.stat(`${dir}/quarantine/${HIST_DIR}/${windowFile(0)}`)).isFile);
  const inc = db.incidents.list().filter((i) => i.file.startsWith(HIST_DIR));
  assert.equal(inc.length, 1);
  assert.equal(inc[0]!.kind, "block_damaged");
  assert.match(
    inc[0]!.message,
    /200 histograms of 2 series are intact and served, 1 damaged chunks/,
  );
  assert.equal(db.health().status, "degraded");
  // The file written back passes its checks: a restart serves the same and adds nothing.
  await db.close();
  ({ db } = await tmpDB({}, dir));
  assert.deepEqual(await served(db), { a: 100, c: 100 });
  assert.equal(db.incidents.list().filter((i) => i.file.startsWith(HIST_DIR)).length, 1);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB: retention deletes old histogram files", async () => {
  const { db, dir } = await tmpDB({ retentionMs: 100 * H - 4 * H });
  const { b } = mixedBatch();
  await db.append(b);
  // Newer samples so the old window is past retention once flushed.
  const nb = new SampleBatch();
  nb.addHistogram(nb.addSeries(toLabels("lat", { job: "api" }), "lat"), T0 + 99 * H, hist(500));
  await db.append(nb);
  await db.flush();
  await db.maintenance();
  const left = [...Deno.readDirSync(`${dir}/${HIST_DIR}`)].map((e) => e.name).sort();
  assert.deepEqual(left, [windowFile(49)]);
  assert.deepEqual((await histPoints(db)).map(([t]) => t), [T0 + 99 * H]);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("remote write histograms reach the store through the ingest pipeline", async () => {
  const { db, dir } = await tmpDB();
  const pipeline = new IngestPipeline({ appender: db });
  const body = encodeWriteRequest({
    series: [{
      labels: [{ name: "__name__", value: "rpc_seconds" }, { name: "job", value: "gw" }],
      t: [T0],
      v: [1],
      histograms: [{ t: T0 + 1000, h: hist(3) }, { t: T0 + 2000, h: hist(4) }],
    }],
  });
  const r = await pipeline.ingest("remote_write", parseRemoteWrite(body));
  assert.equal(r.accepted, 3);
  const got = await db.select([newMatcher("=", "__name__", "rpc_seconds")], ALL);
  assert.deepEqual([...got[0]!.t], [T0]);
  assert.deepEqual([...got[0]!.histograms!.t], [T0 + 1000, T0 + 2000]);
  assert.deepEqual(got[0]!.histograms!.h, [hist(3), hist(4)]);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("PromQL reads native histograms from the DB: the latest sample of either kind", async () => {
  const { db, dir } = await tmpDB();
  const { b } = mixedBatch();
  const mixed = b.addSeries(toLabels("mixed", {}), "mixed");
  b.add(mixed, T0 + 60_000, 5);
  b.addHistogram(mixed, T0 + 120_000, hist(1));
  await db.append(b);
  const eng = createEngine({ querier: db });
  const at = T0 + 150_000;
  const samples = async (q: string) => {
    const r = (await eng.instantQuery(q, at)).result;
    assert.equal(r.type, "vector");
    return r.type === "vector" ? r.samples : [];
  };
  const [lat] = await samples("lat");
  assert.equal(lat!.h?.count, hist(2).count);
  assert.deepEqual(lat!.h?.pCnt, hist(2).positiveBuckets);
  // The histogram at 120 s is newer than the float at 60 s.
  const [m] = await samples("mixed");
  assert.equal(m!.h?.count, hist(1).count);
  assert.deepEqual(
    (await samples("histogram_count(lat) + histogram_sum(lat)")).map((s) => s.v),
    [hist(2).count + hist(2).sum],
  );
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DB: a histogram appended while its window is being flushed is kept", async () => {
  let { db, dir } = await tmpDB();
  const { b, want } = mixedBatch();
  await db.append(b);
  const extra = new SampleBatch();
  const ref = extra.addSeries(toLabels("lat", { job: "api" }), "lat");
  extra.addHistogram(ref, T0 + 5 * 60_000 + 500, hist(42));
  // The flush starts first (it waits for the WAL to rotate), the append lands meanwhile.
  await Promise.all([db.flush(), db.append(extra)]);
  const all = [...want];
  all.splice(6, 0, [T0 + 5 * 60_000 + 500, hist(42)]);
  assert.deepEqual(await histPoints(db), all);
  await db.flush();
  await db.close();
  ({ db } = await tmpDB({}, dir));
  assert.deepEqual(await histPoints(db), all);
  await db.close();
  await Deno.remove(dir, { recursive: true });
});
