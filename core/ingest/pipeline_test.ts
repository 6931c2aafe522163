import assert from "node:assert/strict";
import { labelsKey, StorageFullError, toLabels } from "../model/mod.ts";
import { parseInfluxLines } from "./influx.ts";
import { parseJsonMetrics } from "./json.ts";
import { IngestPipeline, OverloadedError } from "./pipeline.ts";
import { parsePrometheusText } from "./prometheus_text.ts";
import { parseRemoteWrite } from "./remote_write.ts";
import { encodeWriteRequest } from "./remote_write_codec.ts";
import { countingStats, RecordingAppender, seededRandom } from "./_test_util.ts";

const NOW = 1_700_000_000_000;
const influx = (s: string) => parseInfluxLines(s, { now: NOW, precision: "ms" });
const prom = (s: string) => parsePrometheusText(s, { now: NOW });
const json = (v: unknown) => parseJsonMetrics(JSON.stringify(v), { now: NOW });

Deno.test("IngestPipeline.ingest() appends valid rows with canonical labels", async () => {
  const app = new RecordingAppender();
  const stats = countingStats();
  const p = new IngestPipeline({ appender: app, stats });
  const r = await p.ingest(
    "influx",
    influx("cpu,z=1,a=2 user=1,sys=2 1000\ncpu,z=1,a=2 user=3 2000"),
  );
  assert.deepEqual(app.samples, [
    'cpu_user{a="2", z="1"} 1 @1000',
    'cpu_sys{a="2", z="1"} 2 @1000',
    'cpu_user{a="2", z="1"} 3 @2000',
  ]);
  assert.equal(r.accepted, 3);
  assert.equal(r.rejected, 0);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(stats.counts, { "influx/accepted": 3 });
  // Empty label values are dropped, as in Prometheus.
  await p.ingest("prometheus", prom('m{a="",b="x"} 1 5'));
  assert.equal(app.samples.at(-1), 'm{b="x"} 1 @5');
});

Deno.test("IngestPipeline.ingest() stores the valid part of a mixed batch and names the bad fields", async () => {
  const app = new RecordingAppender();
  const stats = countingStats();
  const p = new IngestPipeline({ appender: app, stats });
  const r = await p.ingest(
    "prometheus",
    prom('ok 1 1\nbad{__x="1"} 2 2\nbroken\nok 3 3\nbad{__x="1"} 4 4'),
  );
  assert.deepEqual(app.samples, ["ok 1 @1", "ok 3 @3"]);
  assert.equal(r.accepted, 2);
  assert.equal(r.rejected, 3);
  assert.deepEqual(r.errors.map((e) => `${e.field}: ${e.message}`), [
    "line 3: missing value",
    "line 2 labels.__x: label names starting with __ are reserved",
    "line 5 labels.__x: label names starting with __ are reserved",
  ]);
  assert.equal(r.errorCount, 3);
  assert.deepEqual(stats.counts, {
    "prometheus/accepted": 2,
    "prometheus/parse_error": 1,
    "prometheus/invalid_series": 2,
  });
  // JSON paths.
  const j = await p.ingest(
    "json",
    json([{ name: "a", value: 1 }, { name: "b", value: 1, labels: { "bad-key": "x" } }, {
      name: "1x",
      value: 2,
    }]),
  );
  assert.deepEqual(j.errors.map((e) => `${e.field}: ${e.message}`), [
    "[1].labels.bad-key: label name must match [a-zA-Z_][a-zA-Z0-9_]*",
    "[2].name: metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*",
  ]);
  const single = await p.ingest("json", json({ name: "b", value: 1, labels: { "bad-key": "x" } }));
  assert.equal(single.errors[0]!.field, "labels.bad-key");
  // Over-long label values and too many labels.
  const long = await p.ingest(
    "json",
    json({ name: "b", value: 1, labels: { v: "x".repeat(1025) } }),
  );
  assert.match(long.errors[0]!.message, /longer than 1024/);
});

Deno.test("IngestPipeline.ingest() refuses only new series beyond limits.max_series", async () => {
  const app = new RecordingAppender();
  const stats = countingStats();
  const p = new IngestPipeline({ appender: app, stats, limits: { maxSeries: 2 } });
  const r1 = await p.ingest("prometheus", prom("a 1 1\nb 1 1\nc 1 1\nc 2 2"));
  assert.deepEqual(app.samples, ["a 1 @1", "b 1 @1"]);
  assert.equal(r1.rejected, 2);
  assert.deepEqual(r1.cardinality, {
    refusedSeries: 1,
    maxSeries: 2,
    maxSeriesPerMetric: null,
    byMetric: { c: 1 },
  });
  assert.match(r1.errors[0]!.message, /limits\.max_series \(2\) reached/);
  // Existing series are still accepted; new ones still refused.
  const r2 = await p.ingest("prometheus", prom("a 2 2\nd 1 1"));
  assert.equal(r2.accepted, 1);
  assert.equal(r2.cardinality?.refusedSeries, 1);
  assert.equal(stats.counts["prometheus/series_limit"], 3);
});

