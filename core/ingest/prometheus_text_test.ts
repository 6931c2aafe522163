import assert from "node:assert/strict";
import { endsWithEof, parsePrometheusText } from "./prometheus_text.ts";
import { randomText, renderRows, seededRandom } from "./_test_util.ts";

const NOW = 1_700_000_000_000;

function f(input: string, expected: string[], openMetrics?: boolean): void {
  const rows = parsePrometheusText(input, { now: NOW, openMetrics });
  assert.deepEqual(renderRows(rows), expected, `input: ${JSON.stringify(input)}`);
}

Deno.test("parsePrometheusText() parses valid samples", () => {
  f("", []);
  f("\n \n\t\n", []);
  f("# just a comment", []);
  f("foo 1", [`foo 1 @${NOW}`]);
  f("foo 1 123", ["foo 1 @123"]);
  f("foo -1 -123", ["foo -1 @-123"]);
  f("foo\t1\t123", ["foo 1 @123"]);
  f("foo   1   123  ", ["foo 1 @123"]);
  f("foo 1 123\r\nbar 2 456\r\n", ["foo 1 @123", "bar 2 @456"]);
  f("  foo 1", [`foo 1 @${NOW}`]);
  f("ns:foo_bar 1", [`ns:foo_bar 1 @${NOW}`]);
  f("_foo 1", [`_foo 1 @${NOW}`]);
  // Values.
  f("foo 1.5e-3", [`foo 0.0015 @${NOW}`]);
  f("foo NaN", [`foo NaN @${NOW}`]);
  f("foo nan", [`foo NaN @${NOW}`]);
  f("foo +Inf", [`foo +Inf @${NOW}`]);
  f("foo -Inf", [`foo -Inf @${NOW}`]);
  f("foo Inf", [`foo +Inf @${NOW}`]);
  f("foo .5", [`foo 0.5 @${NOW}`]);
  // Labels.
  f("foo{} 1", [`foo 1 @${NOW}`]);
  f('foo{a="b"} 1', [`foo{a="b"} 1 @${NOW}`]);
  f('foo{a="b",c="d"} 1', [`foo{a="b",c="d"} 1 @${NOW}`]);
  f('foo{a="b",} 1', [`foo{a="b"} 1 @${NOW}`]);
  f('foo{ a = "b" , c="d" } 1', [`foo{a="b",c="d"} 1 @${NOW}`]);
  f('foo {a="b"} 1', ["ERR line 1 value: value must be a number, NaN, +Inf or -Inf"]);
  f('foo{a=""} 1', [`foo{a=""} 1 @${NOW}`]);
  f('foo{a="x y, z=}"} 1', [`foo{a="x y, z=}"} 1 @${NOW}`]);
  f('foo{a="日本"} 1', [`foo{a="日本"} 1 @${NOW}`]);
  // Name as label or quoted (Prometheus 3).
  f('{__name__="foo",a="b"} 1', [`foo{a="b"} 1 @${NOW}`]);
  f('{"my.metric",a="b"} 1', [`my.metric{a="b"} 1 @${NOW}`]);
  f('{"my.metric"} 1', [`my.metric 1 @${NOW}`]);
  f('foo{"my.label"="x"} 1', [`foo{my.label="x"} 1 @${NOW}`]);
  // Exemplars are skipped.
  f('foo_bucket{le="1"} 3 # {trace_id="abc"} 0.5 1.5', [`foo_bucket{le="1"} 3 @${NOW}`], true);
  f('foo 3 1000 # {trace_id="abc"} 0.5', ["foo 3 @1000"]);
  f("foo 3 #", [`foo 3 @${NOW}`]);
});

Deno.test("parsePrometheusText() unescapes label values", () => {
  f('foo{a="x\\\\y"} 1', [`foo{a="x\\\\y"} 1 @${NOW}`]);
  f('foo{a="x\\"y"} 1', [`foo{a="x\\"y"} 1 @${NOW}`]);
  f('foo{a="x\\ny"} 1', [`foo{a="x\\ny"} 1 @${NOW}`]);
  // Unknown escapes stay as written.
  f('foo{a="x\\ty"} 1', [`foo{a="x\\\\ty"} 1 @${NOW}`]);
  f('foo{a="\\\\"} 1', [`foo{a="\\\\"} 1 @${NOW}`]);
  f('foo{a="\\""} 1', [`foo{a="\\""} 1 @${NOW}`]);
});

