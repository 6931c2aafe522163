import assert from "node:assert/strict";
import type { Expr } from "./ast.ts";
import { parseExpr, PromQLParseError } from "./parser.ts";

/** A fully parenthesised shape of a tree, to check precedence and associativity. */
function shape(e: Expr): string {
  switch (e.type) {
    case "NumberLiteral":
      return String(e.value);
    case "StringLiteral":
      return JSON.stringify(e.value);
    case "VectorSelector":
      return e.name ?? "{…}";
    case "MatrixSelector":
      return `${shape(e.vectorSelector)}[${e.range}]`;
    case "SubqueryExpr":
      return `${shape(e.expr)}[${e.range}:${e.step}]`;
    case "Call":
      return `${e.func}(${e.args.map(shape).join(", ")})`;
    case "AggregateExpr":
      return `${e.op}(${e.param ? shape(e.param) + ", " : ""}${shape(e.expr)})`;
    case "BinaryExpr":
      return `(${shape(e.lhs)} ${e.op} ${shape(e.rhs)})`;
    case "UnaryExpr":
      return `(${e.op}${shape(e.expr)})`;
    case "ParenExpr":
      return `[${shape(e.expr)}]`;
  }
}

Deno.test("parseExpr() follows Prometheus's precedence and associativity", () => {
  const cases: [string, string][] = [
    ["1 + 2 * 3", "(1 + (2 * 3))"],
    ["1 * 2 + 3", "((1 * 2) + 3)"],
    ["1 - 2 - 3", "((1 - 2) - 3)"],
    ["8 / 4 / 2", "((8 / 4) / 2)"],
    ["2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"],
    ["-1 ^ 2", "(-(1 ^ 2))"],
    ["-1^-2", "(-(1 ^ -2))"],
    ["-1 * 2", "(-1 * 2)"],
    ["+1 + -2 * 1", "(1 + (-2 * 1))"],
    ["1 < bool 2 - 1 * 2", "(1 < (2 - (1 * 2)))"],
    ["a + b or c and d", "((a + b) or (c and d))"],
    ["a and b unless c or d", "(((a and b) unless c) or d)"],
    ["a == b + c", "(a == (b + c))"],
    ["a > b == c", "((a > b) == c)"],
    ["a % b atan2 c * d", "(((a % b) atan2 c) * d)"],
    ["a + b atan2 c", "(a + (b atan2 c))"],
    ["-a * b", "((-a) * b)"],
    ["-a ^ b", "(-(a ^ b))"],
    ["a ^ -b ^ c", "(a ^ (-(b ^ c)))"],
    ["2 * (3 + 4)", "(2 * [(3 + 4)])"],
    ["- - 1", "1"],
    ["sum(a) by (x) + avg(b)", "(sum(a) + avg(b))"],
    ["a offset 5m + b", "(a + b)"],
    ["-foo offset 5m", "(-foo)"],
    ["rate(x[5m]) * on(job) group_left(a) y", "(rate(x[300000]) * y)"],
    ["a - on(b) c ^ d", "(a - (c ^ d))"],
  ];
  for (const [input, want] of cases) assert.equal(shape(parseExpr(input)), want, input);
});

Deno.test("parseExpr() reads number literals as Prometheus does", () => {
  const cases: [string, number][] = [
    ["1", 1],
    [".5", 0.5],
    ["5.", 5],
    ["123.4567", 123.4567],
    ["5e-3", 0.005],
    ["5e3", 5000],
    ["1E3", 1000],
    ["0xc", 12],
    ["0X1F", 31],
    ["0755", 493],
    ["-0755", -493],
    ["+5.5e-3", 0.0055],
    ["1_000_000", 1000000],
    ["Inf", Infinity],
    ["+Inf", Infinity],
    ["-inf", -Infinity],
    ["INF", Infinity],
    ["5m", 300],
    ["1h30m", 5400],
    ["1d", 86400],
    ["1w", 604800],
    ["1y", 31536000],
    ["250ms", 0.25],
    ["-2s", -2],
  ];
  for (const [input, want] of cases) {
    const e = parseExpr(input);
    assert.equal(e.type, "NumberLiteral", input);
    assert.equal(e.type === "NumberLiteral" && e.value, want, input);
  }
  const nan = parseExpr("NaN");
  assert.ok(nan.type === "NumberLiteral" && Number.isNaN(nan.value));
});

