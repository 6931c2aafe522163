import assert from "node:assert/strict";
import { StorageFullError } from "../core/model/mod.ts";
import {
  encodeRemoteWriteBody,
  encodeWriteRequest,
  IngestPipeline,
  type IngestPipelineOptions,
  snappyEncode,
} from "../core/ingest/mod.ts";
import { RecordingAppender } from "../core/ingest/mod_testing.ts";
import { groupingLabels, ingestRoutes } from "./ingest.ts";

const NOW = 1_700_000_000_000;

function setup(opts: Partial<IngestPipelineOptions> = {}, maxBodyBytes?: number) {
  const appender = new RecordingAppender();
  const pipeline = new IngestPipeline({ appender, ...opts });
  const app = ingestRoutes({ pipeline, now: () => NOW, maxBodyBytes });
  return { app, appender, pipeline };
}

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

const enc = (s: string) => new TextEncoder().encode(s);
/** A byte body for Request (TypeScript wants an ArrayBuffer-backed view). */
const bin = (u: Uint8Array) => u as Uint8Array<ArrayBuffer>;

Deno.test("POST /api/v1/metrics stores JSON without a Content-Type and answers 200 {}", async () => {
  const { app, appender } = setup();
  const res = await app.request("/api/v1/metrics", {
    method: "POST",
    body:
      '[{"name":"test_counter_total","type":0,"labels":{"job":"test"},"samples":[{"value":42,"timestamp":"1704110400"}]}]',
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  assert.deepEqual(appender.samples, ['test_counter_total{job="test"} 42 @1704110400000']);
});

Deno.test("POST /api/v1/metrics answers 400 naming fields, and stores the valid metrics", async () => {
  const { app, appender } = setup();
  const res = await app.request("/api/v1/metrics", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify([{ name: "ok", value: 1 }, { name: "c", type: "counter", value: -1 }, {
      name: "x",
      value: 1,
      labels: { "a-b": "1" },
    }]),
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.accepted, 1);
  assert.equal(body.rejected, 2);
  assert.match(body.message, /1 samples were stored/);
  assert.deepEqual(body.errors, [
    { field: "[1].value", value: "-1", message: "counter value must not be negative" },
    {
      field: "[2].labels.a-b",
      value: "a-b",
      message: "label name must match [a-zA-Z_][a-zA-Z0-9_]*",
    },
  ]);
  assert.deepEqual(appender.samples, [`ok 1 @${NOW}`]);
  const bad = await app.request("/api/v1/metrics", { method: "POST", body: "{nope" });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).errors[0].field, "body");
});

Deno.test("POST /api/v1/metrics lists every problem of the product spec's invalid metric in one 400", async () => {
  const { app, appender } = setup();
  const res = await app.request("/api/v1/metrics", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '[{"name":"","type":999,"labels":{},"samples":[]}]',
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.deepEqual(body.errors, [
    { field: "[0].name", value: "", message: "name must not be empty" },
    {
      field: "[0].type",
      value: "999",
      message: "type must be counter, gauge, histogram or summary (or 0–3)",
    },
    { field: "[0].samples", value: "[]", message: "samples must not be empty" },
  ]);
  assert.equal(body.accepted, 0);
  assert.deepEqual(appender.samples, []);
});

Deno.test("POST /write and /api/v2/write take line protocol with precision and answer 204", async () => {
  const { app, appender } = setup();
  let res = await app.request("/write?db=x&precision=s", {
    method: "POST",
    body: "cpu,host=a usage=0.5 1700000000",
  });
  assert.equal(res.status, 204);
  res = await app.request("/api/v2/write?org=o&bucket=b&precision=ms", {
    method: "POST",
    body: "mem free=3i 1700000000123",
  });
  assert.equal(res.status, 204);
  res = await app.request("/write", { method: "POST", body: "disk used=1" });
  assert.equal(res.status, 204);
  assert.deepEqual(appender.samples, [
    'cpu_usage{host="a"} 0.5 @1700000000000',
    "mem_free 3 @1700000000123",
    `disk_used 1 @${NOW}`,
  ]);
  res = await app.request("/write?precision=fortnight", { method: "POST", body: "m v=1" });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).errors[0].field, "precision");
  res = await app.request("/write", { method: "POST", body: 'm v=1,s="str"\nbad' });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.accepted, 1);
  assert.deepEqual(body.errors.map((e: { field: string }) => e.field), [
    'line 1 field "s"',
    "line 2",
  ]);
  // InfluxDB 1.x's error string, which the influx CLI and Telegraf print.
  assert.equal(
    body.error,
    'partial write: line 1 field "s": string field values are not supported, only numbers and booleans dropped=2',
  );
  res = await app.request("/write", { method: "POST", body: "bad" });
  assert.doesNotMatch((await res.json()).error, /partial write/);
  assert.equal((await app.request("/ping")).status, 204);
  assert.equal((await app.request("/query?q=CREATE+DATABASE+x", { method: "POST" })).status, 200);
});