Deno.test("parsePrometheusText() keeps TYPE, HELP and UNIT as metadata", () => {
  const rows = parsePrometheusText(
    [
      "# HELP http_requests_total The total.\\nSecond line \\\\ done",
      "# TYPE http_requests_total counter",
      "# TYPE temp gauge",
      "# UNIT temp celsius",
      "# HELP temp",
      '# TYPE "my.metric" histogram',
      "http_requests_total 5",
    ].join("\n"),
    { now: NOW },
  );
  assert.deepEqual(rows.errors, []);
  assert.deepEqual(rows.metadata.get("http_requests_total"), {
    type: "counter",
    help: "The total.\nSecond line \\ done",
    unit: "",
  });
  assert.deepEqual(rows.metadata.get("temp"), { type: "gauge", help: "", unit: "celsius" });
  assert.equal(rows.metadata.get("my.metric")?.type, "histogram");
  for (
    const [om, ours] of [
      ["unknown", "untyped"],
      ["gaugehistogram", "histogram"],
      ["info", "gauge"],
      [
        "stateset",
        "gauge",
      ],
      ["summary", "summary"],
    ]
  ) {
    const r = parsePrometheusText(`# TYPE x ${om}\n# EOF`, { now: NOW });
    assert.equal(r.metadata.get("x")?.type, ours, om);
  }
  f("# TYPE foo bogus", ['ERR line 1 type: unknown metric type "bogus"']);
  f("# TYPE", ["ERR line 1: missing metric name after # TYPE"]);
});

Deno.test("parsePrometheusText() reads OpenMetrics timestamps as seconds and stops at # EOF", () => {
  f("foo_total 1 1700000000.5\n# EOF\n", ["foo_total 1 @1700000000500"]);
  f("foo_total 1 1700000000\n# EOF", ["foo_total 1 @1700000000000"]);
  // Forced by the option even without # EOF.
  f("foo 1 1.25", ["foo 1 @1250"], true);
  // Prometheus text: integer ms only.
  f("foo 1 1.25", ["ERR line 1 timestamp: timestamp must be integer milliseconds"], false);
  f("foo 1 1\n# EOF\nbar 2", ["foo 1 @1000", "ERR line 3: unexpected content after # EOF"], true);
  assert.equal(endsWithEof("a 1\n# EOF\n\n"), true);
  assert.equal(endsWithEof("# EOF"), true);
  assert.equal(endsWithEof("a 1 # EOF"), false);
  assert.equal(endsWithEof("a 1\n"), false);
});

Deno.test("parsePrometheusText() rejects malformed lines with the line number", () => {
  f("foo", ["ERR line 1: missing value"]);
  f('foo{a="b"}', ["ERR line 1: missing value"]);
  f("foo x", ["ERR line 1 value: value must be a number, NaN, +Inf or -Inf"]);
  f("foo 0x10", ["ERR line 1 value: value must be a number, NaN, +Inf or -Inf"]);
  f("foo 1 abc", ["ERR line 1 timestamp: timestamp must be integer milliseconds"]);
  f("foo 1 2 3", ["ERR line 1: unexpected text at column 9"]);
  f("foo 1 99999999999999999999", ["ERR line 1 timestamp: timestamp is out of range"]);
  f("1foo 1", ['ERR line 1: invalid character "1" at line start']);
  f("fo-o 1", ['ERR line 1: invalid character "-" in metric name']);
  f('foo{a="b" 1', ['ERR line 1: expected "," or "}" at column 11']);
  f('foo{a="b",c} 1', ['ERR line 1: missing "=" after label name "c"']);
  f("foo{a=b} 1", ['ERR line 1: label value of "a" must be quoted']);
  f('foo{a="b} 1', ["ERR line 1: unterminated quoted string at column 7"]);
  f('foo{1a="b"} 1', ["ERR line 1: invalid label name at column 5"]);
  f('foo{a="b",a="c"} 1', ['ERR line 1: duplicate label "a"']);
  f("foo{", ["ERR line 1: missing } after labels"]);
  f('foo{__name__="bar"} 1', ["ERR line 1: metric name given twice"]);
  f('{a="b"} 1', ["ERR line 1: missing metric name"]);
  f('foo{a="b"}1', ["ERR line 1: expected a space before the value at column 11"]);
  // Other lines still parse; line numbers count every line.
  f("a 1 1\n\nbad\n# c\nb 2 2", ["a 1 @1", "b 2 @2", "ERR line 3: missing value"]);
});