Deno.test("parseExpr() resolves string literals with Go escapes", () => {
  const cases: [string, string][] = [
    [`"abc"`, "abc"],
    [`'abc'`, "abc"],
    ["`a\\nb`", "a\\nb"],
    [`"a\\nb\\t\\"c\\\\"`, 'a\nb\t"c\\'],
    [`'it\\'s'`, "it's"],
    [`"\\x41\\101\\u00e9\\U0001F600"`, "AAé😀"],
    [`"\\xc3\\xa9"`, "é"],
    [`"日本"`, "日本"],
  ];
  for (const [input, want] of cases) {
    const e = parseExpr(input);
    assert.equal(e.type === "StringLiteral" && e.value, want, input);
  }
  // A byte that is not UTF-8 stays distinguishable (not well-formed).
  const bad = parseExpr(`"a\\xc5z"`);
  assert.ok(bad.type === "StringLiteral" && !bad.value.isWellFormed());
});

Deno.test("parseExpr() builds vector selectors with all matchers", () => {
  const e = parseExpr(`foo{a="1", b!='2', c=~"x|y", d!~` + "`z.*`" + `,}`);
  assert.equal(e.type, "VectorSelector");
  if (e.type !== "VectorSelector") return;
  assert.equal(e.name, "foo");
  assert.deepEqual(
    e.matchers.map((m) => [m.name, m.type, m.value]),
    [["__name__", "=", "foo"], ["a", "=", "1"], ["b", "!=", "2"], ["c", "=~", "x|y"], [
      "d",
      "!~",
      "z.*",
    ]],
  );
  assert.deepEqual(e.pos, { start: 0, end: 39 });
  const c = e.matchers[3];
  assert.ok(c.matches("x") && c.matches("y") && !c.matches("xy"), "regex is fully anchored");

  const utf8 = parseExpr(`{"my.metric", "label.with.dots"="v"}`);
  assert.ok(utf8.type === "VectorSelector");
  if (utf8.type !== "VectorSelector") return;
  assert.equal(utf8.name, undefined);
  assert.deepEqual(utf8.matchers.map((m) => [m.name, m.type, m.value]), [
    ["__name__", "=", "my.metric"],
    ["label.with.dots", "=", "v"],
  ]);

  // Keywords can name metrics and labels.
  for (const name of ["sum", "by", "offset", "step", "start", "and"]) {
    const k = parseExpr(`${name}{on="x"}`);
    assert.ok(k.type === "VectorSelector" && k.name === name, name);
  }
});

Deno.test("parseExpr() reads ranges, subqueries, offset and @ in ms", () => {
  const m = parseExpr("foo[1h30m] offset -5m @ 1609746000.5");
  assert.ok(m.type === "MatrixSelector");
  if (m.type !== "MatrixSelector") return;
  assert.equal(m.range, 5_400_000);
  assert.equal(m.vectorSelector.offset, -300_000);
  assert.equal(m.vectorSelector.at, 1_609_746_000_500);

  assert.equal((parseExpr("foo[300]") as { range: number }).range, 300_000);
  assert.equal((parseExpr("foo[1.5]") as { range: number }).range, 1500);

  const s = parseExpr("rate(foo[5m])[30m:1m] @ end() offset 1d");
  assert.ok(s.type === "SubqueryExpr");
  if (s.type !== "SubqueryExpr") return;
  assert.deepEqual([s.range, s.step, s.offset, s.at], [1_800_000, 60_000, 86_400_000, "end"]);
  const d = parseExpr("foo[5m:]");
  assert.ok(d.type === "SubqueryExpr" && d.step === 0);
  const st = parseExpr("foo @ start()");
  assert.ok(st.type === "VectorSelector" && st.at === "start");
  const neg = parseExpr("foo @ -10");
  assert.ok(neg.type === "VectorSelector" && neg.at === -10_000);
  const o = parseExpr("foo offset 90");
  assert.ok(o.type === "VectorSelector" && o.offset === 90_000);
});

