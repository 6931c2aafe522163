/**
 * The deterministic "edge" workload of the storage benchmarks (issue 3):
 * 100 hosts × 20 metrics = 2,000 series, 10 s interval, 6 h = 4.32 M samples.
 *
 * Per host: 8 counters with uniform random integer increments, 10 bounded
 * random-walk gauges with 2 decimals (uniform steps, reflected at the
 * bounds), 2 near-constant gauges (one constant, one that changes about once
 * in 1,000 samples). The increment and step sizes are chosen so that the
 * values carry about 1.22 bytes of information per sample, the figure the
 * issue measured for its workload. Every series has its own PRNG stream
 * seeded from (seed, host, metric), so any subset is reproducible alone.
 *
 * @module
 */
import { type Labels, toLabels } from "../model/mod.ts";

/** Options of {@linkcode generateEdgeWorkload}; all optional. */
export interface EdgeWorkloadOptions {
  /** Hosts; each has the 20 metrics. @default 100 */
  hosts?: number;
  /** Covered time span in ms. @default 6 h */
  durationMs?: number;
  /** Sample interval in ms. @default 10_000 */
  intervalMs?: number;
  /** First scrape time in ms (each host adds its own phase below one interval). @default 2024-01-01T00:00:00Z */
  startMs?: number;
  /** Scrape jitter: each timestamp moves by a uniform integer in [-jitterMs, jitterMs]. @default 0 */
  jitterMs?: number;
  /** PRNG seed. @default 1 */
  seed?: number;
}

/** One generated series. `t` is strictly ascending integer ms. */
export interface EdgeSeries {
  readonly labels: Labels;
  readonly kind: "counter" | "gauge" | "constant";
  readonly t: Float64Array;
  readonly v: Float64Array;
}

interface MetricSpec {
  readonly name: string;
  readonly kind: "counter" | "gauge" | "constant";
  /** counter: increments uniform in [0, a); gauge: bounds [a, b], step uniform in ±c. */
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** The 20 metrics of one host. */
export const EDGE_METRICS: readonly MetricSpec[] = [
  { name: "node_network_receive_bytes_total", kind: "counter", a: 20000, b: 0, c: 0 },
  { name: "node_network_transmit_bytes_total", kind: "counter", a: 15000, b: 0, c: 0 },
  { name: "node_disk_read_bytes_total", kind: "counter", a: 8192, b: 0, c: 0 },
  { name: "node_disk_written_bytes_total", kind: "counter", a: 12000, b: 0, c: 0 },
  { name: "http_requests_total", kind: "counter", a: 400, b: 0, c: 0 },
  { name: "node_context_switches_total", kind: "counter", a: 5000, b: 0, c: 0 },
  { name: "node_intr_total", kind: "counter", a: 3000, b: 0, c: 0 },
  { name: "node_forks_total", kind: "counter", a: 100, b: 0, c: 0 },
  { name: "node_memory_used_megabytes", kind: "gauge", a: 0, b: 8192, c: 8 },
  { name: "cpu_usage_percent", kind: "gauge", a: 0, b: 100, c: 5 },
  { name: "node_load1", kind: "gauge", a: 0, b: 32, c: 1 },
  { name: "temperature_celsius", kind: "gauge", a: 20, b: 90, c: 2 },
  { name: "disk_used_gigabytes", kind: "gauge", a: 0, b: 1000, c: 10 },
  { name: "network_receive_kbps", kind: "gauge", a: 0, b: 10000, c: 20 },
  { name: "request_latency_milliseconds", kind: "gauge", a: 0, b: 500, c: 10 },
  { name: "queue_depth_average", kind: "gauge", a: 0, b: 1000, c: 5 },
  { name: "humidity_percent", kind: "gauge", a: 0, b: 100, c: 3 },
  { name: "power_watts", kind: "gauge", a: 0, b: 500, c: 6 },
  { name: "node_cpu_count", kind: "constant", a: 0, b: 0, c: 0 },
  { name: "node_filesystem_size_gigabytes", kind: "constant", a: 0, b: 0, c: 0.001 },
];

/** mulberry32: a small, fast, seedable PRNG returning [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (b + 0x632be5ab) ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ (c + 0x165667b1) ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Yields the workload's series, host by host, each with fresh arrays.
 *
 * @example
 * ```ts
 * for (const s of generateEdgeWorkload({ hosts: 2 })) console.log(s.labels, s.t.length);
 * ```
 */
export function* generateEdgeWorkload(opts: EdgeWorkloadOptions = {}): Generator<EdgeSeries> {
  const hosts = opts.hosts ?? 100;
  const interval = opts.intervalMs ?? 10_000;
  const n = Math.floor((opts.durationMs ?? 6 * 3_600_000) / interval);
  const start = opts.startMs ?? Date.UTC(2024, 0, 1);
  const jitter = opts.jitterMs ?? 0;
  const seed = opts.seed ?? 1;
  if (jitter * 2 >= interval) throw new RangeError("jitterMs must be below half of intervalMs");
  for (let h = 0; h < hosts; h++) {
    const host = `host-${String(h + 1).padStart(3, "0")}`;
    const hr = mulberry32(hash3(seed, h, 1000));
    const phase = Math.floor(hr() * interval);
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const j = jitter > 0 ? Math.floor(hr() * (2 * jitter + 1)) - jitter : 0;
      t[i] = start + phase + i * interval + j;
    }
    const cpus = [2, 4, 8][Math.floor(hr() * 3)];
    for (let m = 0; m < EDGE_METRICS.length; m++) {
      const spec = EDGE_METRICS[m];
      const r = mulberry32(hash3(seed, h, m));
      const v = new Float64Array(n);
      if (spec.kind === "counter") {
        let x = Math.floor(r() * 1e9);
        for (let i = 0; i < n; i++) v[i] = x += Math.floor(r() * spec.a);
      } else if (spec.kind === "gauge") {
        let x = spec.a + r() * (spec.b - spec.a);
        for (let i = 0; i < n; i++) {
          x += (r() * 2 - 1) * spec.c;
          if (x < spec.a) x = 2 * spec.a - x;
          if (x > spec.b) x = 2 * spec.b - x;
          v[i] = round2(x);
        }
      } else if (spec.c === 0) {
        v.fill(cpus);
      } else {
        let x = round2(20 + r() * 480);
        for (let i = 0; i < n; i++) {
          if (r() < spec.c) x = round2(20 + r() * 480);
          v[i] = x;
        }
      }
      const labels = toLabels(spec.name, { host, job: "node" });
      yield { labels, kind: spec.kind, t: t.slice(), v };
    }
  }
}
