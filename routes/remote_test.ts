import assert from "node:assert/strict";
import { IngestPipeline } from "../core/ingest/mod.ts";
import {
  labelsKey,
  type NativeHistogram,
  newMatcher,
  SampleBatch,
  toLabels,
} from "../core/model/mod.ts";
import { counterHistogram } from "../core/tsdb/mod_testing.ts";
import { remoteRoutes } from "./remote.ts";
import { tempDB } from "../core/tsdb/mod_testing.ts";
import { loadSamples as load, NOW, sameSeries } from "./_test_storage.ts";

async function setup(dir?: string) {
  const { db, dir: d } = await tempDB(dir);
  const pipeline = new IngestPipeline({ appender: db });
  const app = remoteRoutes({
    querier: db,
    pipeline,
    externalLabels: () => ({ site: "edge" }),
    now: () => NOW,
  });
  return { db, app, dir: d };
}

Deno.test("GET /federate writes the latest sample per series with Prometheus semantics", async () => {
  const { db, app } = await setup();
  await load(db);
  const res = await app.request("/federate?match[]={__name__=~%22.%2B%22}");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /version=0\.0\.4/);
  const text = await res.text();
  assert.equal(
    text,
    [
      "# TYPE reqs_total counter",
      `reqs_total{site="own"} -Inf ${NOW - 10_000}`,
      "# TYPE temp gauge",
      `temp{room="a",site="edge"} 21 ${NOW - 60_000}`,
      `temp{room="b\\"q",site="edge"} +Inf ${NOW - 30_000}`,
      "",
    ].join("\n"),
  );
  // `gone` ended with a staleness marker, `old` is past the lookback.
  // Without match[] Prometheus answers 200 with nothing, and so does Perch.
  const none = await app.request("/federate");
  assert.equal(none.status, 200);
  assert.equal(await none.text(), "");
  const bad = await app.request("/federate?match[]=%7B");
  assert.equal(bad.status, 400);
  await db.close();
});

async function exportAll(app: Awaited<ReturnType<typeof setup>>["app"], format = "") {
  const res = await app.request(
    `/api/v1/export?match[]={__name__=~%22.%2B%22}&start=0&end=${NOW / 1000}${format}`,
  );
  assert.equal(res.status, 200);
  return await res.text();
}

Deno.test("export → import into a fresh Perch is lossless (NaN, ±Inf, staleness)", async () => {
  const src = await setup();
  await load(src.db);
  const lines = await exportAll(src.app);
  assert.ok(lines.includes('"StaleNaN"') && lines.includes('"Inf"') && lines.includes('"-Inf"'));
  const first = JSON.parse(lines.split("\n")[0]!);
  assert.deepEqual(Object.keys(first), ["metric", "values", "timestamps"]);
  const dst = await setup();
  const imp = await dst.app.request("/api/v1/import", { method: "POST", body: lines });
  assert.equal(imp.status, 204, await imp.text());
  const all = [newMatcher("=~", "__name__", ".+")];
  const hints = { minT: 0, maxT: NOW };
  sameSeries(await src.db.select(all, hints), await dst.db.select(all, hints));
  assert.equal(await exportAll(dst.app), lines);
  await src.db.close();
  await dst.db.close();
});