Deno.test("ingest routes accept gzip and refuse gzip bombs, big bodies and unknown encodings", async () => {
  const { app, appender } = setup({}, 100_000);
  let res = await app.request("/write", {
    method: "POST",
    headers: { "content-encoding": "gzip" },
    body: bin(await gzip(enc("m v=1 1000000\n"))),
  });
  assert.equal(res.status, 204);
  assert.deepEqual(appender.samples, ["m_v 1 @1"]);
  // 10 MB of newlines compress to a few KB: stopped at the limit after decompression.
  const bomb = await gzip(new Uint8Array(10_000_000).fill(10));
  assert.ok(bomb.length < 100_000);
  res = await app.request("/write", {
    method: "POST",
    headers: { "content-encoding": "gzip" },
    body: bin(bomb),
  });
  assert.equal(res.status, 413);
  res = await app.request("/write", { method: "POST", body: "m v=1\n".repeat(20_000) });
  assert.equal(res.status, 413);
  res = await app.request("/write", {
    method: "POST",
    headers: { "content-length": "999999999" },
    body: "m v=1",
  });
  assert.equal(res.status, 413);
  res = await app.request("/write", {
    method: "POST",
    headers: { "content-encoding": "gzip" },
    body: "not gzip",
  });
  assert.equal(res.status, 400);
  res = await app.request("/write", {
    method: "POST",
    headers: { "content-encoding": "br" },
    body: "m v=1",
  });
  assert.equal(res.status, 415);
  res = await app.request("/api/v1/metrics", {
    method: "POST",
    headers: { "content-encoding": "gzip" },
    body: bin(await gzip(enc('{"name":"j","value":2}'))),
  });
  assert.equal(res.status, 200);
});

Deno.test("POST /api/v1/write takes snappy remote write and answers 204", async () => {
  const { app, appender } = setup({}, 1 << 20);
  const body = encodeRemoteWriteBody({
    series: [{
      labels: [{ name: "__name__", value: "up" }, { name: "job", value: "node" }],
      t: [1000, 2000],
      v: [1, 0],
    }],
    metadata: [{ family: "up", type: "gauge", help: "Target up.", unit: "" }],
  });
  let res = await app.request("/api/v1/write", {
    method: "POST",
    headers: {
      "content-encoding": "snappy",
      "content-type": "application/x-protobuf",
      "x-prometheus-remote-write-version": "0.1.0",
    },
    body: bin(body),
  });
  assert.equal(res.status, 204);
  assert.deepEqual(appender.samples, ['up{job="node"} 1 @1000', 'up{job="node"} 0 @2000']);
  assert.deepEqual(appender.metadata.get("up"), { type: "gauge", help: "Target up.", unit: "" });
  // Snappy is assumed without the header.
  res = await app.request("/api/v1/write", { method: "POST", body: bin(body) });
  assert.equal(res.status, 204);
  // Remote write 2.0 is refused.
  res = await app.request("/api/v1/write", {
    method: "POST",
    headers: { "content-type": "application/x-protobuf;proto=io.prometheus.write.v2.Request" },
    body: bin(body),
  });
  assert.equal(res.status, 415);
  // Corrupt snappy, corrupt protobuf, too large once uncompressed.
  res = await app.request("/api/v1/write", { method: "POST", body: new Uint8Array([5, 0, 1]) });
  assert.equal(res.status, 400);
  const raw = encodeWriteRequest({
    series: [{ labels: [{ name: "__name__", value: "x" }], t: [1], v: [1] }],
  });
  res = await app.request("/api/v1/write", {
    method: "POST",
    body: bin(snappyEncode(raw.subarray(0, raw.length - 2))),
  });
  assert.equal(res.status, 400);
  const big = encodeRemoteWriteBody({
    series: [{
      labels: [{ name: "__name__", value: "x".repeat(200) }],
      t: new Array(100_000).fill(1),
      v: new Array(100_000).fill(1),
    }],
  });
  assert.ok(big.length < 1 << 20);
  res = await app.request("/api/v1/write", { method: "POST", body: bin(big) });
  assert.equal(res.status, 413);
});

