/**
 * Native histograms, differential: the same histograms (integer and float
 * counters with a counter reset, a coarser schema, a gauge histogram with
 * negative buckets) are remote-written to Debian's Prometheus (2.42, with
 * `--enable-feature=native-histograms`) and to a Perch child process, and
 * the same PromQL queries are asked of both over HTTP. Answers must agree:
 * result type, label sets, timestamps, float values up to rounding, and
 * histograms (count, sum, every bucket's kind, bounds and count) within
 * 1e-9 relative — Prometheus's table of bucket bounds can differ from the
 * correctly rounded values in the last digit.
 *
 * The queries are those 2.42 already evaluates as Prometheus 3 does
 * (selectors, sum, count, rate/increase/delta, histogram_count/sum,
 * count_over_time, offset), at times between samples (2.42 closes range
 * windows on the left), one series per range function (see
 * {@linkcode queries} for what 2.42 answers otherwise); the rest is covered
 * by the upstream scripts. Annotations are not compared: 2.42 has few.
 *
 * Fails when /usr/bin/prometheus is missing.
 */
import assert from "node:assert/strict";
import type { NativeHistogram } from "../../core/model/mod.ts";
import { encodeRemoteWriteBody, type WriteSeries } from "../../core/ingest/mod.ts";
import { spawnPerch } from "../_perch.ts";
import { postRemoteWrite } from "../_remote_write.ts";
import { requireBinary } from "../_require.ts";
import { PROM_BIN, startPrometheus } from "../remote/_peers.ts";
import { firstDifference, nearFloats } from "./_dataset.ts";

const STEP = 15_000;
const N = 120; // 30 minutes of samples.

/** A counter histogram after `i` increments of its buckets, reset at `resetAt`. */
function counter(i: number, schema: number, float: boolean, resetAt: number): NativeHistogram {
  const j = i >= resetAt ? i - resetAt + 1 : i + 3;
  const k = float ? 0.75 : 1;
  const pos = [j, 2 * j, j + (j >> 2), j >> 1].map((c) => c * k);
  const neg = [j >> 2].map((c) => c * k);
  const zeroCount = (j >> 3) * k;
  const count = pos.reduce((a, b) => a + b, 0) + neg[0]! + zeroCount;
  return {
    schema,
    zeroThreshold: 0.001,
    zeroCount,
    count,
    sum: count * 0.37,
    positiveSpans: [{ offset: -1, length: 3 }, { offset: 2, length: 1 }],
    positiveBuckets: pos,
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeBuckets: neg,
    float,
    counterResetHint: "unknown",
  };
}

/** A gauge histogram that goes up and down, with negative buckets. */
function gauge(i: number): NativeHistogram {
  const a = 5 + (i % 7), b = 3 + ((i * 3) % 5);
  return {
    schema: 0,
    zeroThreshold: 0.5,
    zeroCount: 1,
    count: a + b + 1,
    sum: a * 2 - b * 3,
    positiveSpans: [{ offset: 1, length: 1 }],
    positiveBuckets: [a],
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeBuckets: [b],
    float: false,
    counterResetHint: "gauge",
  };
}

function dataset(t0: number): WriteSeries[] {
  const series = (kind: string, name: string, h: (i: number) => NativeHistogram): WriteSeries => ({
    labels: [{ name: "__name__", value: name }, { name: "kind", value: kind }],
    t: [],
    v: [],
    histograms: Array.from({ length: N }, (_, i) => ({ t: t0 + i * STEP, h: h(i) })),
  });
  return [
    series("int", "req_seconds", (i) => counter(i, 1, false, 70)),
    series("float", "req_seconds", (i) => counter(i, 1, true, 1000)),
    series("coarse", "req_seconds", (i) => counter(i, -1, false, 1000)),
    series("gauge", "queue_size", gauge),
  ];
}

/**
 * The queries, each over one series: Debian's 2.42 gets several histogram
 * series in one range function or raw range vector wrong (they share
 * histogram objects there; one series at a time it answers as Prometheus 3).
 * Left out as 2.42 differs from Prometheus 3 there: `histogram_quantile` and
 * `histogram_fraction` (2.42 interpolates linearly inside exponential
 * buckets, 3 logarithmically), `irate`, `idelta` and `last_over_time` (2.42
 * answers floats for histograms), `*` and `/` (2.42 scales only count and
 * sum, not the buckets).
 */
