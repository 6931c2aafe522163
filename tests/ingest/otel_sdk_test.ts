/**
 * The official OpenTelemetry JS SDK exports to a real Perch over OTLP/HTTP
 * (protobuf and JSON); queries return what Prometheus 3's translation
 * produces.
 */
import assert from "node:assert/strict";
import { AggregationTemporality } from "@opentelemetry/sdk-metrics";
import { OTLPMetricExporter as ProtoExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPMetricExporter as JsonExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { spawnPerch } from "../_perch.ts";
import { plantProvider, recordPump } from "../../core/ingest/_otel_test_util.ts";

type Sample = { metric: Record<string, string>; value: [number, string] };

async function query(base: string, q: string): Promise<Sample[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.data.result;
}

/** One value by series selector; fails when the query does not return exactly one series. */
async function one(base: string, q: string): Promise<[Record<string, string>, number]> {
  const r = await query(base, q);
  assert.equal(r.length, 1, `${q} → ${JSON.stringify(r)}`);
  return [r[0]!.metric, Number(r[0]!.value[1])];
}

Deno.test({
  name:
    "the OpenTelemetry JS SDK exports to Perch over OTLP protobuf and JSON; queries see Prometheus 3's names",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const perch = await spawnPerch();
    try {
      for (
        const [service, exporter] of [
          ["pump", new ProtoExporter({ url: `${perch.url}/api/v1/otlp/v1/metrics` })],
          ["fan", new JsonExporter({ url: `${perch.url}/v1/metrics` })],
        ] as const
      ) {
        const { mp, reader } = plantProvider(exporter, service);
        recordPump(mp);
        await reader.forceFlush();
        await mp.shutdown();

        const job = `job="plant/${service}",instance="pi-7"`;
        const [labels, v] = await one(perch.url, `valve_actuations_total{${job}}`);
        assert.equal(v, 5);
        assert.equal(labels.valve_id, "v1");
        assert.equal((await one(perch.url, `queue_depth{${job}}`))[1], 3);
        assert.equal(
          (await one(perch.url, `water_temperature_celsius{${job},sensor="s1"}`))[1],
          21.5,
        );
        const buckets = await query(perch.url, `valve_latency_seconds_bucket{${job}}`);
        assert.deepEqual(
          buckets.map((s) => [s.metric.le, Number(s.value[1])]).sort((a, b) =>
            Number(a[0] === "+Inf" ? Infinity : a[0]) - Number(b[0] === "+Inf" ? Infinity : b[0])
          ),
          [["0.1", 1], ["0.5", 3], ["1", 4], ["+Inf", 5]],
        );
        assert.equal((await one(perch.url, `valve_latency_seconds_count{${job}}`))[1], 5);
        assert.equal((await one(perch.url, `valve_latency_seconds_sum{${job}}`))[1], 3.25);
        const q = await one(
          perch.url,
          `histogram_quantile(0.5, valve_latency_seconds_bucket{${job}})`,
        );
        assert.ok(q[1] > 0.1 && q[1] <= 0.5, `median ${q[1]}`);
        const [info] = await one(perch.url, `target_info{${job}}`);
        assert.equal(info.host_name, "gw1");
        assert.equal(info.service_name, undefined, "identifying attributes are not repeated");
      }

      // Metadata as Prometheus lists it.
      const meta = await (await fetch(`${perch.url}/api/v1/metadata`)).json();
      assert.deepEqual(meta.data.valve_actuations_total?.[0]?.type, "counter");
      assert.deepEqual(meta.data.valve_latency_seconds?.[0]?.type, "histogram");

      // Delta temporality: two exports of 3 then 4 read back as a running total.
      const deltaExporter = new ProtoExporter({
        url: `${perch.url}/v1/metrics`,
        temporalityPreference: AggregationTemporality.DELTA,
      });
      const { mp, reader } = plantProvider(deltaExporter, "doser");
      const c = mp.getMeter("m").createCounter("doses");
      c.add(3);
      await reader.forceFlush();
      await new Promise((r) => setTimeout(r, 5)); // the next point must end at a later ms
      c.add(4);
      await reader.forceFlush();
      await mp.shutdown();
      assert.equal((await one(perch.url, `doses_total{job="plant/doser"}`))[1], 7);
    } finally {
      await perch.stop();
    }
  },
});

Deno.test({
  name:
    "OTLP/HTTP answers partial success for refused points and 400 with a status for a malformed body",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const perch = await spawnPerch();
    try {
      const now = String(BigInt(Date.now()) * 1_000_000n);
      const body = {
        resourceMetrics: [{
          resource: { attributes: [{ key: "service.name", value: { stringValue: "probe" } }] },
          scopeMetrics: [{
            metrics: [
              {
                name: "level",
                unit: "m",
                gauge: { dataPoints: [{ timeUnixNano: now, asDouble: 1.25 }] },
              },
              {
                name: "lat",
                exponentialHistogram: {
                  aggregationTemporality: 2,
                  dataPoints: [{
                    timeUnixNano: now,
                    count: "1",
                    scale: 0,
                    positive: { offset: 0, bucketCounts: ["1"] },
                  }],
                },
              },
              {
                name: "lat_delta",
                exponentialHistogram: {
                  aggregationTemporality: 1,
                  dataPoints: [{ timeUnixNano: now, count: "0", scale: 0 }],
                },
              },
            ],
          }],
        }],
      };
      const res = await fetch(`${perch.url}/v1/metrics`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const out = await res.json();
      assert.equal(res.status, 200);
      assert.equal(out.partialSuccess.rejectedDataPoints, "1");
      // The delta exponential histogram is refused; the cumulative one is stored as a native histogram.
      assert.match(out.partialSuccess.errorMessage, /metrics\[2\].*must be cumulative/);
      const series = await fetch(`${perch.url}/api/v1/series?match[]=lat`).then((r) => r.json());
      assert.deepEqual(series.data, [{ __name__: "lat", job: "probe" }]);
      assert.equal((await one(perch.url, `level_meters{job="probe"}`))[1], 1.25);

      const bad = await fetch(`${perch.url}/api/v1/otlp/v1/metrics`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: new Uint8Array([0x0a, 0x09, 0x01]),
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.headers.get("content-type"), "application/x-protobuf");
      assert.match(new TextDecoder().decode(await bad.arrayBuffer()), /not a valid OTLP request/);

      const wrongType = await fetch(`${perch.url}/v1/metrics`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "x",
      });
      assert.equal(wrongType.status, 415);
      await wrongType.body?.cancel();
    } finally {
      await perch.stop();
    }
  },
});