Deno.test("IngestPipeline.ingest() enforces limits.max_series_per_metric using the storage index", async () => {
  const app = new RecordingAppender();
  const existing = new Set<string>();
  const perMetric = new Map<string, number>([["temp", 1]]);
  // Storage already has temp{room="old"}.
  const p = new IngestPipeline({
    appender: app,
    limits: { maxSeriesPerMetric: 2 },
    seriesIndex: {
      hasSeries: (k) => existing.has(k),
      seriesCount: () => existing.size,
      metricSeriesCount: (n) => perMetric.get(n) ?? 0,
    },
  });
  const r = await p.ingest(
    "influx",
    influx("temp,room=a value=1 1\ntemp,room=b value=1 1\nhum,room=a value=1 1"),
  );
  // temp_value is a different metric from "temp": the limit counts per name.
  assert.equal(r.accepted, 3);
  perMetric.set("temp_value", 2);
  const r2 = await p.ingest("influx", influx("temp,room=c value=1 2"));
  assert.equal(r2.accepted, 0);
  assert.equal(r2.cardinality?.maxSeriesPerMetric, 2);
  assert.deepEqual(r2.cardinality?.byMetric, { temp_value: 1 });
  assert.equal(r2.errors[0]!.field, "line 1 labels");
});

Deno.test("IngestPipeline.ingest() counts a series against max_series again once storage lost it", async () => {
  const app = new RecordingAppender();
  const key = (name: string) => labelsKey(toLabels(name, {}));
  const existing = new Set([key("a")]);
  let removals = 0;
  const p = new IngestPipeline({
    appender: app,
    limits: { maxSeries: 1 },
    seriesIndex: {
      hasSeries: (k) => existing.has(k),
      seriesCount: () => existing.size,
      metricSeriesCount: () => 0,
      seriesRemovals: () => removals,
    },
  });
  assert.equal((await p.ingest("prometheus", prom("a 1 1"))).accepted, 1);
  assert.equal((await p.ingest("prometheus", prom("a 2 2"))).accepted, 1);
  // Storage dropped "a" (its append failed) and "b" took the only place.
  existing.delete(key("a"));
  existing.add(key("b"));
  removals++;
  const r = await p.ingest("prometheus", prom("a 3 3"));
  assert.equal(r.accepted, 0);
  assert.equal(r.cardinality?.refusedSeries, 1);
});

Deno.test("IngestPipeline.ingest() counts series of appends in flight against the limit", async () => {
  const app = new RecordingAppender();
  const p = new IngestPipeline({ appender: app, limits: { maxSeries: 1 } });
  app.hold();
  const first = p.ingest("prometheus", prom("a 1 1"));
  await new Promise((r) => setTimeout(r, 0));
  const second = p.ingest("prometheus", prom("b 1 1"));
  await new Promise((r) => setTimeout(r, 0));
  app.release();
  const [r1, r2] = await Promise.all([first, second]);
  assert.equal(r1.accepted, 1);
  assert.equal(r2.accepted, 0);
  assert.equal(r2.cardinality?.refusedSeries, 1);
});

Deno.test("IngestPipeline.ingest() applies backpressure with a bounded queue", async () => {
  const app = new RecordingAppender();
  const stats = countingStats();
  const p = new IngestPipeline({
    appender: app,
    stats,
    maxInFlight: 1,
    maxQueued: 1,
    retryAfterSeconds: 7,
  });
  app.hold();
  const a = p.ingest("influx", influx("m v=1 1"));
  const b = p.ingest("influx", influx("m v=2 2"));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(p.inFlight, 1);
  assert.equal(p.queued, 1);
  await assert.rejects(p.ingest("influx", influx("m v=3 3\nm v=4 4")), (e: unknown) => {
    assert.ok(e instanceof OverloadedError);
    assert.equal(e.retryAfterSeconds, 7);
    return true;
  });
  assert.equal(stats.counts["influx/overloaded"], 2);
  app.release();
  assert.equal((await a).accepted, 1);
  assert.equal((await b).accepted, 1);
  assert.equal(p.inFlight, 0);
  assert.equal(p.queued, 0);
});

