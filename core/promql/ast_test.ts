import assert from "node:assert/strict";
import { FUNCTIONS, valueTypeOf } from "./ast.ts";
import { parseExpr } from "./parser.ts";

Deno.test("valueTypeOf() gives the type each expression evaluates to", () => {
  const cases: [string, string][] = [
    ["1", "scalar"],
    [`"s"`, "string"],
    ["foo", "vector"],
    ["foo[5m]", "matrix"],
    ["foo[5m:1m]", "matrix"],
    ["rate(foo[5m])", "vector"],
    ["time()", "scalar"],
    ["scalar(foo)", "scalar"],
    ["sum(foo)", "vector"],
    ["1 + 2", "scalar"],
    ["foo + 2", "vector"],
    ["-(1)", "scalar"],
    ["(foo)", "vector"],
  ];
  for (const [input, want] of cases) assert.equal(valueTypeOf(parseExpr(input)), want, input);
});

Deno.test("FUNCTIONS lists every function the product needs", () => {
  const needed = [
    "rate irate increase delta idelta deriv predict_linear resets changes",
    "avg_over_time min_over_time max_over_time sum_over_time count_over_time",
    "stddev_over_time stdvar_over_time quantile_over_time last_over_time present_over_time",
    "mad_over_time absent absent_over_time histogram_quantile histogram_count histogram_sum",
    "histogram_avg histogram_fraction histogram_stddev histogram_stdvar label_replace label_join",
    "abs ceil floor round clamp clamp_min clamp_max exp ln log2 log10 sqrt sgn",
    "acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad pi",
    "scalar vector time timestamp minute hour day_of_week day_of_month day_of_year",
    "days_in_month month year sort sort_desc sort_by_label sort_by_label_desc",
    "double_exponential_smoothing info",
  ].join(" ").split(" ");
  for (const f of needed) assert.ok(Object.hasOwn(FUNCTIONS, f), f);
  assert.ok(!Object.hasOwn(FUNCTIONS, "holt_winters"), "renamed in Prometheus 3");
});
