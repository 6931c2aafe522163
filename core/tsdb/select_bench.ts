/**
 * Read-path benchmark: `DB.select` on the edge workload (2,000 series × 6 h
 * at 10 s = 4.32 M samples, flushed into blocks), plus the export pattern
 * (many narrow windows over all series) on 52,000 single-sample series.
 *
 *   deno run --allow-all core/tsdb/select_bench.ts [--runs=7] [--hours=6]
 *
 * Prints the median of `runs` timed runs per case, after one warm-up run.
 *
 * @module
 */
import { newMatcher, SampleBatch, toLabels } from "../model/mod.ts";
import type { Matcher } from "../model/mod.ts";
import { type DB, openDB } from "./db.ts";
import { generateEdgeWorkload } from "./edge_workload.ts";

const HOUR = 3_600_000;
const arg = (name: string, d: number) => {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : d;
};

async function loadEdge(
  hours: number,
): Promise<{ db: DB; dir: string; start: number; end: number }> {
  const dir = await Deno.makeTempDir({ prefix: "perch-select-bench-" });
  const db = await openDB({
    dir,
    fsync: "interval",
    outOfOrderWindowMs: Infinity,
    futureToleranceMs: Infinity,
    backgroundIntervalMs: 0,
    downsampling: [],
  });
  const series = [...generateEdgeWorkload({ durationMs: hours * HOUR })];
  const n = series[0].t.length;
  for (let i = 0; i < n; i += 30) {
    const b = new SampleBatch(series.length * 30);
    const ids = series.map((s, k) => b.addSeries(s.labels, String(k)));
    for (let j = i; j < Math.min(n, i + 30); j++) {
      for (let k = 0; k < series.length; k++) b.add(ids[k], series[k].t[j], series[k].v[j]);
    }
    await db.append(b);
  }
  await db.flush();
  let start = Infinity, end = -Infinity;
  for (const s of series) {
    start = Math.min(start, s.t[0]);
    end = Math.max(end, s.t[s.t.length - 1]);
  }
  return { db, dir, start, end };
}

async function loadSparse(
  nSeries: number,
  flush: boolean,
): Promise<{ db: DB; dir: string; t0: number }> {
  const dir = await Deno.makeTempDir({ prefix: "perch-select-bench-sparse-" });
  const db = await openDB({
    dir,
    fsync: "interval",
    outOfOrderWindowMs: Infinity,
    futureToleranceMs: Infinity,
    backgroundIntervalMs: 0,
    downsampling: [],
  });
  const t0 = Date.UTC(2024, 0, 1);
  const per = 5000;
  for (let i = 0; i < nSeries; i += per) {
    const b = new SampleBatch(per);
    for (let k = i; k < Math.min(nSeries, i + per); k++) {
      const id = b.addSeries(toLabels("sensor_value", { id: String(k) }), String(k));
      b.add(id, t0 + k * 1000, k);
    }
    await db.append(b);
  }
  if (flush) await db.flush();
  return { db, dir, t0 };
}

async function time(runs: number, f: () => Promise<number>): Promise<[number, number]> {
  const got = await f(); // Warm-up; also the reported size.
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return [ms[ms.length >> 1], got];
}

function report(name: string, ms: number, what: string) {
  console.log(`  ${name.padEnd(58)} ${ms.toFixed(2).padStart(9)} ms  (${what})`);
}

async function count(db: DB, m: Matcher[], minT: number, maxT: number): Promise<number> {
  let n = 0;
  for (const s of await db.select(m, { minT, maxT })) n += s.t.length;
  return n;
}

if (import.meta.main) {
  const runs = arg("runs", 7);
  const hours = arg("hours", 6);
  const e = await loadEdge(hours);
  const all = [newMatcher("=~", "__name__", ".+")];
  const httpReq = [newMatcher("=", "__name__", "http_requests_total")];
  const counters = [newMatcher("=~", "__name__", ".+_total")];
  console.log(`edge workload: 2,000 series × ${hours} h at 10 s, flushed; median of ${runs}:`);
  let [ms, n] = await time(runs, () => count(e.db, all, e.start, e.end));
  report("select all series, whole range", ms, `${n} samples`);
  [ms, n] = await time(runs, () => count(e.db, counters, e.start, e.end));
  report("select 800 counters, whole range", ms, `${n} samples`);
  [ms, n] = await time(runs, () => count(e.db, httpReq, e.start, e.end));
  report("select http_requests_total (100 series), whole range", ms, `${n} samples`);
  [ms, n] = await time(runs, () => count(e.db, all, e.end - 10 * 60_000, e.end));
  report("select all series, last 10 min", ms, `${n} samples`);
  [ms, n] = await time(runs, async () => {
    let k = 0;
    for (let t = e.start; t < e.start + HOUR; t += 60_000) {
      k += await count(e.db, all, t, t + 59_999);
    }
    return k;
  });
  report("60 × select all series, 1 min windows", ms, `${n} samples`);
  [ms, n] = await time(runs, () => count(e.db, all, e.end + HOUR, e.end + 2 * HOUR));
  report("select all series, empty window after the data", ms, `${n} samples`);
  await e.db.close();
  await Deno.remove(e.dir, { recursive: true });

  for (const flush of [true, false]) {
    const s = await loadSparse(52_000, flush);
    const sensor = [newMatcher("=", "__name__", "sensor_value")];
    const day = 86_400_000;
    console.log(
      `52,000 series with one sample each (1 s apart), ${flush ? "flushed" : "in the head"}:`,
    );
    [ms, n] = await time(runs, () => count(s.db, sensor, s.t0 + 3 * day, s.t0 + 4 * day));
    report("select all, empty window", ms, `${n} samples`);
    [ms, n] = await time(runs, () => count(s.db, sensor, s.t0 + 60_000, s.t0 + 119_999));
    report("select all, 1 min window (60 samples)", ms, `${n} samples`);
    [ms, n] = await time(runs, () => count(s.db, sensor, -Infinity, Infinity));
    report("select all, whole range", ms, `${n} samples`);
    await s.db.close();
    await Deno.remove(s.dir, { recursive: true });
  }
}
