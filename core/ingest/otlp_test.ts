import assert from "node:assert/strict";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import {
  encodeOtlpResponse,
  OtlpDeltaState,
  otlpLabelName,
  otlpMetricName,
  otlpUnit,
  translateOtlp,
} from "./otlp.ts";
import { formatFloat, isStaleNaN } from "../model/mod.ts";
import { decodeOtlpJson, decodeOtlpProto, type OtlpRequest } from "./otlp_decode.ts";
import type { ParsedRows } from "./rows.ts";
import { ProtoReader } from "./_proto.ts";
import { decodeBoth, plantProvider, recordPump } from "./_otel_test_util.ts";

/** Series of the rows as `name{k="v",…}` → values, labels sorted. */
function dump(rows: ParsedRows): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let i = 0; i < rows.sampleCount; i++) {
    const j = rows.sampleSeries[i]!;
    const l = rows.seriesLabels[j]!;
    const pairs: string[] = [];
    for (let k = 0; k < l.length; k += 2) pairs.push(`${l[k]}="${l[k + 1]}"`);
    const key = `${rows.seriesName[j]}{${pairs.sort().join(",")}}`;
    const v = out.get(key) ?? [];
    v.push(rows.sampleV[i]!);
    out.set(key, v);
  }
  return out;
}

Deno.test("otlpMetricName() builds Prometheus 3's names with unit and type suffixes", () => {
  const cases: [string, string, Parameters<typeof otlpMetricName>[2], string][] = [
    ["simple_metric", "", "gauge", "simple_metric"],
    ["metric@with#special$chars", "", "gauge", "metric_with_special_chars"],
    ["123metric", "", "gauge", "_123metric"],
    ["metric@@##$$name", "", "gauge", "metric_name"],
    ["@#$%", "", "gauge", ""],
    ["@_#_$_%", "", "gauge", ""],
    ["requests", "", "counter", "requests_total"],
    ["cpu_usage", "1", "gauge", "cpu_usage_ratio"],
    ["items", "1", "counter", "items_total"],
    ["response_time", "ms", "gauge", "response_time_milliseconds"],
    ["memory_usage", "By", "gauge", "memory_usage_bytes"],
    ["requests", "1/s", "gauge", "requests_per_second"],
    ["throughput", "By/s", "gauge", "throughput_bytes_per_second"],
    ["custom_metric", "custom_unit", "gauge", "custom_metric_custom_unit"],
    ["custom_metric", "{custom}", "gauge", "custom_metric"],
    ["custom_metric", "By/{custom}", "gauge", "custom_metric_bytes"],
    ["requests_total", "", "counter", "requests_total"],
    ["cpu_usage_ratio", "1", "gauge", "cpu_usage_ratio"],
    ["response_time_seconds", "s", "gauge", "response_time_seconds"],
    ["http.server.duration", "s", "histogram", "http_server_duration_seconds"],
    ["http.server.requests", "{request}", "counter", "http_server_requests_total"],
    ["queue.size", "1", "updown", "queue_size"],
    ["system.memory.usage", "By", "updown", "system_memory_usage_bytes"],
    ["room.temperature", "Cel", "gauge", "room_temperature_celsius"],
    ["total.requests", "", "counter", "requests_total"],
  ];
  for (const [name, unit, type, want] of cases) {
    assert.equal(otlpMetricName(name, unit, type), want, `${name} [${unit}] ${type}`);
  }
  assert.equal(
    otlpMetricName("http.server.duration", "s", "histogram", false),
    "http_server_duration",
  );
  assert.equal(otlpMetricName("a..b", "", "counter", false), "a_b");
  assert.equal(otlpUnit("By/s"), "bytes_per_second");
  assert.equal(otlpUnit("{request}"), "");
  assert.equal(otlpUnit("1"), "");
});

Deno.test("otlpLabelName() sanitises attribute keys as Prometheus 3 does by default", () => {
  assert.equal(otlpLabelName("http.method"), "http_method");
  assert.equal(otlpLabelName("a..b"), "a__b"); // multiple underscores preserved
  assert.equal(otlpLabelName("1st"), "key_1st");
  assert.equal(otlpLabelName("_private"), "key_private");
  assert.equal(otlpLabelName("__reserved__"), "__reserved__");
  assert.equal(otlpLabelName("ünïcode"), "key_n_code");
  assert.equal(otlpLabelName("..."), "");
  assert.equal(otlpLabelName(""), "");
});

