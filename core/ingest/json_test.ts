import assert from "node:assert/strict";
import { parseJsonMetrics, parseJsonTimestamp } from "./json.ts";
import { randomText, renderRows, seededRandom } from "./_test_util.ts";

const NOW = 1_700_000_000_000;
const T = Date.UTC(2024, 0, 1, 12); // 2024-01-01T12:00:00Z

function f(input: unknown, expected: string[]): void {
  const text = typeof input === "string" ? input : JSON.stringify(input);
  assert.deepEqual(renderRows(parseJsonMetrics(text, { now: NOW })), expected, text);
}

Deno.test("parseJsonMetrics() accepts the product's shapes", () => {
  // The spec's examples.
  f({
    name: "http_requests_total",
    type: "counter",
    labels: { method: "GET", endpoint: "/api" },
    samples: [{ value: 42, timestamp: "2024-01-01T12:00:00Z" }],
  }, [`http_requests_total{method="GET",endpoint="/api"} 42 @${T}`]);
  f([{
    name: "c",
    type: 0,
    labels: { job: "test" },
    samples: [{ value: 42, timestamp: String(T / 1000) }],
  }], [
    `c{job="test"} 42 @${T}`,
  ]);
  // Flat form, with and without timestamp and labels.
  f({ name: "temp", value: 21.5 }, [`temp 21.5 @${NOW}`]);
  f({ name: "temp", value: 21.5, labels: { room: "a" }, timestamp: T }, [
    `temp{room="a"} 21.5 @${T}`,
  ]);
  // Several samples, several metrics.
  f([{ name: "a", samples: [{ value: 1, timestamp: 1000 }, { value: 2, timestamp: 2000 }] }, {
    name: "b",
    value: 3,
  }], [
    "a 1 @1000000",
    "a 2 @2000000",
    `b 3 @${NOW}`,
  ]);
  // Label values as numbers and booleans.
  f({ name: "a", value: 1, labels: { n: 5, b: true } }, [`a{n="5",b="true"} 1 @${NOW}`]);
  // Types as numbers and names; gauges may go negative.
  f({ name: "g", type: 1, value: -3 }, [`g -3 @${NOW}`]);
  f({ name: "g", type: "gauge", value: -3 }, [`g -3 @${NOW}`]);
  // Empty array.
  f([], []);
});

Deno.test("parseJsonMetrics() keeps type, help and unit as metadata", () => {
  const rows = parseJsonMetrics(
    JSON.stringify({ name: "c_total", type: 0, help: "Things.", unit: "seconds", value: 1 }),
    { now: NOW },
  );
  assert.deepEqual(rows.metadata.get("c_total"), {
    type: "counter",
    help: "Things.",
    unit: "seconds",
  });
  assert.equal(
    parseJsonMetrics('{"name":"h","type":2,"value":{"buckets":{},"sum":0,"count":0}}', { now: NOW })
      .metadata.get("h")?.type,
    "histogram",
  );
});

Deno.test("parseJsonMetrics() stores histograms as classic bucket, sum and count series", () => {
  f({
    name: "lat",
    type: "histogram",
    labels: { path: "/" },
    value: { buckets: { "0.5": 3, "0.1": 1, "+Inf": 4 }, sum: 1.25, count: 4 },
    timestamp: T,
  }, [
    `lat_bucket{path="/",le="0.1"} 1 @${T}`,
    `lat_bucket{path="/",le="0.5"} 3 @${T}`,
    `lat_bucket{path="/",le="+Inf"} 4 @${T}`,
    `lat_sum{path="/"} 1.25 @${T}`,
    `lat_count{path="/"} 4 @${T}`,
  ]);
  // +Inf taken from count; le normalized; type inferred from the value shape.
  f({ name: "h", value: { buckets: { "1.0": 2, "1e1": 3 }, sum: 5, count: 3 } }, [
    `h_bucket{le="1"} 2 @${NOW}`,
    `h_bucket{le="10"} 3 @${NOW}`,
    `h_bucket{le="+Inf"} 3 @${NOW}`,
    `h_sum 5 @${NOW}`,
    `h_count 3 @${NOW}`,
  ]);
  // Errors.
  f({ name: "h", type: 2, value: { buckets: { "1": 5, "2": 3 }, sum: 1, count: 5 } }, [
    "ERR value.buckets: bucket counts must be cumulative (not decreasing as le grows)",
  ]);
  f({ name: "h", type: 2, value: { buckets: { "+Inf": 4 }, sum: 1, count: 5 } }, [
    "ERR value.count: count must equal the +Inf bucket (4)",
  ]);
  f({ name: "h", type: 2, value: { buckets: { "1": 4 }, sum: 1, count: 3 } }, [
    "ERR value.count: count must not be below the largest bucket count",
  ]);
  f({ name: "h", type: 2, value: { buckets: { abc: 4 }, sum: 1, count: 4 } }, [
    "ERR value.buckets: bucket bound must be a number or +Inf",
  ]);
  f({ name: "h", type: 2, value: 3 }, ["ERR value: histogram value must be {buckets, sum, count}"]);
  f({ name: "h", type: "gauge", value: { buckets: {}, sum: 0, count: 0 } }, [
    "ERR value: a gauge value must be a number",
  ]);
  f({ name: "h", type: 2, labels: { le: "1" }, value: { buckets: {}, sum: 0, count: 0 } }, [
    'ERR labels.le: label "le" is set by Perch for histograms',
  ]);
});