Deno.test("POST /api/v1/import/prometheus takes text and OpenMetrics", async () => {
  const { app, appender } = setup();
  let res = await app.request("/api/v1/import/prometheus", {
    method: "POST",
    body: '# TYPE a counter\na_total{x="1"} 3 5000',
  });
  assert.equal(res.status, 204);
  res = await app.request("/api/v1/import/prometheus", {
    method: "POST",
    headers: { "content-type": "application/openmetrics-text; version=1.0.0" },
    body: "b 1 5",
  });
  assert.equal(res.status, 204);
  assert.deepEqual(appender.samples, ['a_total{x="1"} 3 @5000', "b 1 @5000"]);
  assert.equal(appender.metadata.get("a")?.type, "counter");
});

Deno.test("PUT /metrics/job/<job>/<label>/<value> adds grouping labels as the Pushgateway does", async () => {
  const { app, appender } = setup();
  let res = await app.request("/metrics/job/backup/instance/db1", {
    method: "PUT",
    body: 'last_run{job="other"} 17 1000\n',
  });
  assert.equal(res.status, 200);
  res = await app.request("/metrics/job@base64/YmFja3Vw/path@base64/L3Zhci90bXA", {
    method: "POST",
    body: "x 1 1000\n",
  });
  assert.equal(res.status, 200);
  assert.deepEqual(appender.samples, [
    'last_run{instance="db1", job="backup"} 17 @1000',
    'x{job="backup", path="/var/tmp"} 1 @1000',
  ]);
  res = await app.request("/metrics/job/a/onlyname", { method: "PUT", body: "x 1" });
  assert.equal(res.status, 400);
  assert.deepEqual(groupingLabels("/metrics/job/a/e@base64/="), { job: "a", e: "" });
  assert.deepEqual(groupingLabels("/metrics/job/a%2Fb/"), { job: "a/b" });
  assert.throws(() => groupingLabels("/metrics/job/"), /path must be/);
  assert.throws(() => groupingLabels("/metrics/job/a/bad-name/x"), /label name must match/);
  assert.throws(() => groupingLabels("/metrics/job@base64/!!!"), /base64/);
});

Deno.test("ingest routes answer 429 with cardinality details when new series are refused", async () => {
  const { app, appender } = setup({ limits: { maxSeries: 1 } });
  const res = await app.request("/write", {
    method: "POST",
    body: "m,h=a v=1 1000000\nm,h=b v=1 1000000",
  });
  assert.equal(res.status, 429);
  const body = await res.json();
  assert.equal(body.accepted, 1);
  assert.deepEqual(body.cardinality, {
    refusedSeries: 1,
    maxSeries: 1,
    maxSeriesPerMetric: null,
    byMetric: { m_v: 1 },
  });
  assert.equal(appender.samples.length, 1);
});

Deno.test("ingest routes answer 503 with Retry-After when saturated and 507 when storage is full", async () => {
  const { app, appender } = setup({ maxInFlight: 1, maxQueued: 0, retryAfterSeconds: 3 });
  appender.hold();
  const first = app.request("/write", { method: "POST", body: "m v=1" });
  await new Promise((r) => setTimeout(r, 10));
  const res = await app.request("/write", { method: "POST", body: "m v=2" });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "3");
  appender.release();
  assert.equal((await first).status, 204);
  appender.failWith = new StorageFullError("no space left on device");
  const full = await app.request("/api/v1/metrics", {
    method: "POST",
    body: '{"name":"a","value":1}',
  });
  assert.equal(full.status, 507);
  assert.match((await full.json()).errors[0].message, /Storage is full/);
});

Deno.test("/ping reports an InfluxDB version and /query answers GET and POST statements", async () => {
  const { app } = setup();
  let res = await app.request("/ping");
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("x-influxdb-version"), "1.8.10");
  res = await app.request("/query", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "q=CREATE+DATABASE+telegraf",
  });
  assert.deepEqual(await res.json(), { results: [{ statement_id: 0 }] });
  // Writing with db= makes the database known too.
  res = await app.request("/write?db=sensors", { method: "POST", body: "t v=1 1\n" });
  assert.equal(res.status, 204);
  res = await app.request("/query?q=SHOW%20DATABASES");
  assert.deepEqual((await res.json()).results[0].series[0].values, [["sensors"], ["telegraf"]]);
  res = await app.request("/query?q=SELECT%20*%20FROM%20t");
  assert.equal(res.status, 200);
  assert.match((await res.json()).results[0].error, /PromQL/);
  res = await app.request("/query");
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /missing required parameter "q"/);
});