Deno.test("bucket bounds and quantiles print like Go's FormatFloat(f, 'f', -1)", () => {
  assert.equal(formatFloat(0.005), "0.005");
  assert.equal(formatFloat(1e-7), "0.0000001");
  assert.equal(formatFloat(2.5e-10), "0.00000000025");
  assert.equal(formatFloat(1e21), "1000000000000000000000");
  assert.equal(formatFloat(1.5e22), "15000000000000000000000");
  assert.equal(formatFloat(-1e-7), "-0.0000001");
  assert.equal(formatFloat(10), "10");
  assert.equal(formatFloat(Infinity), "+Inf");
});

/** Collects what an SDK would export, with fixed views. */
async function sdkExport(
  temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE,
): Promise<ResourceMetrics> {
  const exporter = new InMemoryMetricExporter(temporality);
  const { mp, reader } = plantProvider(exporter, "pump", { "deployment.environment": "test" });
  recordPump(mp);
  await reader.forceFlush();
  const out = exporter.getMetrics();
  await mp.shutdown();
  return out[out.length - 1]!;
}

function translateBoth(
  rm: ResourceMetrics,
): [ReturnType<typeof translateOtlp>, OtlpRequest, OtlpRequest] {
  const { proto, json } = decodeBoth(rm);
  return [translateOtlp(proto), proto, json];
}

Deno.test("decodeOtlpProto() and decodeOtlpJson() read the same request from the OTel SDK", async () => {
  const [, a, b] = translateBoth(await sdkExport());
  assert.deepEqual(a, b);
  assert.equal(a.resources.length, 1);
  const names = a.resources[0]!.scopes[0]!.metrics.map((m) => `${m.name}:${m.kind}`).sort();
  assert.deepEqual(names, [
    "queue.depth:sum",
    "valve.actuations:sum",
    "valve.latency:histogram",
    "water.temperature:gauge",
  ]);
});

Deno.test("translateOtlp() gives the series Prometheus 3 would store for an SDK export", async () => {
  const [tr] = translateBoth(await sdkExport());
  assert.equal(tr.rejectedPoints, 0);
  const got = dump(tr.rows);
  const id = 'instance="pi-7",job="plant/pump"';
  assert.deepEqual(got.get(`valve_actuations_total{${id},valve_id="v1"}`), [5]);
  assert.deepEqual(got.get(`queue_depth{${id}}`), [3]);
  assert.deepEqual(got.get(`water_temperature_celsius{${id},sensor="s1"}`), [21.5]);
  const h = (le: string) => got.get(`valve_latency_seconds_bucket{${id},le="${le}",valve_id="v1"}`);
  assert.deepEqual([h("0.1"), h("0.5"), h("1"), h("+Inf")], [[1], [3], [4], [5]]);
  assert.deepEqual(got.get(`valve_latency_seconds_count{${id},valve_id="v1"}`), [5]);
  assert.deepEqual(got.get(`valve_latency_seconds_sum{${id},valve_id="v1"}`), [3.25]);
  const info = got.get(`target_info{deployment_environment="test",host_name="gw1",${id}}`);
  assert.ok(
    info && info.every((v) => v === 1),
    "target_info carries the other resource attributes",
  );
  assert.equal(tr.rows.metadata.get("valve_actuations_total")?.type, "counter");
  assert.equal(tr.rows.metadata.get("valve_actuations_total")?.help, "Actuations");
  assert.equal(tr.rows.metadata.get("queue_depth")?.type, "gauge");
  assert.equal(tr.rows.metadata.get("valve_latency_seconds")?.type, "histogram");
  assert.equal(tr.rows.metadata.get("valve_latency_seconds")?.unit, "seconds");
  assert.equal(tr.rows.metadata.get("target_info")?.type, "gauge");
});

function req(metrics: unknown[], resource: unknown[] = []): OtlpRequest {
  return decodeOtlpJson(JSON.stringify({
    resourceMetrics: [{
      resource: { attributes: resource },
      scopeMetrics: [{ scope: { name: "s", version: "v" }, metrics }],
    }],
  }));
}

const T0 = "1700000000000000000"; // ns
const t = (s: number) => String(BigInt(T0) + BigInt(s) * 1_000_000_000n);

