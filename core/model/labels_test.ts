import assert from "node:assert/strict";
import {
  checkLabelName,
  checkLabelValue,
  checkMetricName,
  compareLabels,
  formatSeries,
  fromPairs,
  labelsEqual,
  labelsKey,
  LIMITS,
  metricName,
  seriesId,
  seriesIdInput,
  toLabels,
  validateSeries,
} from "./labels.ts";

Deno.test("checkMetricName() accepts valid names and rejects invalid ones", () => {
  const ok = (s: string) => assert.equal(checkMetricName(s), undefined, s);
  const bad = (s: string) => assert.notEqual(checkMetricName(s), undefined, s);
  ok("up");
  ok("http_requests_total");
  ok("job:rate5m:sum");
  ok("_private");
  ok(":leading_colon");
  ok("a1");
  ok("A_B");
  ok("x".repeat(LIMITS.maxMetricNameLength));
  bad("");
  bad("1abc");
  bad("with-dash");
  bad("with.dot");
  bad("with space");
  bad("ünicode");
  bad("x".repeat(LIMITS.maxMetricNameLength + 1));
  bad("a\nb");
});

Deno.test("checkLabelName() enforces pattern, length and reserved prefix", () => {
  const ok = (s: string, reserved = false) =>
    assert.equal(checkLabelName(s, reserved), undefined, s);
  const bad = (s: string, reserved = false) =>
    assert.notEqual(checkLabelName(s, reserved), undefined, s);
  ok("job");
  ok("_x");
  ok("a1_B2");
  ok("x".repeat(LIMITS.maxLabelNameLength));
  bad("");
  bad("1a");
  bad("a:b"); // Colons are for metric names only.
  bad("a-b");
  bad("x".repeat(LIMITS.maxLabelNameLength + 1));
  bad("__name__");
  bad("__meta");
  ok("__name__", true);
  ok("_single_underscore");
});

Deno.test("checkLabelValue() enforces the length limit and well-formed text", () => {
  assert.equal(checkLabelValue(""), undefined);
  assert.equal(checkLabelValue('any text, even <script> and "quotes"'), undefined);
  assert.equal(checkLabelValue("x".repeat(LIMITS.maxLabelValueLength)), undefined);
  assert.match(checkLabelValue("x".repeat(LIMITS.maxLabelValueLength + 1))!, /longer than 1024/);
  assert.match(checkLabelValue("bad \ud800 surrogate")!, /UTF-8/);
});

Deno.test("validateSeries() reports every problem at once, naming the field", () => {
  const problems = validateSeries("bad-name", { "1x": "v", ok: "y".repeat(2000), __r: "z" });
  const fields = problems.map((p) => p.field).sort();
  assert.deepEqual(fields, ["__name__", "labels.1x", "labels.__r", "labels.ok"]);
  for (const p of problems) assert.ok(p.message.length > 0);
  assert.deepEqual(validateSeries("up", { job: "node" }), []);
});

Deno.test("validateSeries() limits the number of labels", () => {
  const labels: Record<string, string> = {};
  for (let i = 0; i < LIMITS.maxLabels - 1; i++) labels[`l${i}`] = "v";
  assert.deepEqual(validateSeries("m", labels), []);
  labels.extra = "v";
  const p = validateSeries("m", labels);
  assert.equal(p.length, 1);
  assert.equal(p[0]!.field, "labels");
  assert.match(p[0]!.message, /33 labels/);
});

Deno.test("toLabels() sorts, includes __name__ and drops empty values", () => {
  const l = toLabels("cpu", { zone: "a", host: "h1", empty: "" });
  assert.deepEqual(l, [
    { name: "__name__", value: "cpu" },
    { name: "host", value: "h1" },
    { name: "zone", value: "a" },
  ]);
  assert.equal(metricName(l), "cpu");
  assert.deepEqual(toLabels(undefined, { b: "2", a: "1" }).map((x) => x.name), ["a", "b"]);
});

Deno.test("seriesId() is the SHA-256 of the documented input and independent of label order", () => {
  const a = toLabels("temp", { room: "kitchen", floor: "1" });
  const b = fromPairs([["room", "kitchen"], ["__name__", "temp"], ["floor", "1"]]);
  assert.equal(seriesIdInput(a), "temp\nfloor=1\nroom=kitchen\n");
  assert.equal(seriesId(a), seriesId(b));
  assert.match(seriesId(a), /^[0-9a-f]{64}$/);
  assert.notEqual(seriesId(a), seriesId(toLabels("temp", { room: "kitchen", floor: "2" })));
});

Deno.test("seriesId() matches Web Crypto's SHA-256", async () => {
  const l = toLabels("up", { job: "node", instance: "10.0.0.1:9100" });
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seriesIdInput(l)));
  const hex = Array.from(new Uint8Array(d)).map((x) => x.toString(16).padStart(2, "0")).join("");
  assert.equal(seriesId(l), hex);
});

Deno.test("fromPairs() keeps the last value of a repeated name", () => {
  assert.deepEqual(fromPairs([["a", "1"], ["a", "2"]]), [{ name: "a", value: "2" }]);
});

Deno.test("compareLabels() and labelsEqual() order series as Prometheus does", () => {
  const x = fromPairs([["__name__", "a"], ["job", "x"]]);
  const y = fromPairs([["__name__", "a"], ["job", "y"]]);
  const z = fromPairs([["__name__", "a"]]);
  assert.ok(compareLabels(x, y) < 0);
  assert.ok(compareLabels(y, x) > 0);
  assert.ok(compareLabels(z, x) < 0);
  assert.equal(compareLabels(x, fromPairs([["job", "x"], ["__name__", "a"]])), 0);
  assert.ok(labelsEqual(x, fromPairs([["job", "x"], ["__name__", "a"]])));
  assert.ok(!labelsEqual(x, y));
  assert.ok(!labelsEqual(x, z));
});

Deno.test("labelsKey() never collides for values containing separators", () => {
  const a = fromPairs([["a", "1b"], ["c", "2"]]);
  const b = fromPairs([["a", "1"], ["b", "c2"]]);
  const c = fromPairs([["a", "1:1:b"]]);
  const keys = new Set([labelsKey(a), labelsKey(b), labelsKey(c)]);
  assert.equal(keys.size, 3);
});

Deno.test("formatSeries() prints PromQL-style text with escaped values", () => {
  assert.equal(formatSeries(toLabels("up", {})), "up");
  assert.equal(
    formatSeries(toLabels("up", { job: 'a"b', i: "x\ny" })),
    'up{i="x\\ny", job="a\\"b"}',
  );
  assert.equal(formatSeries(fromPairs([["job", "x"]])), '{job="x"}');
});
