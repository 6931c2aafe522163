/**
 * Encoding of range-query results as JSON (routes/api_json.ts), on results
 * shaped like issue 19's dashboard queries: 100 series × 361 points of
 * averages (long decimals) and 100 series × 241 points of raw gauge values
 * (two decimals), steps 1 ms off the minute as an uncached dashboard asks.
 *
 *   deno bench --allow-all routes/api_json_bench.ts
 *
 * @module
 */
import { toLabels } from "../core/model/mod.ts";
import type { Value } from "../core/promql/mod.ts";
import { queryJsonStream } from "./api_json.ts";

function matrix(series: number, points: number, stepMs: number, value: (k: number) => number) {
  const t0 = 1_796_527_560_001 - points * stepMs;
  let seed = 1;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const out: Value = { type: "matrix", series: [] };
  for (let s = 0; s < series; s++) {
    const t = new Float64Array(points), v = new Float64Array(points);
    for (let i = 0; i < points; i++) {
      t[i] = t0 + i * stepMs;
      v[i] = value(rnd());
    }
    const host = `host-${String(s).padStart(3, "0")}`;
    out.series.push({
      labels: toLabels("cpu_usage_percent", { host, job: "node", region: "eu-west" }),
      t,
      v,
    });
  }
  return out;
}

const averages = matrix(100, 361, 60_000, (r) => r * 100 / 3);
const gauges = matrix(100, 241, 15_000, (r) => Math.round(r * 10_000) / 100);

async function drain(v: Value): Promise<number> {
  let n = 0;
  for await (const c of queryJsonStream(v)) n += c.length;
  return n;
}

Deno.bench("queryJsonStream() 100 series × 361 averages", { group: "json" }, async () => {
  await drain(averages);
});
Deno.bench("queryJsonStream() 100 series × 241 gauge values", { group: "json" }, async () => {
  await drain(gauges);
});