Deno.test("parseExpr() accepts Perch's absolute range metric[t1:t2]", () => {
  const e = parseExpr("temp{room='a'}[2024-01-15T10:00:00Z:2024-01-15T11:00:00Z]");
  assert.ok(e.type === "MatrixSelector");
  if (e.type !== "MatrixSelector") return;
  assert.deepEqual(e.absolute, {
    start: Date.UTC(2024, 0, 15, 10),
    end: Date.UTC(2024, 0, 15, 11),
  });
  assert.equal(e.range, 3_600_000);
  const tz = parseExpr("x[2024-01-15T10:00:00+02:00:2024-01-15T10:30:00.5+02:00]");
  assert.ok(tz.type === "MatrixSelector" && tz.absolute?.start === Date.UTC(2024, 0, 15, 8));
  assert.ok(tz.type === "MatrixSelector" && tz.range === 1_800_500);
  assert.ok(parseExpr("max_over_time(x[2024-01-15T10:00:00Z:2024-01-15T11:00:00Z])"));
});

Deno.test("parseExpr() reads aggregations with modifiers before or after and params", () => {
  const before = parseExpr("sum by (job, instance) (x)");
  const after = parseExpr("sum(x) by (job, instance)");
  for (const e of [before, after]) {
    assert.ok(e.type === "AggregateExpr");
    if (e.type !== "AggregateExpr") return;
    assert.deepEqual([e.op, e.grouping, e.without], ["sum", ["job", "instance"], false]);
  }
  const w = parseExpr("avg without (a,) (x)");
  assert.ok(w.type === "AggregateExpr" && w.without && w.grouping.length === 1);
  const q = parseExpr(`count_values("value", x)`);
  assert.ok(q.type === "AggregateExpr" && q.param?.type === "StringLiteral");
  for (const op of ["topk", "bottomk", "quantile", "limitk", "limit_ratio"]) {
    const t = parseExpr(`${op}(0.5, x)`);
    assert.ok(t.type === "AggregateExpr" && t.param?.type === "NumberLiteral", op);
  }
  const kw = parseExpr(`sum by (on, by, "utf8.label") (x)`);
  assert.ok(kw.type === "AggregateExpr");
  assert.deepEqual(kw.type === "AggregateExpr" && kw.grouping, ["on", "by", "utf8.label"]);
  const upper = parseExpr("SUM BY (a) (x)");
  assert.ok(upper.type === "AggregateExpr" && upper.op === "sum");
});

Deno.test("parseExpr() reads vector matching modifiers", () => {
  const e = parseExpr("a / on(x, y) group_left(z) b");
  assert.ok(e.type === "BinaryExpr");
  if (e.type !== "BinaryExpr") return;
  assert.deepEqual(e.matching, {
    card: "many-to-one",
    on: true,
    labels: ["x", "y"],
    include: ["z"],
  });
  const r = parseExpr("a - ignoring(x) group_right b");
  assert.deepEqual(r.type === "BinaryExpr" && r.matching, {
    card: "one-to-many",
    on: false,
    labels: ["x"],
    include: [],
  });
  const set = parseExpr("a and on() b");
  assert.deepEqual(set.type === "BinaryExpr" && set.matching?.card, "many-to-many");
  const scalarSide = parseExpr("a > bool 1");
  assert.ok(scalarSide.type === "BinaryExpr" && scalarSide.returnBool && !scalarSide.matching);
  const plain = parseExpr("a * b");
  assert.deepEqual(plain.type === "BinaryExpr" && plain.matching, {
    card: "one-to-one",
    on: false,
    labels: [],
    include: [],
  });
});

Deno.test("parseExpr() skips comments and whitespace", () => {
  const e = parseExpr("# leading comment\nsum(\n  rate(x[5m]) # trailing\n)\n");
  assert.equal(shape(e), "sum(rate(x[300000]))");
});

