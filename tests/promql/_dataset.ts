/**
 * The dataset and query list of the PromQL differential tests
 * (differential_test.ts against Prometheus, storage_states_test.ts across
 * Perch's storage states), and helpers to load and ask a server.
 *
 * The reference is Prometheus 2.42 (Debian bookworm), while Perch follows
 * Prometheus 3 (the conformance scripts). The dataset avoids the places where
 * the two versions disagree on purpose:
 * - 3.x range and lookback windows are left-open, 2.x closed: every sample
 *   timestamp carries a few odd milliseconds, so none lies on a window edge;
 * - 3.x sums and averages with Kahan compensation, 2.42 naively (and `avg`
 *   as an incremental mean): gauge values are multiples of 1/4 and counters
 *   integers, so sums are exact either way; averages are taken over groups
 *   of one, two or four values, where both ways round the same;
 * - 3.x's `.` in regexes matches a newline: no label value has one.
 *
 * @module
 */
import { encodeRemoteWriteBody, type WriteSeries } from "../../core/ingest/mod.ts";
import { STALE_NAN } from "../../core/model/mod.ts";
import { postRemoteWrite } from "../_remote_write.ts";
export const MIN = 60_000;
export const SCRAPE = 15_000;
export const SPAN = 45 * MIN;

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Built {
  labels: { name: string; value: string }[];
  t: number[];
  v: number[];
}

export function series(name: string, labels: Record<string, string>): Built {
  const all = { __name__: name, ...labels };
  return {
    labels: Object.keys(all).sort().map((k) => ({ name: k, value: all[k as keyof typeof all]! })),
    t: [],
    v: [],
  };
}

/** Builds the dataset: timestamps in [t0, t0 + 45m], all off the minute grid. */
export function buildDataset(t0: number): Built[] {
  const rnd = prng(42);
  const out: Built[] = [];
  let k = 0;
  // Sample i of series k sits at t0 + i*15s + (k*131 + i*7) % 900 + 50 ms.
  const at = (i: number) => t0 + i * SCRAPE + ((k * 131 + i * 7) % 900) + 50;
  const n = SPAN / SCRAPE;

  // Counters with resets.
  for (const job of ["api", "web"]) {
    for (const instance of ["a:80", "b:80"]) {
      for (const method of ["get", "post"]) {
        const s = series("http_requests_total", { job, instance, method });
        // Values ≡ k (mod 8): no two counters tie, so topk/bottomk never
        // depend on the order storage lists series in (Prometheus: creation order).
        let v = Math.floor(rnd() * 125) * 8 + k;
        const resetAt = k % 3 === 0 ? 40 + k * 13 : -1;
        for (let i = 0; i <= n; i++) {
          if (i === resetAt) v = Math.floor(rnd() * 5) * 8 + k;
          else v += Math.floor(rnd() * 5) * 8;
          s.t.push(at(i));
          s.v.push(v);
        }
        out.push(s);
        k++;
      }
    }
  }
  // Gauges, multiples of 1/4, with NaN samples and a gap longer than the lookback.
  const hosts = [["h-1", "eu"], ["h-2", "eu"], ["h-3", "us"], ["h-4", "us"]];
  for (const [host, region] of hosts) {
    const s = series("temperature_celsius", { host: host!, region: region! });
    let v = 20 + Math.floor(rnd() * 40) / 4;
    for (let i = 0; i <= n; i++) {
      if (host === "h-3" && i >= 60 && i < 90) continue; // 7.5 min gap.
      v += Math.floor(rnd() * 9 - 4) / 4;
      s.t.push(at(i));
      s.v.push(host === "h-2" && i % 37 === 5 ? NaN : v);
    }
    out.push(s);
    k++;
  }
  // Info series for joins.
  for (const [host] of hosts) {
    const s = series("node_info", { host: host!, version: host === "h-4" ? "2.0" : "1.0" });
    for (let i = 0; i <= n; i++) {
      s.t.push(at(i));
      s.v.push(1);
    }
    out.push(s);
    k++;
  }
  // A classic histogram per job.
  const les = ["0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
  for (const job of ["api", "web"]) {
    const counts = new Array(les.length).fill(0);
    let sum = 0;
    const buckets = les.map((le) => series("request_duration_seconds_bucket", { job, le }));
    const sumS = series("request_duration_seconds_sum", { job });
    const countS = series("request_duration_seconds_count", { job });
    for (let i = 0; i <= n; i++) {
      const obs = Math.floor(rnd() * 20);
      for (let o = 0; o < obs; o++) {
        const x = Math.floor(rnd() * 12) / 4; // 0 .. 2.75
        sum += x;
        for (let b = 0; b < les.length; b++) if (x <= Number(les[b])) counts[b]++;
      }
      const t = at(i);
      buckets.forEach((b, j) => {
        b.t.push(t);
        b.v.push(counts[j]);
      });
      sumS.t.push(t);
      sumS.v.push(sum);
      countS.t.push(t);
      countS.v.push(counts[les.length - 1]);
    }
    out.push(...buckets, sumS, countS);
    k++;
  }
  // A series that goes stale at t0 + 20m (staleness marker), and one that goes on.
  for (const job of ["etl", "cron"]) {
    const s = series("batch_jobs_running", { job });
    for (let i = 0; i <= n; i++) {
      if (job === "etl" && i * SCRAPE > 20 * MIN) {
        s.t.push(at(i));
        s.v.push(STALE_NAN);
        break;
      }
      s.t.push(at(i));
      s.v.push(1 + (i % 3));
    }
    out.push(s);
    k++;
  }
  return out;
}

export interface Query {
  q: string;
  /** Instant at t0 + `at` ms, or range over [t0 + from, t0 + to] with `step` ms. */
  at?: number;
  range?: { from: number; to: number; step: number };
  /** Prometheus defines the order of this instant result. */
  ordered?: boolean;
  /**
   * Values may differ in the last bits only, for a documented change of
   * floating-point algorithm between Prometheus 2.42 and 3 (the reason);
   * labels, timestamps and the number of points must still match exactly.
   */
  lastBits?: string;
}

/**
 * Where two normalised answers first differ (a JSON path and both values),
 * or "" when they agree; `same` decides for two values that are not objects
 * (default: identical).
 */
export function firstDifference(
  a: unknown,
  b: unknown,
  path = "$",
  same: (a: unknown, b: unknown, path: string) => boolean = (x, y) => x === y,
): string {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || a === null || b === null) {
    return a === b ? "" : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  }
  if (typeof a !== "object") {
    return same(a, b, path) ? "" : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  }
  const ka = Object.keys(a as object), kb = Object.keys(b as object);
  for (const k of new Set([...ka, ...kb])) {
    const d = firstDifference(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      `${path}.${k}`,
      same,
    );
    if (d) return d;
  }
  return "";
}

