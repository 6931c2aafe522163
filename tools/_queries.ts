/** Issue 19's four dashboard queries, shared by tools/query_bench.ts and tools/footprint_bench.ts. */

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