Deno.test("IngestPipeline.ingest() times out waiting for a slot", async () => {
  const app = new RecordingAppender();
  const p = new IngestPipeline({ appender: app, maxInFlight: 1, queueTimeoutMs: 10 });
  app.hold();
  const a = p.ingest("influx", influx("m v=1 1"));
  await assert.rejects(p.ingest("influx", influx("m v=2 2")), OverloadedError);
  assert.equal(p.queued, 0);
  app.release();
  await a;
});

Deno.test("IngestPipeline.ingest() passes StorageFullError on and does not register new series", async () => {
  const app = new RecordingAppender();
  const stats = countingStats();
  const p = new IngestPipeline({ appender: app, stats, limits: { maxSeries: 1 } });
  app.failWith = new StorageFullError("disk full");
  await assert.rejects(p.ingest("influx", influx("m v=1 1")), StorageFullError);
  assert.equal(stats.counts["influx/storage_full"], 1);
  app.failWith = undefined;
  // The failed series did not use up the limit.
  const r = await p.ingest("influx", influx("other v=1 1"));
  assert.equal(r.accepted, 1);
  assert.equal(p.inFlight, 0);
});

Deno.test("IngestPipeline.ingest() reports samples storage refused, with their line", async () => {
  const app = new RecordingAppender();
  app.refuse = (t) => (t < 0 ? "out_of_bounds" : undefined);
  const stats = countingStats();
  const p = new IngestPipeline({ appender: app, stats });
  const r = await p.ingest("influx", influx("m v=1 1\nm v=2 -5"));
  assert.equal(r.accepted, 1);
  assert.equal(r.rejected, 1);
  assert.deepEqual(r.errors, [{
    field: "line 2 timestamp",
    value: "-5",
    message: "refused by test: out_of_bounds",
    line: 2,
  }]);
  assert.equal(stats.counts["influx/out_of_bounds"], 1);
});

Deno.test("IngestPipeline.ingest() adds extra labels over pushed ones", async () => {
  const app = new RecordingAppender();
  const p = new IngestPipeline({ appender: app });
  await p.ingest("prometheus", prom('m{job="x",a="1"} 1 1'), {
    extraLabels: { job: "push", instance: "h" },
  });
  assert.deepEqual(app.samples, ['m{a="1", instance="h", job="push"} 1 @1']);
  // Cached per extra-label set: another grouping gives other labels.
  await p.ingest("prometheus", prom('m{job="x",a="1"} 1 1'), { extraLabels: { job: "other" } });
  assert.equal(app.samples[1], 'm{a="1", job="other"} 1 @1');
  const bad = await p.ingest("prometheus", prom("m 1 1"), { extraLabels: { "bad-name": "x" } });
  assert.equal(bad.errors[0]!.field, "line 1 labels.bad-name");
});

Deno.test("IngestPipeline.ingest() stores metadata only when it changes", async () => {
  const app = new RecordingAppender();
  let calls = 0;
  const orig = app.setMetadata.bind(app);
  app.setMetadata = (n, m) => {
    calls++;
    return orig(n, m);
  };
  const p = new IngestPipeline({ appender: app });
  await p.ingest("prometheus", prom("# TYPE m counter\n# HELP m Things.\nm 1 1"));
  await p.ingest("prometheus", prom("# TYPE m counter\n# HELP m Things.\nm 2 2"));
  assert.equal(calls, 1);
  assert.deepEqual(app.metadata.get("m"), { type: "counter", help: "Things.", unit: "" });
  await p.ingest("prometheus", prom("# TYPE m gauge\nm 2 2"));
  assert.equal(calls, 2);
});

Deno.test("IngestPipeline.ingest() lists at most maxListedErrors problems but counts all", async () => {
  const p = new IngestPipeline({ appender: new RecordingAppender(), maxListedErrors: 3 });
  const r = await p.ingest("prometheus", prom("x\n".repeat(10)));
  assert.equal(r.errors.length, 3);
  assert.equal(r.errorCount, 10);
  assert.equal(r.rejected, 10);
});

Deno.test("IngestPipeline.ingest() stores no metadata for names no series may have", async () => {
  const app = new RecordingAppender();
  const p = new IngestPipeline({ appender: app });
  await p.ingest("prometheus", prom("# TYPE ok counter\n# TYPE 1bad gauge\nok 1 1\n"));
  assert.deepEqual([...app.metadata.keys()], ["ok"]);
});

