import assert from "node:assert/strict";
import {
  AggregationTemporality,
  AggregationType,
  InMemoryMetricExporter,
} from "@opentelemetry/sdk-metrics";
import type { NativeHistogram } from "../model/mod.ts";
import { translateOtlp } from "./otlp.ts";
import { decodeOtlpJson } from "./otlp_decode.ts";
import { convertBucketLayout, OTLP_ZERO_THRESHOLD } from "./otlp_exp_histogram.ts";
import { decodeBoth, sdkProvider } from "./_otel_test_util.ts";

Deno.test("convertBucketLayout() gives Prometheus 3's spans and counts, merging scales", () => {
  const zeros = (n: number) => Array<number>(n).fill(0);
  // [offset, counts, scaleDown, spans as [offset, length], absolute counts]
  const cases: [number, number[], number, [number, number][], number[]][] = [
    [0, [4, 3, 2, 1], 0, [[1, 4]], [4, 3, 2, 1]],
    [0, [4, 3, 2, 1], 1, [[1, 2]], [7, 3]],
    [0, [4, 3, 2, 1], 2, [[1, 1]], [10]],
    [1, [4, 3, 2, 1], 0, [[2, 4]], [4, 3, 2, 1]],
    [1, [4, 3, 2, 1], 1, [[1, 3]], [4, 5, 1]],
    [1, [4, 3, 2, 1], 2, [[1, 2]], [9, 1]],
    [4, [4, 2, 0, 2, ...zeros(12), 1], 0, [[5, 4], [12, 1]], [4, 2, 0, 2, 1]],
    [4, [4, 2, 0, 2, ...zeros(12), 1], 1, [[3, 2], [6, 1]], [6, 2, 1]],
    [4, [4, 2, 0, 2, ...zeros(12), 1], 2, [[2, 1], [3, 1]], [8, 1]],
    [4, [4, 2, 0, 2, ...zeros(8), 1], 1, [[3, 2], [4, 1]], [6, 2, 1]],
    [4, [4, 2, 0, 2, ...zeros(8), 1], 2, [[2, 4]], [8, 0, 0, 1]],
    [-2, [3, 1, 0, 0, 0, 1], 0, [[-1, 2], [3, 1]], [3, 1, 1]],
    [-2, [3, 1, 0, 0, 0, 1], 1, [[0, 3]], [4, 0, 1]],
    [-2, [3, 1, 0, 0, 0, 1], 2, [[0, 2]], [4, 1]],
    [-2, [3, 1, 0, 1, 0, 1], 0, [[-1, 6]], [3, 1, 0, 1, 0, 1]],
    [-2, [3, 1, 0, 1, 0, 1], 2, [[0, 2]], [4, 2]],
    // A whole merged bucket empty before a merge: counts land in their own bucket
    // (Prometheus's loop would put 5 into bucket 1).
    [0, [0, 0, 5, 3], 1, [[1, 2]], [0, 8]],
  ];
  for (const [offset, counts, sd, spans, buckets] of cases) {
    const got = convertBucketLayout(counts, offset, sd);
    const what = `offset ${offset} ${JSON.stringify(counts)} scaleDown ${sd}`;
    assert.deepEqual(got.spans, spans.map(([o, l]) => ({ offset: o, length: l })), what);
    assert.deepEqual(got.buckets, buckets, what);
  }
});

/** Bucket index → count of a native histogram's positive side. */
function positiveByIndex(h: NativeHistogram): Map<number, number> {
  const out = new Map<number, number>();
  let idx = 0, k = 0;
  h.positiveSpans.forEach((s) => {
    idx += s.offset;
    for (let i = 0; i < s.length; i++) {
      const c = h.positiveBuckets[k++]!;
      if (c !== 0) out.set(idx + i, c);
    }
    idx += s.length;
  });
  return out;
}

/** The native bucket of v > 0 at schema s: the i with 2^((i−1)/2^s) < v ≤ 2^(i/2^s). */
function nativeIndex(v: number, s: number): number {
  const f = 2 ** s;
  let i = Math.ceil(Math.log2(v) * f);
  while (2 ** ((i - 1) / f) >= v) i--;
  while (2 ** (i / f) < v) i++;
  return i;
}