Deno.test("parseExpr() accepts every function with its signature", () => {
  const cases = [
    "rate(x[5m])",
    "irate(x[5m])",
    "increase(x[5m])",
    "delta(x[5m])",
    "idelta(x[5m])",
    "deriv(x[5m])",
    "predict_linear(x[5m], 3600)",
    "resets(x[5m])",
    "changes(x[5m])",
    "quantile_over_time(0.9, x[5m])",
    "last_over_time(x[5m])",
    "present_over_time(x[5m])",
    "mad_over_time(x[5m])",
    "absent(x)",
    "absent_over_time(x[5m])",
    "histogram_quantile(0.9, rate(x_bucket[5m]))",
    "histogram_fraction(0, 1, x)",
    `label_replace(x, "dst", "$1", "src", "(.*)")`,
    `label_join(x, "dst", ",", "a", "b", "c")`,
    "clamp(x, 0, 1)",
    "round(x)",
    "round(x, 0.5)",
    "scalar(x)",
    "vector(1)",
    "time()",
    "pi()",
    "timestamp(x)",
    "hour()",
    "day_of_week(x)",
    `sort_by_label(x, "a", "b")`,
    "double_exponential_smoothing(x[5m], 0.5, 0.5)",
    "start() - end() + step() + range()",
    "min_of(1, 2)",
  ];
  for (const c of cases) assert.ok(parseExpr(c), c);
});

