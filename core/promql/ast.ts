/**
 * The PromQL abstract syntax tree, modelled on Prometheus's `promql/parser/ast.go`.
 *
 * Every node is a plain object tagged by `type` and carries `pos`, the character
 * offsets of its text in the query. Times are milliseconds; `offset` may be
 * negative. Matchers are compiled `core/model` matchers (RE2, fully anchored).
 *
 * @module
 */
import type { Matcher } from "../model/mod.ts";

/** A node with its fields made writable, for the parser's fixes in place. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The four value types of PromQL expressions. */
export type ValueType = "scalar" | "vector" | "matrix" | "string";

/** Character offsets `[start, end)` of a node's text in the query. */
export interface PosRange {
  readonly start: number;
  readonly end: number;
}

/** The `@` modifier: a time in ms, or the query's start/end. */
export type AtModifier = number | "start" | "end";

/** A float literal: `1`, `0x1f`, `1e3`, `Inf`, `NaN`, or a duration used as a number (`5m` = 300). */
export interface NumberLiteral {
  readonly type: "NumberLiteral";
  /** The value; a duration literal's value is in seconds, as in Prometheus. */
  readonly value: number;
  /** True when written as a duration (`5m`), so the printer writes it back that way. */
  readonly duration?: boolean;
  readonly pos: PosRange;
}

/** A string literal with escapes already resolved. */
export interface StringLiteral {
  readonly type: "StringLiteral";
  readonly value: string;
  readonly pos: PosRange;
}

/** An instant vector selector: `name{l="v"} offset 5m @ 123`. */
export interface VectorSelector {
  readonly type: "VectorSelector";
  /**
   * The metric name when written before the braces (`foo{...}`). A quoted name inside
   * the braces (`{"my.metric"}`) is only a `__name__` matcher, as in Prometheus.
   */
  readonly name?: string;
  /** All matchers; when `name` is set, the first is `__name__="<name>"`. */
  readonly matchers: readonly Matcher[];
  /** Offset in ms (0 when absent; may be negative). */
  readonly offset: number;
  /** The `@` modifier, when present. */
  readonly at?: AtModifier;
  readonly pos: PosRange;
}

/** A range vector selector: `sel[5m]`, or the Perch extension `sel[t1:t2]` (RFC 3339). */
export interface MatrixSelector {
  readonly type: "MatrixSelector";
  /** The selector; `offset` and `@` live there, as in Prometheus. */
  readonly vectorSelector: VectorSelector;
  /** Range in ms; for an absolute range, `end - start`. */
  readonly range: number;
  /**
   * Perch extension: an absolute time range in ms from the RFC 3339 times in
   * `metric[2024-01-15T10:00:00Z:2024-01-15T11:00:00Z]`. It selects the samples with
   * `start <= t <= end` whatever the evaluation time; `offset` and `@` are not
   * meaningful with it (the parser accepts them as for any range).
   */
  readonly absolute?: { readonly start: number; readonly end: number };
  readonly pos: PosRange;
}

/** A subquery: `expr[range:step] offset o @ t`; `step` 0 means the default step. */
export interface SubqueryExpr {
  readonly type: "SubqueryExpr";
  readonly expr: Expr;
  readonly range: number;
  readonly step: number;
  readonly offset: number;
  readonly at?: AtModifier;
  readonly pos: PosRange;
}

/** A function call: `rate(x[5m])`. */
export interface Call {
  readonly type: "Call";
  /** Function name, a key of {@linkcode FUNCTIONS}. */
  readonly func: string;
  readonly args: readonly Expr[];
  readonly pos: PosRange;
}

/** Aggregation operators, in the order Prometheus's grammar lists them. */
const AGGREGATE_OP_LIST = [
  "sum",
  "avg",
  "count",
  "min",
  "max",
  "group",
  "stddev",
  "stdvar",
  "topk",
  "bottomk",
  "count_values",
  "quantile",
  "limitk",
  "limit_ratio",
] as const;

/** Aggregation operators. */
export type AggregateOp = typeof AGGREGATE_OP_LIST[number];

/** Aggregation operators in a set, for lookups (the lexer's aggregation keywords too). */
export const AGGREGATE_OPS: ReadonlySet<string> = new Set<AggregateOp>(AGGREGATE_OP_LIST);