/** Both strings parse to finite floats within `rel` relative of each other, or are equal. */
export function nearFloats(a: string, b: string, rel: number): boolean {
  if (a === b) return true;
  const x = Number(a), y = Number(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= Math.max(Math.abs(x), Math.abs(y)) * rel;
}

/** The queries; times are relative to t0. */
export function queries(): Query[] {
  const I = 30 * MIN + 3_000; // An instant inside the data.
  const late = 21 * MIN + 30_000; // After the staleness marker, within the lookback.
  // Steps off the minute grid, so no subquery step lies on a window edge
  // (3.x windows are left-open, 2.x closed).
  const R = { from: 10 * MIN + 1_500, to: 44 * MIN, step: MIN };
  const R2 = { from: 5 * MIN + 7_000, to: 40 * MIN, step: 37_000 };
  const list: Query[] = [];
  const inst = (q: string, at = I, ordered = false, lastBits?: string) =>
    list.push({ q, at, ordered, lastBits });
  const rng = (q: string, range = R, lastBits?: string) => list.push({ q, range, lastBits });
  // 2.42 sums floats naively and averages as an incremental mean; 3.x uses
  // Kahan-compensated sums (and sum/count for averages).
  const KAHAN = "Kahan summation since 3.0";

  inst("http_requests_total");
  inst("rate(http_requests_total[5m])");
  inst("increase(http_requests_total[5m])");
  inst("irate(http_requests_total[5m])");
  inst("rate(http_requests_total[1m])");
  inst("increase(http_requests_total[40s])");
  inst("rate(http_requests_total[50m])"); // Window starts before the first sample.
  inst("delta(temperature_celsius[10m])");
  inst("idelta(temperature_celsius[5m])");
  inst("deriv(temperature_celsius[10m])");
  inst("predict_linear(temperature_celsius[10m], 600)");
  inst("resets(http_requests_total[30m])");
  inst("changes(temperature_celsius[30m])");
  for (
    const f of [
      "avg_over_time",
      "min_over_time",
      "max_over_time",
      "sum_over_time",
      "count_over_time",
      "last_over_time",
      "present_over_time",
    ]
  ) {
    inst(
      `${f}(temperature_celsius{host!="h-2"}[4m])`,
      I,
      false,
      f === "avg_over_time" ? KAHAN : undefined,
    );
  }
  inst("max_over_time(temperature_celsius[10m])"); // With NaN samples.
  inst("quantile_over_time(0.9, temperature_celsius[10m])");
  inst("histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))");
  inst("histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket[5m])))");
  inst("rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])");
  inst("sum by (job) (rate(http_requests_total[5m]))", I, false, KAHAN);
  inst("sum without (instance) (increase(http_requests_total[5m]))");
  inst("avg by (region) (temperature_celsius)");
  inst("min by (region) (temperature_celsius)");
  inst("max without (host) (temperature_celsius)");
  inst("count by (region) (temperature_celsius)");
  inst("group by (job) (http_requests_total)");
  inst('stddev by (region) (temperature_celsius{host!="h-2"})');
  inst("topk(3, rate(http_requests_total[5m]))", I, true);
  inst('bottomk(2, temperature_celsius{host!="h-2"})', I, true);
  inst("topk by (job) (1, http_requests_total)");
  inst('quantile(0.9, temperature_celsius{host!="h-2"})');
  inst("quantile by (region) (0.5, temperature_celsius)");
  inst('count_values("n", batch_jobs_running)');
  inst(
    "rate(http_requests_total[5m]) / on (job, instance) group_left " +
      "sum by (job, instance) (rate(http_requests_total[5m]))",
  );
  inst("temperature_celsius * on (host) group_left (version) node_info");
  inst("http_requests_total > 1000");
  inst("http_requests_total > bool 1000");
  inst('temperature_celsius and on (host) node_info{version="1.0"}');
  inst('temperature_celsius unless on (host) node_info{version="2.0"}');
  inst("temperature_celsius or on (host) batch_jobs_running");
  inst("temperature_celsius offset 10m");
  inst(`temperature_celsius @ ${(15 * MIN) / 1000}`);
  inst("rate(http_requests_total[5m] @ end() offset 2m)");
  inst("max_over_time(rate(http_requests_total[2m])[10m:1m])");
  inst("sum_over_time(temperature_celsius[10m:30s] offset 2m)");
  inst('absent(nonexistent_metric{job="x"})');
  inst("absent(temperature_celsius)");
  inst('absent_over_time(batch_jobs_running{job="etl"}[5m])', late + 5 * MIN);
  inst('label_replace(temperature_celsius, "dc", "$1", "host", "h-(.*)")');
  inst('label_join(node_info, "id", "/", "host", "version")');
  inst('sort(temperature_celsius{host!="h-2"})', I, true);
  inst("sort_desc(rate(http_requests_total[5m]))", I, true);
  inst("batch_jobs_running", late);
  inst("timestamp(temperature_celsius)");
  inst("timestamp(batch_jobs_running)", late);
  inst('scalar(sum(temperature_celsius{host!="h-2"}))');
  inst("vector(1) + time()");
  inst("round(temperature_celsius, 0.5) - clamp(abs(temperature_celsius), 21, 25)");
  inst("hour(timestamp(node_info)) * 100 + minute(timestamp(node_info))");
  inst("-temperature_celsius / 2 ^ 3 ^ 0.5");
  inst("ln(temperature_celsius - 25)");
  inst("last_over_time(batch_jobs_running[10m])", late);
  inst("sum by (job) (rate(http_requests_total[5m])) > 2", I, false, KAHAN);
  inst("histogram_quantile(0.99, request_duration_seconds_bucket)");
  inst("rate(http_requests_total[5m] offset -2m)");
  inst("max(temperature_celsius) - min(temperature_celsius)");
  inst("vector(time()) % 3600");
  inst("http_requests_total + on (job) http_requests_total"); // Many-to-many: an error.
  inst("http_requests_total[2m]");
  inst("temperature_celsius[1m] offset 3m");

  rng("rate(http_requests_total[5m])");
  rng("increase(http_requests_total[2m])", R2);
  rng("irate(http_requests_total[1m])", R2);
  rng("sum by (job) (rate(http_requests_total[5m]))", R, KAHAN);
  rng("temperature_celsius"); // Includes the gap and NaN.
  rng("batch_jobs_running", { from: 15 * MIN, to: 30 * MIN, step: 20_000 });
  rng('avg_over_time(temperature_celsius{host!="h-2"}[4m])', R, KAHAN);
  rng("count_over_time(temperature_celsius[5m])", R2);
  rng("histogram_quantile(0.75, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))");
  rng("topk(2, http_requests_total)");
  rng('quantile(0.5, temperature_celsius{host!="h-2"})');
  rng("temperature_celsius * on (host) group_left (version) node_info");
  rng("max_over_time(rate(http_requests_total[2m])[6m:1m])");
  rng("temperature_celsius offset 5m");
  rng(`temperature_celsius @ ${(25 * MIN) / 1000}`);
  rng('absent(batch_jobs_running{job="etl"})', { from: 15 * MIN, to: 30 * MIN, step: 30_000 });
  rng("timestamp(batch_jobs_running)", { from: 15 * MIN, to: 30 * MIN, step: 30_000 });
  rng('label_replace(rate(http_requests_total[5m]), "m", "$1", "method", "(.)")');
  rng("deriv(temperature_celsius[5m])", R2);
  rng("changes(batch_jobs_running[3m])", { from: 15 * MIN, to: 30 * MIN, step: 30_000 });
  rng("time() - timestamp(node_info)", R2);
  rng("sum(http_requests_total) / count(http_requests_total)");
  // Names are dropped by functions and operators at once (no delayed name
  // removal): _sum and _count of one job then share a label set, an error
  // even under an aggregation; comparisons keep the name.
  const both = `{__name__=~"request_duration_seconds_(sum|count)"}`;
  inst(`count_over_time(${both}[1m])`);
  inst(`sum(count_over_time(${both}[1m]))`);
  inst(`sum(${both} * 2)`);
  inst(`sum(-${both})`);
  inst(`abs(${both})`);
  inst(`${both} > 0`);
  rng(`sum by (job) (rate(${both}[5m]))`);
  inst('label_replace(rate(http_requests_total[5m]), "n", "$1", "__name__", "(.+)")');
  return list;
}

export interface Answer {
  status: string;
  errorType?: string;
  resultType?: string;
  result?: unknown;
}

/** The API path and parameters of a query. */
export function queryPath(q: Query, t0: number): string {
  const p = new URLSearchParams({ query: q.q });
  if (q.range) {
    p.set("start", String((t0 + q.range.from) / 1000));
    p.set("end", String((t0 + q.range.to) / 1000));
    p.set("step", String(q.range.step / 1000));
    return `/api/v1/query_range?${p}`;
  }
  p.set("time", String((t0 + q.at!) / 1000));
  return `/api/v1/query?${p}`;
}

export async function ask(base: string, q: Query, t0: number): Promise<Answer> {
  const res = await fetch(`${base}${queryPath(q, t0)}`);
  const body = await res.json();
  if (body.status !== "success") return { status: body.status, errorType: body.errorType };
  return { status: "success", resultType: body.data.resultType, result: body.data.result };
}

/** A label set as a comparable string. */
export function labelKey(m: Record<string, string>): string {
  return JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]]));
}

/** Puts an answer in comparable form: sorted keys, and sorted results unless ordered. */
export function normalise(a: Answer, ordered: boolean): unknown {
  if (a.resultType !== "vector" && a.resultType !== "matrix") return a;
  const rows = (a.result as { metric: Record<string, string> }[]).map((r) => ({
    ...r,
    metric: labelKey(r.metric),
  }));
  if (!ordered && a.resultType === "vector") {
    rows.sort((x, y) => x.metric < y.metric ? -1 : x.metric > y.metric ? 1 : 0);
  }
  return { ...a, result: rows };
}

export async function remoteWrite(url: string, data: Built[]): Promise<void> {
  await postRemoteWrite(url, encodeRemoteWriteBody({ series: data as WriteSeries[] }));
}