Deno.test("translateOtlp() turns delta sums into running totals and refuses overlapping points", () => {
  const state = new OtlpDeltaState();
  const sum = (start: number, end: number, v: number) => ({
    name: "jobs.done",
    sum: {
      aggregationTemporality: 1,
      isMonotonic: true,
      dataPoints: [{ startTimeUnixNano: t(start), timeUnixNano: t(end), asInt: String(v) }],
    },
  });
  const v = (r: ReturnType<typeof translateOtlp>) => [...dump(r.rows).values()].flat();
  assert.deepEqual(v(translateOtlp(req([sum(0, 10, 3)]), {}, state)), [3]);
  assert.deepEqual(v(translateOtlp(req([sum(10, 20, 4)]), {}, state)), [7]);
  const overlap = translateOtlp(req([sum(15, 30, 1)]), {}, state);
  assert.equal(overlap.rejectedPoints, 1);
  assert.match(overlap.rows.errors[0]!.message, /overlaps the previous one/);
  assert.match(overlap.rows.errors[0]!.field, /dataPoints\[0\]$/);
  const repeat = translateOtlp(req([sum(10, 20, 4)]), {}, state);
  assert.equal(repeat.rejectedPoints, 1);
  assert.deepEqual(v(translateOtlp(req([sum(20, 30, 1)]), {}, state)), [8]);
  // Refused outright when delta conversion is off.
  const off = translateOtlp(req([sum(30, 40, 1)]), { delta: "reject" }, state);
  assert.equal(off.rejectedPoints, 1);
  assert.match(off.rows.errors[0]!.message, /delta temporality is refused/);
});

Deno.test("translateOtlp() refuses bad temporality per point, keeps the rest", () => {
  const r = translateOtlp(req([
    { name: "ok", gauge: { dataPoints: [{ timeUnixNano: t(1), asDouble: 1.5 }] } },
    {
      name: "bad",
      sum: { aggregationTemporality: 0, dataPoints: [{ timeUnixNano: t(1), asInt: 1 }] },
    },
  ]));
  assert.equal(r.rejectedPoints, 1);
  assert.equal(r.rows.invalidSamples, 1);
  assert.deepEqual([...dump(r.rows).entries()], [["ok{}", [1.5]]]);
  assert.match(r.rows.errors[0]!.message, /invalid temporality/);
});

Deno.test("translateOtlp() joins colliding attributes, promotes resource and scope attributes, marks no-value points stale", () => {
  const r = translateOtlp(
    req(
      [{
        name: "g",
        gauge: {
          dataPoints: [
            {
              timeUnixNano: t(1),
              asDouble: 1,
              attributes: [
                { key: "a.b", value: { stringValue: "x" } },
                { key: "a_b", value: { intValue: "7" } },
                { key: "flag", value: { boolValue: true } },
                {
                  key: "arr",
                  value: { arrayValue: { values: [{ stringValue: "p" }, { doubleValue: 2.5 }] } },
                },
              ],
            },
            { timeUnixNano: t(2), flags: 1 },
          ],
        },
      }],
      [
        { key: "service.name", value: { stringValue: "svc" } },
        { key: "site", value: { stringValue: "north" } },
      ],
    ),
    { promoteResourceAttributes: ["site"], promoteScopeMetadata: true },
  );
  const got = dump(r.rows);
  const key =
    'g{a_b="x;7",arr="[\\"p\\",2.5]",flag="true",job="svc",otel_scope_name="s",otel_scope_version="v",site="north"}'
      .replace('\\"p\\"', '"p"');
  assert.deepEqual(got.get(key), [1], `have ${[...got.keys()].join(" ")}`);
  const stale = [...got.entries()].find(([k]) => k.startsWith("g{job="))?.[1];
  assert.ok(
    stale && isStaleNaN(stale[0]!),
    "a point flagged 'no recorded value' is a staleness marker",
  );
});

Deno.test("decodeOtlpJson() names the field of a malformed request", () => {
  assert.throws(
    () => decodeOtlpJson('{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":5}]}]}]}'),
    /resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\]\.name: must be a string/,
  );
  assert.throws(() => decodeOtlpJson("{"), /body: is not valid JSON/);
  assert.throws(() => decodeOtlpProto(new Uint8Array([0x0a, 0x05, 0x01])), /runs past/);
});

Deno.test("encodeOtlpResponse() writes partial_success only when something was refused", () => {
  assert.equal(encodeOtlpResponse(0, "").length, 0);
  const b = encodeOtlpResponse(3, "x: bad");
  const r = new ProtoReader(b);
  assert.equal(r.uint32(), (1 << 3) | 2);
  const [s, e] = r.bytes();
  const inner = new ProtoReader(b, s, e);
  assert.equal(inner.uint32(), (1 << 3) | 0);
  assert.equal(inner.int64(), 3);
  assert.equal(inner.uint32(), (2 << 3) | 2);
  const [ms, me] = inner.bytes();
  assert.equal(new TextDecoder().decode(b.subarray(ms, me)), "x: bad");
});