/** Aggregations that take a parameter before the expression, with its type. */
export const AGGREGATE_PARAM_TYPES: Readonly<Partial<Record<AggregateOp, ValueType>>> = {
  topk: "scalar",
  bottomk: "scalar",
  quantile: "scalar",
  limitk: "scalar",
  limit_ratio: "scalar",
  count_values: "string",
};

/** An aggregation: `sum by (job) (x)`, `topk(3, x)`. */
export interface AggregateExpr {
  readonly type: "AggregateExpr";
  readonly op: AggregateOp;
  readonly expr: Expr;
  /** The parameter of topk, bottomk, quantile, count_values, limitk, limit_ratio. */
  readonly param?: Expr;
  /** Labels of `by (...)` or `without (...)`, in the written order. */
  readonly grouping: readonly string[];
  /** True for `without`. */
  readonly without: boolean;
  readonly pos: PosRange;
}

/** Binary operators, from lowest to highest precedence group. */
export type BinaryOp =
  | "or"
  | "and"
  | "unless"
  | "=="
  | "!="
  | "<="
  | "<"
  | ">="
  | ">"
  | "</"
  | ">/"
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "atan2"
  | "^";

/** Vector matching cardinality. */
export type VectorMatchCardinality = "one-to-one" | "many-to-one" | "one-to-many" | "many-to-many";

/** How two vectors are matched in a binary operation. */
export interface VectorMatching {
  readonly card: VectorMatchCardinality;
  /** True for `on (...)`, false for `ignoring (...)` or no modifier. */
  readonly on: boolean;
  /** Labels of `on`/`ignoring`. */
  readonly labels: readonly string[];
  /** Labels of `group_left(...)`/`group_right(...)`. */
  readonly include: readonly string[];
}

/** A binary operation. `matching` is set when both sides are vectors. */
export interface BinaryExpr {
  readonly type: "BinaryExpr";
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  /** True with the `bool` modifier on a comparison. */
  readonly returnBool: boolean;
  readonly matching?: VectorMatching;
  readonly pos: PosRange;
}

/** Unary minus or plus. */
export interface UnaryExpr {
  readonly type: "UnaryExpr";
  readonly op: "-" | "+";
  readonly expr: Expr;
  readonly pos: PosRange;
}

/** A parenthesised expression (kept so the printer reproduces the user's grouping). */
export interface ParenExpr {
  readonly type: "ParenExpr";
  readonly expr: Expr;
  readonly pos: PosRange;
}

/** Any PromQL expression. */
export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | Call
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr;

/** Signature of a PromQL function. */
export interface FunctionSignature {
  /** Argument types; with `variadic` > 0 the last `variadic` are optional. */
  readonly argTypes: readonly ValueType[];
  /**
   * 0: exactly `argTypes.length` args; n > 0: up to n of the trailing args may be
   * left out; -1: the last type repeats any number of times.
   */
  readonly variadic: number;
  readonly returnType: ValueType;
  /** Experimental in Prometheus (behind a feature flag there; always enabled here). */
  readonly experimental?: boolean;
}

function sig(
  argTypes: ValueType[],
  returnType: ValueType = "vector",
  variadic = 0,
  experimental = false,
): FunctionSignature {
  return experimental ? { argTypes, variadic, returnType, experimental } : {
    argTypes,
    variadic,
    returnType,
  };
}

const V: ValueType = "vector";
const M: ValueType = "matrix";
const S: ValueType = "scalar";
const STR: ValueType = "string";

/**
 * Every function Prometheus 3 knows, with its signature. `holt_winters` was renamed
 * to `double_exponential_smoothing` in Prometheus 3 and is not accepted.
 */
