import assert from "node:assert/strict";
import { parseExpr } from "./parser.ts";
import { formatFloat } from "../model/mod.ts";
import { formatExpr } from "./printer.ts";
import { stripForCompare } from "./_test_util.ts";

/** [input, canonical text as Prometheus prints it]. */
const CASES: [string, string][] = [
  ["sum(rate(http_requests_total[5m])) by (job)", "sum by (job) (rate(http_requests_total[5m]))"],
  ["sum by(job)(x)", "sum by (job) (x)"],
  ["sum without(a,b)(x)", "sum without (a, b) (x)"],
  ["sum without () (x)", "sum without () (x)"],
  ["sum by () (x)", "sum(x)"],
  ["topk(3,x)", "topk(3, x)"],
  ["count_values('v', x)", `count_values("v", x)`],
  ["a+on(x)group_left(y)b", "a + on (x) group_left (y) b"],
  ["a - ignoring(x) group_right b", "a - ignoring (x) group_right () b"],
  ["a * ignoring() b", "a * b"],
  ["a and on() b", "a and on () b"],
  ["a > bool b", "a > bool b"],
  ["a == bool on(x) b", "a == bool on (x) b"],
  ["1 + 2 * 3", "1 + 2 * 3"],
  ["(1 + 2) * 3", "(1 + 2) * 3"],
  ["-1 ^ 2", "-1 ^ 2"],
  ["-(1)", "-(1)"],
  ["-foo", "-foo"],
  ["+foo", "+foo"],
  ["- -1", "1"],
  ["2 ^ -1", "2 ^ -1"],
  ["foo{b='2',a=\"1\"}", `foo{a="1",b="2"}`],
  [`foo{a=~"x.*", b!~'y', c!="z"}`, `foo{a=~"x.*",b!~"y",c!="z"}`],
  [`{__name__="foo"}`, `{__name__="foo"}`],
  [`{"my.metric", "a.b"="c"}`, `{"a.b"="c",__name__="my.metric"}`],
  ["foo{a=`x\\y`}", `foo{a="x\\\\y"}`],
  [`foo{a="\\n\\t\\u00e9\\x07"}`, `foo{a="\\n\\té\\a"}`],
  ["foo offset 5m", "foo offset 5m"],
  ["foo offset -90m", "foo offset -1h30m"],
  ["foo offset 90", "foo offset 1m30s"],
  ["foo offset 5m @ 100", "foo @ 100.000 offset 5m"],
  ["foo @ 1609746000.123", "foo @ 1609746000.123"],
  ["foo @ start()", "foo @ start()"],
  ["foo[5m] @ end() offset 1h", "foo[5m] @ end() offset 1h"],
  ["foo[300]", "foo[5m]"],
  ["foo[1h30m]", "foo[1h30m]"],
  ["foo[7d]", "foo[1w]"],
  ["foo[100ms]", "foo[100ms]"],
  ["rate(foo[5m])[30m:1m]", "rate(foo[5m])[30m:1m]"],
  ["foo[5m:]", "foo[5m:]"],
  ["foo[5m:] offset 1d @ 0", "foo[5m:] @ 0.000 offset 1d"],
  ["x[2024-01-15T10:00:00Z:2024-01-15T11:00:00Z]", "x[2024-01-15T10:00:00Z:2024-01-15T11:00:00Z]"],
  [
    "x[2024-01-15T10:00:00.250+01:00:2024-01-15T11:00:00+01:00]",
    "x[2024-01-15T09:00:00.250Z:2024-01-15T10:00:00Z]",
  ],
  ["label_replace(x,'a','$1','b','(.*)')", `label_replace(x, "a", "$1", "b", "(.*)")`],
  ["time()", "time()"],
  ["1e3", "1000"],
  ["1e21", "1000000000000000000000"],
  ["1e-7", "0.0000001"],
  ["0x10", "16"],
  ["Inf", "+Inf"],
  ["-Inf", "-Inf"],
  ["NaN", "NaN"],
  ["5m", "5m"],
  ["-5m", "-5m"],
  ['"a\\"b"', `"a\\"b"`],
  ["'日本'", `"日本"`],
  ['"a\\xc5z"', `"a\\xc5z"`],
  ["SUM BY (a) (x) AND ON (a) y", "sum by (a) (x) and on (a) y"],
];

Deno.test("formatExpr() prints Prometheus's canonical form", () => {
  for (const [input, want] of CASES) assert.equal(formatExpr(parseExpr(input)), want, input);
});

Deno.test("formatExpr() output parses back to the same tree", () => {
  for (const [input] of CASES) {
    const first = parseExpr(input);
    const printed = formatExpr(first);
    const second = parseExpr(printed);
    assert.deepEqual(stripForCompare(second), stripForCompare(first), input);
    assert.equal(formatExpr(second), printed, input);
  }
});

Deno.test("formatFloat() matches Go's shortest 'f' formatting", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [1.5, "1.5"],
    [-2, "-2"],
    [1e21, "1000000000000000000000"],
    [1.25e-8, "0.0000000125"],
    [123456789.125, "123456789.125"],
    [0.1, "0.1"],
  ];
  for (const [v, want] of cases) assert.equal(formatFloat(v), want, String(v));
});