Deno.test("parsePrometheusText() lists each series once per request with a distinct raw key", () => {
  const text = 'a{x="1"} 1\na{x="2"} 1\na{x="1"} 2\nb 1';
  const rows = parsePrometheusText(text, { now: NOW });
  assert.equal(rows.seriesCount, 3);
  assert.equal(new Set(rows.seriesRawKey).size, 3);
  assert.deepEqual([...rows.sampleSeries.subarray(0, 4)], [0, 1, 0, 2]);
  assert.deepEqual([0, 1, 2, 3].map((i) => rows.lineOf(i)), [1, 2, 3, 4]);
  // Known series (from the cache) give the same rows.
  assert.deepEqual(renderRows(parsePrometheusText(text, { now: NOW })), renderRows(rows));
});

Deno.test("parsePrometheusText() gives the same rows for known and new series", () => {
  const rnd = seededRandom(17);
  const pick = <T>(xs: readonly T[]): T => xs[rnd.int(xs.length)]!;
  for (let k = 0; k < 500; k++) {
    const lines = Array.from({ length: 1 + rnd.int(6) }, () => {
      const labels = Array.from(
        { length: rnd.int(3) },
        () =>
          `${pick(["a", "b", "__name__", '"q.n"'])}=${
            pick(['"1"', '"x}y"', '"a\\"b"', '"\\n"', "1"])
          }`,
      );
      const series = pick([`m${k}`, `m${k}_x`, ""]) +
        (labels.length > 0 || rnd.int(2) ? `{${labels.join(pick([",", ", "]))}}` : "");
      return `${series}${pick([" ", "\t", ""])}${pick(["1", "NaN", "x"])} ${pick(["", "5", "t"])}`;
    });
    const text = lines.join("\n");
    const cold = renderRows(parsePrometheusText(text, { now: NOW }));
    assert.deepEqual(renderRows(parsePrometheusText(text, { now: NOW })), cold, text);
    const oneByOne = lines.flatMap((l) => renderRows(parsePrometheusText(l, { now: NOW })));
    const sorted = (xs: string[]) => [...xs.filter((x) => !x.startsWith("ERR"))];
    assert.deepEqual(sorted(oneByOne), sorted(cold), text);
  }
});

Deno.test("parsePrometheusText() never throws on random input and errors carry lines", () => {
  const rnd = seededRandom(7);
  const alphabet = [
    "foo",
    "{",
    "}",
    '"',
    "=",
    ",",
    " ",
    "\\",
    "\n",
    "1",
    "1.5",
    "NaN",
    "# TYPE ",
    "# HELP ",
    "# EOF",
    "counter",
    "a",
    "__name__",
    "#",
    "\t",
  ];
  for (let k = 0; k < 3000; k++) {
    const text = randomText(rnd, alphabet, 40);
    const rows = parsePrometheusText(text, { now: NOW });
    const lines = text.split("\n").length;
    for (const e of rows.errors) {
      assert.ok(e.line !== undefined && e.line >= 1 && e.line <= lines, JSON.stringify(text));
    }
    for (let i = 0; i < rows.sampleCount; i++) {
      assert.ok(rows.sampleSeries[i]! >= 0 && rows.sampleSeries[i]! < rows.seriesCount);
    }
  }
});