Deno.test("parseExpr() reports errors as Prometheus does", () => {
  const cases: [string, string][] = [
    ["", "1:1: parse error: no expression found in input"],
    ["# just a comment\n\n", "1:1: parse error: no expression found in input"],
    ["1+", "1:3: parse error: unexpected end of input"],
    [".", "1:1: parse error: unexpected character: '.'"],
    ["2.5.", `1:1: parse error: bad number or duration syntax: "2.5."`],
    ["100..4", `1:1: parse error: bad number or duration syntax: "100.."`],
    ["0deadbeef", `1:1: parse error: bad number or duration syntax: "0de"`],
    ["*1", "1:1: parse error: unexpected <op:*>"],
    ["(1))", "1:5: parse error: unexpected right parenthesis ')'"],
    ["((1)", "1:5: parse error: unclosed left parenthesis"],
    ["(", "1:2: parse error: unclosed left parenthesis"],
    ["1 and 1", `1:1: parse error: set operator "and" not allowed in binary scalar expression`],
    ["1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"],
    ["1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"],
    ["1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"],
    [
      `-"string"`,
      `1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"`,
    ],
    [
      "-test[5m]",
      `1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"`,
    ],
    ["@@", "1:1: parse error: unexpected <op:@>"],
    [
      "1 offset 1d",
      "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
    ],
    ["foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times"],
    ["foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"],
    ["a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"],
    ["foo{a=}", `1:7: parse error: unexpected "}" in label matching, expected string`],
    [
      "foo{a}",
      `1:6: parse error: unexpected "}" in label matching, expected label matching operator`,
    ],
    ["foo{a=1}", `1:7: parse error: unexpected character inside braces: '1'`],
    ['foo{="a"}', `1:5: parse error: unexpected "=" in label matching, expected identifier or "}"`],
    [
      "foo{a='b' c='d'}",
      `1:11: parse error: unexpected identifier "c" in label matching, expected "," or "}"`,
    ],
    ["foo{", "1:5: parse error: unexpected end of input inside braces"],
    ['foo{a=~"("}', "1:5: parse error: error parsing regexp: missing closing ): `(`"],
    ["{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"],
    [`{a=~".*"}`, "1:1: parse error: vector selector must contain at least one non-empty matcher"],
    [`foo{__name__="bar"}`, `1:1: parse error: metric name must not be set twice: "foo" or "bar"`],
    [
      "rate(foo)",
      `1:6: parse error: expected type range vector in call to function "rate", got instant vector`,
    ],
    [
      "abs(foo[5m])",
      `1:5: parse error: expected type instant vector in call to function "abs", got range vector`,
    ],
    ["abs(1, 2)", `1:1: parse error: expected 1 argument(s) in call to "abs", got 2`],
    [
      "label_join(x)",
      `1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 1`,
    ],
    [
      "round(x, 1, 2)",
      `1:1: parse error: expected at most 2 argument(s) in call to "round", got 3`,
    ],
    ["nope(x)", `1:1: parse error: unknown function with name "nope"`],
    [
      "holt_winters(x[5m], 0.5, 0.5)",
      `1:1: parse error: unknown function with name "holt_winters"`,
    ],
    ["rate(x[5m],)", "1:11: parse error: trailing commas not allowed in function call args"],
    ["sum()", "1:1: parse error: no arguments for aggregate expression provided"],
    [
      "topk(x)",
      "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1",
    ],
    [
      "sum(x[5m])",
      "1:5: parse error: expected type instant vector in aggregation expression, got range vector",
    ],
    [`topk("a", x)`, "1:6: parse error: expected type scalar in aggregation parameter, got string"],
    [
      `count_values(1, x)`,
      "1:14: parse error: expected type string in aggregation parameter, got scalar",
    ],
    ["sum by x (y)", `1:8: parse error: unexpected identifier "x" in grouping opts, expected "("`],
    [
      "sum by (a b) (y)",
      `1:11: parse error: unexpected identifier "b" in grouping opts, expected "," or ")"`,
    ],
    [
      "sum by (a:b) (y)",
      `1:9: parse error: unexpected metric identifier "a:b" in grouping opts, expected label`,
    ],
    ["(foo)[5m]", "1:6: parse error: ranges only allowed for vector selectors"],
    ["foo offset 5m [1m]", "1:15: parse error: no offset modifiers allowed before range"],
    ["foo @ 5 [1m]", "1:9: parse error: no @ modifiers allowed before range"],
    [
      "foo[5m][10m:]",
      "1:1: parse error: subquery is only allowed on instant vector, got matrix instead",
    ],
    ["foo[5m", "1:7: parse error: unclosed left bracket"],
    ["foo[]", `1:5: parse error: unexpected "]" in subquery selector, expected number or duration`],
    [
      "foo[5m 1m]",
      `1:8: parse error: unexpected duration "1m" in subquery or range, expected ":" or "]"`,
    ],
    ["foo[5m3y]", `1:5: parse error: bad number or duration syntax: "5m3"`],
    ["foo[1.5h]", `1:5: parse error: not a valid duration string: "1.5h"`],
    [
      "foo offset",
      "1:11: parse error: unexpected end of input in offset, expected number or duration",
    ],
    ["foo @ bar", `1:7: parse error: unexpected identifier "bar" in @, expected timestamp`],
    ["foo @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"],
    ["1 + bool 2", "1:3: parse error: bool modifier can only be used on comparison operators"],
    ["foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators"],
    ["1 + on(a) 2", "1:1: parse error: vector matching only allowed between instant vectors"],
    ["a and on(x) group_left b", `1:1: parse error: no grouping allowed for "and" operation`],
    [
      "a * on(x) group_left(x) b",
      `1:3: parse error: label "x" must not occur in ON and GROUP clause at once`,
    ],
    [
      "rate(x[5m]) + y[5m]",
      "1:15: parse error: binary expression must contain only scalar and instant vector types",
    ],
    ["a * group_left b", "1:5: parse error: unexpected <group_left>"],
    [`"unterminated`, "1:1: parse error: unterminated quoted string"],
    ["`raw", "1:1: parse error: unterminated raw string"],
    [`"\\q"`, "1:1: parse error: unknown escape sequence U+0071 'q'"],
    ["foo x", `1:5: parse error: unexpected identifier "x"`],
    [
      "sum(x) offset 5m",
      "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
    ],
    [
      "x[2024-01-15T11:00:00Z:2024-01-15T10:00:00Z]",
      "1:3: parse error: end of absolute range must be after its start",
    ],
    [
      "(x)[2024-01-15T10:00:00Z:2024-01-15T11:00:00Z]",
      "1:4: parse error: ranges only allowed for vector selectors",
    ],
    ["foo\n  + bar{", "2:9: parse error: unexpected end of input inside braces"],
  ];
  for (const [input, want] of cases) {
    assert.throws(() => parseExpr(input), (e: unknown) => {
      assert.ok(e instanceof PromQLParseError, `${input}: ${e}`);
      assert.ok(e instanceof SyntaxError);
      assert.equal(e.message, want, JSON.stringify(input));
      return true;
    });
  }
});

Deno.test("PromQLParseError carries line, column and the position range", () => {
  try {
    parseExpr("sum(\n  rate(foo)\n)");
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof PromQLParseError);
    assert.equal(e.line, 2);
    assert.equal(e.column, 8);
    assert.deepEqual(e.position, { start: 12, end: 15 });
    assert.equal(
      e.detail,
      `expected type range vector in call to function "rate", got instant vector`,
    );
  }
});