/** Native histograms of every kind: integer, float, custom buckets, with hints; one series mixed. */
async function loadHistograms(db: Awaited<ReturnType<typeof setup>>["db"]) {
  const b = new SampleBatch();
  const series = (name: string, labels: Record<string, string>) => {
    const l = toLabels(name, labels);
    return b.addSeries(l, labelsKey(l));
  };
  const int = series("rpc_seconds", { kind: "int" });
  const flt = series("rpc_seconds", { kind: "float" });
  const nhcb = series("rpc_seconds", { kind: "custom" });
  for (let i = 0; i < 5; i++) {
    const t = NOW - 100_000 + i * 15_000;
    b.addHistogram(int, t, {
      ...counterHistogram(i),
      counterResetHint: i === 0 ? "reset" : "not_reset",
    });
    b.addHistogram(flt, t, {
      ...counterHistogram(i),
      float: true,
      sum: i / 3,
      positiveBuckets: [i / 4, i / 2],
    });
    const custom: NativeHistogram = {
      schema: -53,
      zeroThreshold: 0,
      zeroCount: 0,
      count: 3 * i,
      sum: i * 0.2,
      positiveSpans: [{ offset: 0, length: 3 }],
      positiveBuckets: [i, i, i],
      negativeSpans: [],
      negativeBuckets: [],
      customValues: [0.1, 0.5],
      float: false,
      counterResetHint: "unknown",
    };
    b.addHistogram(nhcb, t, custom);
  }
  b.add(int, NOW - 1000, 7); // a float in a histogram series
  const res = await db.append(b);
  assert.deepEqual(res.rejected, []);
}

Deno.test("export → import carries native histograms losslessly (integer, float, custom buckets, hints)", async () => {
  const src = await setup();
  await loadHistograms(src.db);
  const lines = await exportAll(src.app);
  const parsed = lines.trimEnd().split("\n").map((l) => JSON.parse(l));
  // The mixed series has a line of floats and a line of histograms.
  const int = parsed.filter((o) => o.metric.kind === "int");
  assert.deepEqual(int.map((o) => Object.keys(o)), [
    ["metric", "values", "timestamps"],
    ["metric", "histograms", "timestamps"],
  ]);
  assert.deepEqual(int[1].histograms[0], {
    schema: 2,
    zero_threshold: 1e-128,
    zero_count: 0,
    count: 0,
    sum: 0,
    positive_spans: [{ offset: -1, length: 2 }],
    positive_buckets: [0, 0],
    reset_hint: "reset",
  });
  const dst = await setup();
  const imp = await dst.app.request("/api/v1/import", { method: "POST", body: lines });
  assert.equal(imp.status, 204, await imp.text());
  const all = [newMatcher("=~", "__name__", ".+")];
  const hints = { minT: 0, maxT: NOW };
  const [a, b] = [await src.db.select(all, hints), await dst.db.select(all, hints)];
  sameSeries(a, b);
  assert.equal(a.length, 3);
  for (let i = 0; i < a.length; i++) assert.deepEqual(b[i]!.histograms, a[i]!.histograms);
  assert.equal(await exportAll(dst.app), lines);
  const csv = (await exportAll(src.app, "&format=csv")).trimEnd().split("\n");
  assert.equal(csv.length, 1 + 16);
  assert.ok(
    csv.includes(
      `"rpc_seconds{kind=""custom""}",${NOW - 85_000},"{""schema"":-53,""zero_threshold"":0,` +
        `""zero_count"":0,""count"":3,""sum"":0.2,""positive_spans"":[{""offset"":0,""length"":3}],` +
        `""positive_buckets"":[1,1,1],""custom_values"":[0.1,0.5]}"`,
    ),
    csv.join("\n"),
  );
  await src.db.close();
  await dst.db.close();
});