Deno.test("parseJsonMetrics() names the exact field of each problem", () => {
  f("{", [
    "ERR body: Cannot parse JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)",
  ]);
  f("42", ["ERR body: a metric must be a JSON object"]);
  f({ value: 1 }, ["ERR name: name must be a string"]);
  f({ name: "a" }, ['ERR body: metric needs "value" or "samples"']);
  f({ name: "a", value: 1, samples: [] }, [
    'ERR value: give either "value" or "samples", not both',
  ]);
  f({ name: "a", value: "1" }, [
    "ERR value: value must be a number or {buckets, sum, count}",
  ]);
  const typeMessage = "type must be counter, gauge, histogram or summary (or 0–3)";
  f({ name: "a", type: 999, value: 1 }, [`ERR type: ${typeMessage}`]);
  f({ name: "a", type: "meter", value: 1 }, [`ERR type: ${typeMessage}`]);
  f([{ name: "ok", value: 1 }, { name: "b", value: 1, labels: { host: {} } }], [
    `ok 1 @${NOW}`,
    "ERR [1].labels.host: label value must be a string, number or boolean",
  ]);
  f({ name: "c", type: "counter", samples: [{ value: 1 }, { value: -1 }] }, [
    `c 1 @${NOW}`,
    "ERR samples[1].value: counter value must not be negative",
  ]);
  f([{ name: "c", type: 0, value: -1 }], ["ERR [0].value: counter value must not be negative"]);
  f({ name: "a", value: 1, timestamp: "yesterday" }, [
    "ERR timestamp: timestamp must be RFC 3339 or a unix time number",
  ]);
  f([{ name: "a", samples: [{ value: 1, timestamp: "2024-13-45T99:00:00Z" }] }], [
    "ERR [0].samples[0].timestamp: timestamp must be RFC 3339 or a unix time number",
  ]);
});

Deno.test("parseJsonTimestamp() infers the unit from the magnitude", () => {
  const cases: [string | number, number | string][] = [
    ["2024-01-01T12:00:00Z", T],
    ["2024-01-01T12:00:00.123Z", T + 123],
    ["2024-01-01T12:00:00.123456789Z", T + 123],
    ["2024-01-01T14:00:00+02:00", T],
    ["2024-01-01 12:00:00z", T],
    [T / 1000, T],
    [T / 1000 + 0.5, T + 500],
    [T, T],
    [T * 1000, T],
    [T * 1e6, T],
    [String(T / 1000), T],
    [String(T), T],
    [`${T}123`, T],
    [`${T}123456`, T],
    ["1704110400123999999", T + 123],
    ["1704110400.5", T + 500],
    [0, 0],
    [-1, -1000],
    [99_999_999_999, 99_999_999_999_000],
    [100_000_000_000, 100_000_000_000],
    [NaN, "timestamp must be a finite number"],
    ["", "timestamp must be RFC 3339 or a unix time number"],
    ["0x10", "timestamp must be RFC 3339 or a unix time number"],
  ];
  for (const [input, want] of cases) assert.equal(parseJsonTimestamp(input), want, String(input));
});

Deno.test("parseJsonMetrics() never throws on random input", () => {
  const rnd = seededRandom(3);
  const alphabet = [
    '{"name":"a"',
    ',"value":1',
    ',"labels":{"x":"y"}',
    "[",
    "]",
    "{",
    "}",
    ",",
    '"',
    ":",
    "1",
    "-1",
    '"timestamp":',
    '"samples":[',
    '{"value":',
    "null",
    "true",
    '"buckets":{"1":2}',
  ];
  for (let k = 0; k < 2000; k++) {
    const rows = parseJsonMetrics(randomText(rnd, alphabet, 30), { now: NOW });
    for (const e of rows.errors) assert.ok(e.field.length > 0 && e.message.length > 0);
  }
});

