/**
 * Late vs in-order ingest (issue 13): back-filling a day of history for the
 * 2,000 series of the edge workload while live data is already stored must
 * cost about what in-order ingest costs, and must not slow live appends or
 * queries. Run as a script to print numbers:
 *
 *   deno run --allow-all core/tsdb/late_bench.ts [--hosts=100] [--interval=300] [--fsync=interval] [--rounds=3]
 *
 * Phases, each on a fresh data dir with the default late-data settings:
 *
 * 1. in-order: the day (`--interval` seconds apart, 288 samples per series at
 *    5 min) appended in time order after one older sample per series (so
 *    both runs pay for the same series creation), then flushed.
 * 2. late: the last 10 minutes are stored live first (so every back-filled
 *    sample is older than the newest sample of its own series), then the
 *    same day is appended in time order and flushed.
 * 3. live during back-fill: one live scrape of all series every 50 ms and a
 *    range query every 100 ms, without and then with a back-fill running;
 *    reports p50/p99 latency of both.
 *
 * `deno bench core/tsdb/late_bench.ts` compares phases 1 and 2 for 40 series.
 * The script prints one JSON object; `lateOverInOrder` is the throughput ratio (late
 * samples per second / in-order samples per second, including the flush;
 * best of `--rounds` alternating runs of each).
 *
 * @module
 */
import { SampleBatch } from "../model/mod.ts";
import { newMatcher } from "../model/mod.ts";
import { type EdgeSeries, generateEdgeWorkload } from "./edge_workload.ts";
import { type DB, openDB } from "./db.ts";

const arg = (name: string, d: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? d;
// `deno bench` runs a small version (2 hosts = 40 series) of the same comparison.
const hosts = import.meta.main ? Number(arg("hosts", "100")) : 2;
const intervalMs = Number(arg("interval", "300")) * 1000;
const fsync = arg("fsync", "always") as "always" | "interval";

const H = 3_600_000, D = 24 * H;
const NOW = Date.UTC(2026, 0, 2);
const day = [...generateEdgeWorkload({ hosts, durationMs: D, intervalMs, startMs: NOW - D })];
const live = [
  ...generateEdgeWorkload({ hosts, durationMs: 10 * 60_000, intervalMs: 10_000, startMs: NOW }),
];
const samples = day.length * day[0].t.length;

async function fresh(): Promise<{ db: DB; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "perch-late-bench-" });
  const db = await openDB({
    dir,
    fsync,
    now: () => NOW + H,
    backgroundIntervalMs: 0,
    downsampling: [],
  });
  return { db, dir };
}

/** Appends `series` in time order, `step` scrapes per batch, 4 appends in flight. */
async function ingest(db: DB, series: EdgeSeries[], step = 6): Promise<void> {
  const n = series[0].t.length;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += step) {
    const b = new SampleBatch(series.length * step);
    const ids = series.map((s, k) => b.addSeries(s.labels, String(k)));
    for (let j = i; j < Math.min(n, i + step); j++) {
      for (let k = 0; k < series.length; k++) b.add(ids[k], series[k].t[j], series[k].v[j]);
    }
    inflight.push(db.append(b));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
}

async function timed(late: boolean) {
  const { db, dir } = await fresh();
  if (late) await ingest(db, live);
  else {
    // The same series exist in both runs: one sample before the day creates them.
    const b = new SampleBatch(day.length);
    for (const s of day) b.add(b.addSeries(s.labels, ""), NOW - D - H, 0);
    await db.append(b);
  }
  await db.flush();
  const before = (await db.stats()).blocks;
  const t0 = performance.now();
  await ingest(db, day);
  const ingestMs = performance.now() - t0;
  await db.maintenance();
  await db.flush();
  const totalMs = performance.now() - t0;
  const st = await db.stats();
  const got = await db.select([], { minT: NOW - D, maxT: NOW - 1 });
  let stored = 0;
  for (const s of got) stored += s.t.length;
  await db.close();
  await Deno.remove(dir, { recursive: true });
  if (stored !== samples) throw new Error(`stored ${stored} of ${samples}`);
  return {
    ingestMs: Math.round(ingestMs),
    withFlushMs: Math.round(totalMs),
    samplesPerSec: Math.round(samples / (totalMs / 1000)),
    blocksWritten: st.blocks - before,
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return +(s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0).toFixed(1);
}

/** Live scrapes and queries for `ms`, optionally while a back-fill runs. */
async function liveLatency(backfill: boolean, ms = 6000) {
  const { db, dir } = await fresh();
  await ingest(db, live);
  const appendMs: number[] = [], queryMs: number[] = [];
  let tick = live[0].t.length, stop = false;
  const liveLoop = (async () => {
    while (!stop) {
      const b = new SampleBatch(live.length);
      for (const s of live) b.add(b.addSeries(s.labels, ""), NOW + tick * 10_000, tick);
      tick++;
      const t0 = performance.now();
      await db.append(b);
      appendMs.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const queryLoop = (async () => {
    const m = [newMatcher("=", "__name__", "cpu_usage_percent")];
    while (!stop) {
      const t0 = performance.now();
      await db.select(m, { minT: NOW, maxT: NOW + H });
      queryMs.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const fill = backfill ? ingest(db, day) : Promise.resolve();
  await new Promise((r) => setTimeout(r, ms));
  await fill;
  stop = true;
  await Promise.all([liveLoop, queryLoop]);
  await db.close();
  await Deno.remove(dir, { recursive: true });
  return {
    appendP50Ms: pct(appendMs, 0.5),
    appendP99Ms: pct(appendMs, 0.99),
    queryP50Ms: pct(queryMs, 0.5),
    queryP99Ms: pct(queryMs, 0.99),
  };
}

if (!import.meta.main) {
  Deno.bench("back-fill a day, in order", { group: "late", baseline: true }, async () => {
    await timed(false);
  });
  Deno.bench("back-fill the same day behind live data", { group: "late" }, async () => {
    await timed(true);
  });
}

if (import.meta.main) {
  await timed(false); // warm-up: JIT and allocator
  // Alternating rounds, best of each: the machine may be shared.
  const rounds = Number(arg("rounds", "3"));
  let inOrder = await timed(false), late = await timed(true);
  for (let i = 1; i < rounds; i++) {
    const a = await timed(false), b = await timed(true);
    if (a.samplesPerSec > inOrder.samplesPerSec) inOrder = a;
    if (b.samplesPerSec > late.samplesPerSec) late = b;
  }
  const idle = await liveLatency(false);
  const busy = await liveLatency(true);
  console.log(JSON.stringify(
    {
      series: day.length,
      samples,
      fsync,
      inOrder,
      late,
      lateOverInOrder: +(late.samplesPerSec / inOrder.samplesPerSec).toFixed(2),
      liveWithoutBackfill: idle,
      liveDuringBackfill: busy,
    },
    null,
    2,
  ));
}
