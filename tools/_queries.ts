/**
 * Issue 19's four dashboard queries and the workload they run on, shared by
 * tools/query_bench.ts and tools/footprint_bench.ts.
 */
import { encodeRemoteWriteBody, type WriteSeries } from "../core/ingest/mod.ts";
import { toLabels } from "../core/model/mod.ts";
import { generateEdgeWorkload } from "../core/tsdb/edge_workload.ts";

const HOUR = 3_600_000;

/** The four queries: [name, query, range in ms, step in ms]. */
export const QUERIES: readonly [string, string, number, number][] = [
  [
    "sum by (region)(rate(c[5m])) 6h@60s",
    "sum by (region) (rate(http_requests_total[5m]))",
    6 * HOUR,
    60_000,
  ],
  [
    "avg_over_time(g[10m]) 100 series 6h@60s",
    "avg_over_time(cpu_usage_percent[10m])",
    6 * HOUR,
    60_000,
  ],
  ["max by (host)(g) 1h@15s", "max by (host) (cpu_usage_percent)", HOUR, 15_000],
  ["quantile(0.9, g) 6h@60s", "quantile(0.9, cpu_usage_percent)", 6 * HOUR, 60_000],
];

const REGIONS = ["eu-west", "eu-central", "us-east", "ap-south"];

/**
 * The edge workload (core/tsdb/edge_workload.ts: `hosts` × 20 metrics at
 * 10 s for `hours`) plus a `region` label from the host, newest sample just
 * before now, as remote write bodies of about 10,000 samples (at least one
 * sample of each series) for two connections, each owning half of the series.
 */
export function edgeBodies(
  hosts: number,
  hours: number,
): { bodies: Uint8Array[][]; samples: number; series: number; end: number } {
  const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const series = [
    ...generateEdgeWorkload({ hosts, durationMs: hours * HOUR, startMs: end - hours * HOUR }),
  ].map((s) => {
    const host = s.labels.find((l) => l.name === "host")!.value;
    const metric = s.labels.find((l) => l.name === "__name__")!.value;
    const region = REGIONS[Number(host.replace(/\D/g, "")) % REGIONS.length]!;
    return { labels: toLabels(metric, { host, job: "node", region }), t: s.t, v: s.v };
  });
  const halves = [series.slice(0, series.length >> 1), series.slice(series.length >> 1)];
  const n = series[0]!.t.length;
  const per = Math.max(1, Math.floor(10_000 / halves[0]!.length));
  const bodies = halves.map((half) => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i += per) {
      const ws: WriteSeries[] = half.map((s) => ({
        labels: s.labels,
        t: s.t.subarray(i, i + per),
        v: s.v.subarray(i, i + per),
      }));
      out.push(encodeRemoteWriteBody({ series: ws }));
    }
    return out;
  });
  return { bodies, samples: series.length * n, series: series.length, end };
}

/**
 * The `query_range` URL on `server` for the query `q` over `range` ms at
 * `step` ms ending at `end` (ms), the range shifted by `shiftMs` (a grid
 * phase of its own: the range cache misses it), with `extra` appended.
 */
export function queryRangeUrl(
  server: string,
  q: string,
  range: number,
  step: number,
  end: number,
  shiftMs = 0,
  extra = "",
): string {
  return `${server}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${
    (end - range + shiftMs) / 1000
  }&end=${(end + shiftMs) / 1000}&step=${step / 1000}${extra}`;
}
