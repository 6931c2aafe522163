/**
 * Query latency on the edge workload (issue 5): 2,000 series × 6 h at 10 s
 * (core/tsdb/edge_workload.ts, with a `region` label derived from the host),
 * loaded into a real core/tsdb DB in a temp dir and flushed to blocks.
 *
 *   deno bench --allow-all core/promql/engine_bench.ts     # Deno.bench
 *   deno run --allow-all core/promql/engine_bench.ts [--runs=7]  # prints medians
 *
 * @module
 */
import { SampleBatch, toLabels } from "../model/mod.ts";
import { type DB, openDB } from "../tsdb/mod.ts";
import { generateEdgeWorkload } from "../tsdb/mod_testing.ts";
import { createEngine, type Engine, type QueryResult } from "./engine.ts";

const HOUR = 3_600_000;
const REGIONS = ["eu-west", "eu-central", "us-east", "ap-south"];

/** The benchmark queries: [name, run]. */
export const CASES: readonly [
  string,
  (e: Engine, start: number, end: number) => Promise<unknown>,
  { readonly delayedNameRemoval?: boolean }?,
][] = [
  [
    "one-series selector, 6 h at 60 s",
    (e, s, t) => e.rangeQuery('node_load1{host="host-042"}', s, t, 60_000),
  ],
  [
    "sum by (region) (rate(counter[5m])), 6 h at 60 s",
    (e, s, t) => e.rangeQuery("sum by (region) (rate(http_requests_total[5m]))", s, t, 60_000),
  ],
  [
    // With names dropped at once (the default) the 8 counters of a host
    // collide; Prometheus answers this only with delayed name removal too.
    "the same over all 800 counters (delayed name removal)",
    (e, s, t) => e.rangeQuery('sum by (region) (rate({__name__=~".+_total"}[5m]))', s, t, 60_000),
    { delayedNameRemoval: true },
  ],
  [
    "avg_over_time(gauge[10m]), 6 h at 60 s",
    (e, s, t) => e.rangeQuery("avg_over_time(cpu_usage_percent[10m])", s, t, 60_000),
  ],
  [
    "max by (host) (gauge), last 1 h at 15 s",
    (e, _s, t) => e.rangeQuery("max by (host) (cpu_usage_percent)", t - HOUR, t, 15_000),
  ],
  [
    "avg_over_time(gauge[10m]) for all hosts, instant",
    (e, _s, t) => e.instantQuery("avg_over_time(cpu_usage_percent[10m])", t),
  ],
  [
    "quantile(0.9, gauge), 6 h at 60 s",
    (e, s, t) => e.rangeQuery("quantile(0.9, cpu_usage_percent)", s, t, 60_000),
  ],
];

/**
 * Loads the workload into a fresh DB, flushed and compacted as a server's
 * background round leaves it (the data starts mid-window, so the compacted
 * block of the oldest windows has a higher sequence than newer blocks);
 * returns it with the data's time range.
 */
export async function loadEdgeDB(): Promise<{ db: DB; dir: string; start: number; end: number }> {
  const dir = await Deno.makeTempDir({ prefix: "perch-promql-bench-" });
  const db = await openDB({
    dir,
    fsync: "interval",
    outOfOrderWindowMs: Infinity,
    futureToleranceMs: Infinity,
    retentionMs: 0,
    backgroundIntervalMs: 0,
    // Raw reads only: the generated data is old enough to be downsampled otherwise.
    downsampling: [],
  });
  const startMs = Date.UTC(2024, 0, 1) + 3.5 * HOUR;
  const series = [...generateEdgeWorkload({ durationMs: 6 * HOUR, startMs })].map((s) => {
    const host = s.labels.find((l) => l.name === "host")!.value;
    const name = s.labels.find((l) => l.name === "__name__")!.value;
    const region = REGIONS[Number(host.replace(/\D/g, "")) % REGIONS.length]!;
    return { labels: toLabels(name, { host, job: "node", region }), t: s.t, v: s.v };
  });
  const n = series[0]!.t.length;
  const per = 30;
  for (let i = 0; i < n; i += per) {
    const b = new SampleBatch(series.length * per);
    const ids = series.map((s, k) => b.addSeries(s.labels, String(k)));
    for (let j = i; j < Math.min(n, i + per); j++) {
      for (let k = 0; k < series.length; k++) b.add(ids[k]!, series[k]!.t[j]!, series[k]!.v[j]!);
    }
    await db.append(b);
  }
  await db.flush();
  await db.maintenance();
  let start = Infinity, end = -Infinity;
  for (const s of series) {
    start = Math.min(start, s.t[0]!);
    end = Math.max(end, s.t[s.t.length - 1]!);
  }
  return { db, dir, start: Math.ceil(start / 60_000) * 60_000, end };
}

const loaded = await loadEdgeDB();
const engines = {
  plain: createEngine({ querier: loaded.db }),
  delayed: createEngine({ querier: loaded.db, delayedNameRemoval: true }),
};
const engineFor = (o?: { delayedNameRemoval?: boolean }) =>
  o?.delayedNameRemoval ? engines.delayed : engines.plain;

for (const [name, run, o] of CASES) {
  Deno.bench(name, { group: "edge" }, async () => {
    await run(engineFor(o), loaded.start, loaded.end);
  });
}

if (import.meta.main) {
  const runsArg = Deno.args.find((a) => a.startsWith("--runs="));
  const runs = runsArg ? Number(runsArg.slice(7)) : 7;
  console.log(`edge workload: 2,000 series × 6 h at 10 s, flushed; ${runs} runs, medians:`);
  for (const [name, run, o] of CASES) {
    const engine = engineFor(o);
    const r = await run(engine, loaded.start, loaded.end) as QueryResult; // Warm-up.
    const v = r.result;
    const size = v.type === "matrix"
      ? `${v.series.length} series × ${v.series[0]?.t.length ?? 0} points`
      : v.type === "vector"
      ? `${v.samples.length} samples`
      : v.type;
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await run(engine, loaded.start, loaded.end);
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    const median = ms[ms.length >> 1]!.toFixed(1).padStart(8);
    console.log(
      `  ${name.padEnd(52)} ${median} ms  (${size}, peak ${r.stats.peakSamples} samples)`,
    );
  }
  await loaded.db.close();
  await Deno.remove(loaded.dir, { recursive: true });
}
