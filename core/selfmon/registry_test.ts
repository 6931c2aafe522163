import assert from "node:assert/strict";
import { parsePrometheusText } from "../ingest/mod.ts";
import { Registry } from "./registry.ts";

function parse(text: string) {
  const rows = parsePrometheusText(text, { now: 0, openMetrics: false });
  assert.deepEqual(rows.errors, [], text);
  const samples = new Map<string, number>();
  for (let i = 0; i < rows.sampleCount; i++) {
    const s = rows.sampleSeries[i]!;
    const labels = rows.seriesLabels[s]!;
    const pairs: string[] = [];
    for (let j = 0; j < labels.length; j += 2) pairs.push(`${labels[j]}=${labels[j + 1]}`);
    samples.set(`${rows.seriesName[s]}{${pairs.sort().join(",")}}`, rows.sampleV[i]!);
  }
  return { rows, samples };
}

Deno.test("Registry.expose() writes text that parses back to the same values", () => {
  const r = new Registry();
  const c = r.counter({
    name: "perch_things_total",
    help: "Things.\nSecond line \\ here.",
    labelNames: ["kind"],
  });
  c.labels('we"ird\\va\nlue').inc(3);
  c.labels("plain").inc();
  const g = r.gauge({ name: "perch_level", help: "Level." });
  g.set(-2.5);
  const h = r.histogram({
    name: "perch_latency_seconds",
    help: "Latency.",
    labelNames: ["route"],
    buckets: [0.1, 1],
  });
  h.labels("/x").observe(0.05);
  h.labels("/x").observe(0.5);
  h.labels("/x").observe(7);
  r.collected("gauge", { name: "perch_collected", help: "Collected." }, () => [
    { labels: { a: "1" }, value: Infinity },
    { labels: { a: "2" }, value: NaN },
  ]);

  const { rows, samples } = parse(r.expose());
  assert.equal(samples.get('perch_things_total{kind=we"ird\\va\nlue}'), 3);
  assert.equal(samples.get("perch_things_total{kind=plain}"), 1);
  assert.equal(samples.get("perch_level{}"), -2.5);
  assert.equal(samples.get("perch_latency_seconds_bucket{le=0.1,route=/x}"), 1);
  assert.equal(samples.get("perch_latency_seconds_bucket{le=1,route=/x}"), 2);
  assert.equal(samples.get("perch_latency_seconds_bucket{le=+Inf,route=/x}"), 3);
  assert.equal(samples.get("perch_latency_seconds_sum{route=/x}"), 7.55);
  assert.equal(samples.get("perch_latency_seconds_count{route=/x}"), 3);
  assert.equal(samples.get("perch_collected{a=1}"), Infinity);
  assert.ok(Number.isNaN(samples.get("perch_collected{a=2}")));
  assert.equal(rows.metadata.get("perch_things_total")?.type, "counter");
  assert.equal(rows.metadata.get("perch_things_total")?.help, "Things.\nSecond line \\ here.");
  assert.equal(rows.metadata.get("perch_latency_seconds")?.type, "histogram");
});

Deno.test("Registry refuses wrong label counts and double registration", () => {
  const r = new Registry();
  const c = r.counter({ name: "x_total", help: "x", labelNames: ["a"] });
  assert.throws(() => c.labels(), /BUG: metric x_total takes 1 label values, got 0/);
  assert.throws(() => r.gauge({ name: "x_total", help: "again" }), /registered twice/);
  assert.throws(() => c.labels("v").inc(-1), /BUG: counter decreased/);
});

Deno.test("a collector that throws drops only its own samples", () => {
  const r = new Registry();
  r.collected("gauge", { name: "bad", help: "b" }, () => {
    throw new Error("boom");
  });
  r.gauge({ name: "good", help: "g" }).set(1);
  const { samples } = parse(r.expose());
  assert.equal(samples.get("good{}"), 1);
  assert.ok(!samples.has("bad{}"));
});