Deno.test("GET /federate: native histograms in protobuf only; custom buckets as classic ones in text", async () => {
  const { db, app } = await setup();
  await loadHistograms(db);
  const text = await (await app.request("/federate?match[]=rpc_seconds")).text();
  const at = NOW - 40_000;
  assert.equal(
    text,
    [
      "# TYPE rpc_seconds histogram",
      `rpc_seconds_bucket{kind="custom",site="edge",le="0.1"} 4 ${at}`,
      `rpc_seconds_bucket{kind="custom",site="edge",le="0.5"} 8 ${at}`,
      `rpc_seconds_bucket{kind="custom",site="edge",le="+Inf"} 12 ${at}`,
      `rpc_seconds_sum{kind="custom",site="edge"} 0.8 ${at}`,
      `rpc_seconds_count{kind="custom",site="edge"} 12 ${at}`,
      // The float written after the histograms is the newest sample of its series.
      "# TYPE rpc_seconds untyped",
      `rpc_seconds{kind="int",site="edge"} 7 ${NOW - 1000}`,
      "",
    ].join("\n"),
  );
  // A scraper asking for protobuf (Prometheus's Accept with native histograms on) gets it.
  const accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;" +
    "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8," +
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  const res = await app.request("/federate?match[]=rpc_seconds", { headers: { accept } });
  assert.match(
    res.headers.get("content-type")!,
    /^application\/vnd\.google\.protobuf; .*encoding=delimited/,
  );
  const body = new Uint8Array(await res.arrayBuffer());
  // Two families (the histograms, exponential and custom; the floats), each a varint length
  // then the message.
  let n = 0;
  for (let p = 0; p < body.length; n++) {
    let len = 0, shift = 0, b: number;
    do {
      b = body[p++]!;
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    p += len;
    assert.ok(p <= body.length);
  }
  assert.equal(n, 2);
  const plain = await app.request("/federate?match[]=rpc_seconds", {
    headers: { accept: "text/plain;version=0.0.4;q=0.9,application/vnd.google.protobuf;q=0.5" },
  });
  assert.match(plain.headers.get("content-type")!, /^text\/plain/);
  await db.close();
});

Deno.test("POST /api/v1/import refuses a bad histogram alone, naming it and why", async () => {
  const { db, app } = await setup();
  const h = { schema: 0, count: 2, sum: 1, positive_spans: [{ offset: 0, length: 1 }] };
  const body = JSON.stringify({
    metric: { __name__: "lat" },
    histograms: [
      { ...h, positive_buckets: [2] },
      { ...h, positive_buckets: [1] }, // count 2, buckets hold 1
      { ...h, positive_buckets: [2], reset_hint: "maybe" },
    ],
    timestamps: [NOW - 2000, NOW - 1000, NOW],
  });
  const res = await app.request("/api/v1/import", { method: "POST", body });
  assert.equal(res.status, 400);
  const j = await res.json();
  assert.equal(j.accepted, 1);
  assert.deepEqual(
    j.errors.map((e: { field: string; message: string }) => [e.field, e.message]),
    [
      ["line 1 histograms[1]", "count 2 does not match the 1 observations in its buckets"],
      [
        "line 1 histograms[2].reset_hint",
        "reset_hint must be one of unknown, reset, not_reset, gauge",
      ],
    ],
  );
  await db.close();
});

Deno.test("POST /api/v1/import names the line of a bad row and keeps the good ones", async () => {
  const { db, app } = await setup();
  const body = [
    JSON.stringify({ metric: { __name__: "ok" }, values: [1], timestamps: [NOW] }),
    "{not json",
    JSON.stringify({ metric: { __name__: "x" }, values: [1, 2], timestamps: [NOW] }),
  ].join("\n");
  const res = await app.request("/api/v1/import", { method: "POST", body });
  assert.equal(res.status, 400);
  const j = await res.json();
  assert.equal(j.accepted, 1);
  assert.deepEqual(j.errors.map((e: { field: string }) => e.field), [
    "line 2",
    "line 3 timestamps",
  ]);
  await db.close();
});

Deno.test("export format=csv writes one quoted row per sample", async () => {
  const { db, app } = await setup();
  await load(db);
  const csv = await exportAll(app, "&format=csv");
  const rows = csv.trimEnd().split("\n");
  assert.equal(rows[0], "series,timestamp_ms,value");
  assert.ok(rows.includes(`"temp{room=""b\\""q""}",${NOW - 30_000},Inf`), csv);
  assert.ok(rows.includes(`gone{},${NOW - 30_000},StaleNaN`));
  assert.equal(rows.length, 1 + 8);
  await db.close();
});