/** Exports `values` through the SDK (its exponential aggregation starts at scale 20). */
async function sdkExpHistogram(values: number[]) {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const { mp, reader } = sdkProvider(exporter, { "service.name": "pump" }, [{
    instrumentName: "flow.latency",
    aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
  }]);
  const h = mp.getMeter("m").createHistogram("flow.latency", { unit: "s" });
  for (const v of values) h.record(v, { line: "a" });
  await reader.forceFlush();
  const rm = exporter.getMetrics().at(-1)!;
  await mp.shutdown();
  const { proto, json } = decodeBoth(rm);
  assert.deepEqual(proto, json, "protobuf and JSON decode alike");
  const scale = proto.resources[0]!.scopes[0]!.metrics[0]!.points[0]!.exp!.scale;
  const tr = translateOtlp(proto);
  assert.equal(tr.rejectedPoints, 0, JSON.stringify(tr.rows.errors));
  const rows = tr.rows;
  const i = [...Array(rows.sampleCount).keys()].find((i) =>
    rows.seriesName[rows.sampleSeries[i]!] === "flow_latency_seconds"
  )!;
  assert.equal(rows.metadata.get("flow_latency_seconds")?.type, "histogram");
  return { scale, h: rows.sampleH!.get(i)!, labels: rows.seriesLabels[rows.sampleSeries[i]!]! };
}

Deno.test("an OTel SDK exponential histogram becomes the native histogram Prometheus 3 stores", async () => {
  // (An OTel histogram instrument drops negative values, so the negative side stays empty.)
  const values = [0.013, 0.05, 0.2, 0.3, 0.7, 2.5, 0];
  const { scale, h, labels } = await sdkExpHistogram(values);
  assert.ok(scale <= 8, `scale ${scale}`);
  assert.deepEqual(labels, ["line", "a", "job", "pump"]);
  assert.equal(h.schema, scale);
  assert.equal(h.count, values.length);
  assert.ok(Math.abs(h.sum - values.reduce((a, b) => a + b, 0)) < 1e-12);
  assert.equal(h.zeroCount, 1);
  assert.equal(h.zeroThreshold, OTLP_ZERO_THRESHOLD);
  assert.equal(h.counterResetHint, "unknown");
  assert.equal(h.float, false);
  const want = new Map<number, number>();
  for (const v of values.filter((v) => v > 0)) {
    const i = nativeIndex(v, scale);
    want.set(i, (want.get(i) ?? 0) + 1);
  }
  assert.deepEqual(positiveByIndex(h), want);
  assert.deepEqual(h.negativeBuckets, []);
});

Deno.test("an SDK histogram at scale 20 is merged down to schema 8", async () => {
  const values = [1.0001, 1.0002, 1.0003, 1.01];
  const { scale, h } = await sdkExpHistogram(values);
  assert.ok(scale > 8, `the SDK kept scale ${scale}`);
  assert.equal(h.schema, 8);
  const want = new Map<number, number>();
  for (const v of values) {
    const i = nativeIndex(v, 8);
    want.set(i, (want.get(i) ?? 0) + 1);
  }
  assert.deepEqual(positiveByIndex(h), want);
});

Deno.test("exponential histograms: scale below -4 and delta temporality are refused per point", () => {
  const req = (temporality: number, scale: number) =>
    decodeOtlpJson(JSON.stringify({
      resourceMetrics: [{
        resource: {},
        scopeMetrics: [{
          scope: {},
          metrics: [{
            name: "lat",
            exponentialHistogram: {
              aggregationTemporality: temporality,
              dataPoints: [{
                timeUnixNano: "1700000000000000000",
                count: "2",
                scale,
                positive: { offset: 0, bucketCounts: ["2"] },
              }],
            },
          }],
        }],
      }],
    }));
  const low = translateOtlp(req(2, -5));
  assert.equal(low.rejectedPoints, 1);
  assert.match(low.rows.errors[0]!.message, /scale must be >= -4, was -5/);
  assert.match(low.rows.errors[0]!.field, /dataPoints\[0\]\.scale$/);
  const delta = translateOtlp(req(1, 0));
  assert.equal(delta.rejectedPoints, 1);
  assert.match(delta.rows.errors[0]!.message, /must be cumulative/);
  const ok = translateOtlp(req(2, -4));
  assert.equal(ok.rejectedPoints, 0);
  assert.deepEqual(ok.rows.sampleH?.get(0)?.positiveSpans, [{ offset: 1, length: 1 }]);
});