export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = {
  // Math on instant vectors.
  abs: sig([V]),
  ceil: sig([V]),
  floor: sig([V]),
  exp: sig([V]),
  ln: sig([V]),
  log2: sig([V]),
  log10: sig([V]),
  sqrt: sig([V]),
  sgn: sig([V]),
  round: sig([V, S], V, 1),
  clamp: sig([V, S, S]),
  clamp_min: sig([V, S]),
  clamp_max: sig([V, S]),
  // Trigonometry.
  acos: sig([V]),
  acosh: sig([V]),
  asin: sig([V]),
  asinh: sig([V]),
  atan: sig([V]),
  atanh: sig([V]),
  cos: sig([V]),
  cosh: sig([V]),
  sin: sig([V]),
  sinh: sig([V]),
  tan: sig([V]),
  tanh: sig([V]),
  deg: sig([V]),
  rad: sig([V]),
  pi: sig([], S),
  // Counters and gauges over ranges.
  rate: sig([M]),
  irate: sig([M]),
  increase: sig([M]),
  delta: sig([M]),
  idelta: sig([M]),
  deriv: sig([M]),
  predict_linear: sig([M, S]),
  resets: sig([M]),
  changes: sig([M]),
  double_exponential_smoothing: sig([M, S, S], V, 0, true),
  // *_over_time.
  avg_over_time: sig([M]),
  min_over_time: sig([M]),
  max_over_time: sig([M]),
  sum_over_time: sig([M]),
  count_over_time: sig([M]),
  stddev_over_time: sig([M]),
  stdvar_over_time: sig([M]),
  last_over_time: sig([M]),
  present_over_time: sig([M]),
  quantile_over_time: sig([S, M]),
  absent_over_time: sig([M]),
  mad_over_time: sig([M], V, 0, true),
  first_over_time: sig([M], V, 0, true),
  ts_of_first_over_time: sig([M], V, 0, true),
  ts_of_last_over_time: sig([M], V, 0, true),
  ts_of_min_over_time: sig([M], V, 0, true),
  ts_of_max_over_time: sig([M], V, 0, true),
  integral: sig([M, S], V, 1, true),
  // Presence.
  absent: sig([V]),
  // Histograms (the histogram_* family other than histogram_quantile needs native histograms).
  histogram_quantile: sig([S, V]),
  histogram_count: sig([V]),
  histogram_sum: sig([V]),
  histogram_avg: sig([V]),
  histogram_fraction: sig([S, S, V]),
  histogram_stddev: sig([V]),
  histogram_stdvar: sig([V]),
  histogram_quantiles: sig([V, STR, S, S], V, 9, true),
  // Labels.
  label_replace: sig([V, STR, STR, STR, STR]),
  label_join: sig([V, STR, STR, STR], V, -1),
  // Types and time.
  scalar: sig([V], S),
  vector: sig([S]),
  time: sig([], S),
  timestamp: sig([V]),
  minute: sig([V], V, 1),
  hour: sig([V], V, 1),
  day_of_week: sig([V], V, 1),
  day_of_month: sig([V], V, 1),
  day_of_year: sig([V], V, 1),
  days_in_month: sig([V], V, 1),
  month: sig([V], V, 1),
  year: sig([V], V, 1),
  // Sorting.
  sort: sig([V]),
  sort_desc: sig([V]),
  sort_by_label: sig([V, STR], V, -1, true),
  sort_by_label_desc: sig([V, STR], V, -1, true),
  // Experimental: the query's own times (Prometheus 3 duration-expression functions).
  start: sig([], S, 0, true),
  end: sig([], S, 0, true),
  step: sig([], S, 0, true),
  range: sig([], S, 0, true),
  min_of: sig([S, S], S, 0, true),
  max_of: sig([S, S], S, 0, true),
  // Experimental: info metadata join.
  info: sig([V, V], V, 1, true),
};

/** The value type an expression evaluates to. */
export function valueTypeOf(e: Expr): ValueType {
  switch (e.type) {
    case "NumberLiteral":
      return "scalar";
    case "StringLiteral":
      return "string";
    case "VectorSelector":
    case "AggregateExpr":
      return "vector";
    case "MatrixSelector":
    case "SubqueryExpr":
      return "matrix";
    case "Call": {
      const f = FUNCTIONS[e.func];
      if (!f) throw new Error(`BUG: unknown function ${e.func} in AST`);
      return f.returnType;
    }
    case "BinaryExpr":
      return valueTypeOf(e.lhs) === "scalar" && valueTypeOf(e.rhs) === "scalar"
        ? "scalar"
        : "vector";
    case "UnaryExpr":
    case "ParenExpr":
      return valueTypeOf(e.expr);
  }
}

/** True for the comparison operators (`==`, `!=`, `<`, `<=`, `>`, `>=`). */
export function isComparisonOp(op: BinaryOp): boolean {
  return op === "==" || op === "!=" || op === "<" || op === "<=" || op === ">" ||
    op === ">=";
}

/** True for the native histogram trim operators `</` (keep below) and `>/` (keep above). */
export function isTrimOp(op: BinaryOp): boolean {
  return op === "</" || op === ">/";
}

/** True for the set operators (`and`, `or`, `unless`). */
export function isSetOp(op: BinaryOp): boolean {
  return op === "and" || op === "or" || op === "unless";
}