Deno.test("parseJsonMetrics() accounts for every metric of random documents by its index", () => {
  const rnd = seededRandom(21);
  const pick = <T>(xs: readonly T[]): T => xs[rnd.int(xs.length)]!;
  const anyValue = (): unknown =>
    pick([
      () => rnd.next() * 100 - 50,
      () => String(rnd.int(1000)),
      () => pick(["NaN", "+Inf", "-Inf", "", "x", "1e400", "0x10"]),
      () => pick([null, true, false, [], {}]),
      () => 2 ** 63,
    ])();
  const metric = (): Record<string, unknown> => {
    const m: Record<string, unknown> = {};
    if (rnd.int(10) > 0) m.name = pick(["temp", "a_b:c", "1bad", "", "x".repeat(300), 5]);
    const form = rnd.int(4);
    if (form === 0) m.value = anyValue();
    if (form === 1) {
      m.samples = Array.from({ length: rnd.int(4) }, () => ({
        value: anyValue(),
        ...(rnd.int(2)
          ? { timestamp: pick([0, 1.7e9, 1.7e12, "2024-01-02T03:04:05Z", "x", -1]) }
          : {}),
      }));
    }
    if (form === 2) {
      m.type = pick(["histogram", 2, "counter", "nope", 9]);
      m.value = {
        buckets: Object.fromEntries(
          Array.from({ length: rnd.int(4) }, () => [pick(["0.1", "1", "+Inf", "x"]), rnd.int(9)]),
        ),
        sum: anyValue(),
        count: rnd.int(9),
      };
    }
    if (rnd.int(3) === 0) {
      m.labels = Object.fromEntries(
        Array.from({ length: rnd.int(4) }, () => [
          pick(["host", "__x", "1a", "", "job"]),
          pick(["a", "", 1, null]),
        ]),
      );
    }
    if (rnd.int(4) === 0) m.timestamp = pick([1.7e9, "bad", 1.7e18, -5, "2024-01-02T03:04:05Z"]);
    if (rnd.int(8) === 0) m.extra = anyValue();
    return m;
  };
  for (let k = 0; k < 1500; k++) {
    const n = 1 + rnd.int(5);
    const doc = Array.from({ length: n }, metric);
    const rows = parseJsonMetrics(JSON.stringify(doc), { now: NOW });
    const seen = new Set<number>();
    for (const w of rows.seriesWhere) {
      const m = /^\[(\d+)\]/.exec(w);
      assert.ok(m, `series from ${w}`);
      seen.add(Number(m[1]));
    }
    for (const e of rows.errors) {
      assert.ok(e.message.length > 0);
      const m = /^\[(\d+)\]/.exec(e.field);
      assert.ok(m, `error field ${e.field} names no metric`);
      assert.ok(Number(m[1]) < n, e.field);
      seen.add(Number(m[1]));
    }
    assert.equal(seen.size, n, JSON.stringify(doc));
    for (let i = 0; i < rows.sampleCount; i++) {
      assert.ok(Number.isSafeInteger(rows.sampleT[i]!));
    }
  }
});

Deno.test("parseJsonMetrics() refuses an empty samples list by its path", () => {
  f([{ name: "a", value: 1, timestamp: 1_700_000_000_000 }, { name: "", samples: [] }], [
    "a 1 @1700000000000",
    "ERR [1].name: name must not be empty",
    "ERR [1].samples: samples must not be empty",
  ]);
});

Deno.test("parseJsonMetrics() reports every problem of a metric at once, in field order", () => {
  // The product spec's validation example.
  f([{ name: "", type: 999, labels: {}, samples: [] }], [
    "ERR [0].name: name must not be empty",
    "ERR [0].type: type must be counter, gauge, histogram or summary (or 0–3)",
    "ERR [0].samples: samples must not be empty",
  ]);
  f({ name: "9x", labels: { "a-b": "1", ok: [] }, samples: [{ value: "x" }], type: 3 }, [
    "ERR name: metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*",
    "ERR labels.a-b: label name must match [a-zA-Z_][a-zA-Z0-9_]*",
    "ERR labels.ok: label value must be a string, number or boolean",
    "ERR samples[0].value: value must be a number or {buckets, sum, count}",
  ]);
  // 3 is summary.
  f({ name: "s", type: 3, value: 2 }, [`s 2 @${NOW}`]);
});