function queries(): string[] {
  const out: string[] = [];
  for (const kind of ["int", "float", "coarse"]) {
    const r = `req_seconds{kind="${kind}"}`;
    out.push(
      r,
      `${r}[1m]`,
      `rate(${r}[5m])`,
      `increase(${r}[2m])`,
      `sum(${r})`,
      `sum(rate(${r}[5m]))`,
      `count(${r})`,
      `histogram_count(rate(${r}[5m]))`,
      `histogram_sum(${r})`,
      `histogram_count(${r}) / histogram_sum(${r})`,
      `count_over_time(${r}[2m])`,
      `${r} offset 5m`,
    );
  }
  out.push(
    "queue_size",
    "queue_size[1m]",
    "delta(queue_size[3m])",
    "histogram_count(queue_size)",
    // Sums over series of different schemas (reduced to the coarsest).
    'sum(req_seconds{kind=~"int|coarse"})',
    "sum(req_seconds)",
  );
  return out;
}

type Json = { status: string; data?: { resultType: string; result: unknown }; error?: string };

/**
 * The first difference between two answers, or "": strings as floats
 * within 1e-9 relative in histograms (Prometheus's bucket bounds may differ
 * in the last digit), 2^-48 elsewhere; everything else identical.
 */
function difference(got: unknown, want: unknown): string {
  return firstDifference(
    got,
    want,
    "$",
    (g, w, path) =>
      typeof g === "string" && typeof w === "string"
        ? nearFloats(g, w, /buckets|count|sum/.test(path) ? 1e-9 : 2 ** -48)
        : g === w,
  );
}

/** The answer with vector results sorted by labels (Prometheus's order is not defined there). */
async function answer(url: string, path: string): Promise<Json> {
  const body = await (await fetch(url + path)).json() as Json;
  const d = body.data;
  if (d?.resultType === "vector" || d?.resultType === "matrix") {
    (d.result as { metric: Record<string, string> }[]).sort((a, b) =>
      JSON.stringify(a.metric) < JSON.stringify(b.metric) ? -1 : 1
    );
  }
  return { status: body.status, ...(d ? { data: d } : {}), ...(body.error ? { error: "…" } : {}) };
}

Deno.test({
  name: "native histogram queries answer as Debian's Prometheus with native histograms",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireBinary(PROM_BIN, "prometheus");
    const t0 = Math.floor((Date.now() - 60 * 60_000) / 60_000) * 60_000;
    const prom = await startPrometheus(undefined, ["native-histograms"]);
    const perch = await spawnPerch();
    try {
      const body = encodeRemoteWriteBody({ series: dataset(t0) });
      await postRemoteWrite(prom.url, body);
      await postRemoteWrite(perch.url, body);
      const paths: string[] = [];
      for (const q of queries()) {
        // Evaluation times between samples: Prometheus 2.42 closes range windows on the left.
        for (
          const at of [t0 + 10 * 60_000 + 7_000, t0 + 18 * 60_000 + 7_000, t0 + 29 * 60_000 + 2_000]
        ) {
          paths.push(`/api/v1/query?${new URLSearchParams({ query: q, time: String(at / 1000) })}`);
        }
        if (q.endsWith("]")) continue; // A range vector has no range query.
        const range = { start: String(t0 / 1000 + 307), end: String(t0 / 1000 + 1740), step: "45" };
        paths.push(`/api/v1/query_range?${new URLSearchParams({ query: q, ...range })}`);
      }
      const diffs: string[] = [];
      let histograms = 0;
      for (const p of paths) {
        const [got, want] = await Promise.all([answer(perch.url, p), answer(prom.url, p)]);
        assert.equal(want.status, "success", `Prometheus refused ${p}`);
        if (JSON.stringify(want).includes('"buckets"')) histograms++;
        const d = difference(got, want);
        if (d) diffs.push(`${decodeURIComponent(p)}\n    ${d}`);
      }
      console.log(
        `${paths.length - diffs.length}/${paths.length} answers as Prometheus's ` +
          `(${histograms} with histograms)`,
      );
      assert.ok(histograms > 60, `only ${histograms} answers hold histograms`);
      assert.equal(diffs.length, 0, diffs.join("\n"));
    } finally {
      await perch.stop();
      await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
      await prom.stop();
      await Deno.remove(prom.dataDir, { recursive: true }).catch(() => {});
    }
  },
});