Deno.test("IngestPipeline.ingest() accounts for every sample of random input in counters", async () => {
  const rnd = seededRandom(33);
  const app = new RecordingAppender();
  app.refuse = (t) => (t % 7 === 3 ? "out_of_bounds" : undefined);
  const stats = countingStats();
  const p = new IngestPipeline({ appender: app, stats, limits: { maxSeriesPerMetric: 3 } });
  const pick = <T>(xs: readonly T[]): T => xs[rnd.int(xs.length)]!;
  let accepted = 0, rejected = 0;
  for (let k = 0; k < 300; k++) {
    const lines: string[] = [];
    for (let l = 0; l < 1 + rnd.int(8); l++) {
      const tag = pick(["", ",h=a", ",h=b", ",h=c", ",h=d", ",__x=1", ",h=", ",h=a,h=b"]);
      const fields = Array.from(
        { length: 1 + rnd.int(3) },
        () => `${pick(["v", "w", "1x"])}=${pick(["1", "2i", "t", '"s"', "x", "-0.5", "NaN"])}`,
      );
      lines.push(`${pick(["m", "n", ""])}${tag} ${fields.join(",")} ${pick(["", "10", "x", "3"])}`);
    }
    const rows = influx(lines.join("\n"));
    const before = app.samples.length;
    const r = await p.ingest("influx", rows);
    assert.equal(r.accepted, app.samples.length - before);
    assert.equal(r.accepted + r.rejected, rows.sampleCount + rows.invalidSamples, lines.join("\n"));
    assert.ok(r.errorCount >= r.errors.length);
    if (r.rejected > 0) assert.ok(r.errorCount > 0);
    accepted += r.accepted;
    rejected += r.rejected;
  }
  const counted = Object.entries(stats.counts);
  assert.equal(stats.counts["influx/accepted"], accepted);
  assert.equal(
    counted.filter(([k]) => k !== "influx/accepted").reduce((a, [, n]) => a + n, 0),
    rejected,
  );
  // Each kind of refusal was exercised.
  for (
    const reason of ["parse_error", "invalid_series", "series_per_metric_limit", "out_of_bounds"]
  ) {
    assert.ok((stats.counts[`influx/${reason}`] ?? 0) > 0, reason);
  }
});

Deno.test("IngestPipeline.ingest() gives the appender only the request's own series and samples, request after request", async () => {
  const seen: string[][] = [];
  const p = new IngestPipeline({
    appender: {
      append(batch) {
        const out: string[] = [];
        for (let i = 0; i < batch.length; i++) {
          out.push(`${batch.series[batch.ref(i)]![0]!.value} ${batch.v(i)} @${batch.t(i)}`);
        }
        out.push(`series: ${batch.seriesCount}`);
        seen.push(out);
        return Promise.resolve({ accepted: batch.length, rejected: [] });
      },
      setMetadata: () => Promise.resolve(),
    },
  });
  const lines = (n: number, v: number) =>
    Array.from({ length: n }, (_, i) => `m${i}{a="1"} ${v} ${1000 + v}`).join("\n");
  await p.ingest("prometheus", prom(lines(5, 1)));
  await p.ingest("prometheus", prom(`m3{a="1"} 2 1002\nbad-name 1 1`));
  await p.ingest("prometheus", prom(lines(3, 3)));
  assert.deepEqual(seen[1], ["m3 2 @1002", "series: 1"]);
  assert.deepEqual(seen[2], ["m0 3 @1003", "m1 3 @1003", "m2 3 @1003", "series: 3"]);
});

Deno.test("IngestPipeline.ingest() validates a series remote write knows from before for each set of extra labels", async () => {
  const app = new RecordingAppender();
  const p = new IngestPipeline({ appender: app });
  const body = encodeWriteRequest({
    series: [{ labels: toLabels("m", { a: "1" }), t: [1000], v: [1] }],
  });
  await p.ingest("remote_write", parseRemoteWrite(body));
  await p.ingest("remote_write", parseRemoteWrite(body), { extraLabels: { job: "x" } });
  await p.ingest("remote_write", parseRemoteWrite(body), { extraLabels: { a: "2" } });
  await p.ingest("remote_write", parseRemoteWrite(body));
  // A new pipeline (limits changed on reload) starts from its own validation cache.
  await new IngestPipeline({ appender: app }).ingest("remote_write", parseRemoteWrite(body), {
    extraLabels: { job: "y" },
  });
  assert.deepEqual(app.samples, [
    'm{a="1"} 1 @1000',
    'm{a="1", job="x"} 1 @1000',
    'm{a="2"} 1 @1000',
    'm{a="1"} 1 @1000',
    'm{a="1", job="y"} 1 @1000',
  ]);
});
