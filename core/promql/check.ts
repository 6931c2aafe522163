/**
 * The checks Prometheus runs on a parsed tree (`checkAST` in its
 * `parser/parse.go`): the value types of operands and arguments, vector
 * matching, selectors; plus a bound on how deeply the tree nests.
 *
 * @module
 */
import { goQuote, METRIC_NAME } from "../model/mod.ts";
import {
  AGGREGATE_PARAM_TYPES,
  type BinaryExpr,
  type Expr,
  FUNCTIONS,
  isComparisonOp,
  isSetOp,
  type Mutable,
  type PosRange,
  type ValueType,
  type VectorSelector,
} from "./ast.ts";
import { PromQLParseError } from "./parse_error.ts";

/**
 * How deeply an expression may nest (parentheses, function arguments,
 * operands of operators). Far beyond any written query; keeps every
 * recursive walk over the tree well inside the stack.
 */
export const MAX_NESTING = 500;
/** The error when a query nests deeper than {@linkcode MAX_NESTING}. */
export const NESTING_MESSAGE = `expression nests too deeply (more than ${MAX_NESTING} levels)`;

/** The depth of an expression tree, walked without recursion. */
function astDepth(root: Expr): number {
  let max = 0;
  const stack: [Expr, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [e, d] = stack.pop()!;
    if (d > max) max = d;
    switch (e.type) {
      case "ParenExpr":
      case "UnaryExpr":
      case "SubqueryExpr":
        stack.push([e.expr, d + 1]);
        break;
      case "BinaryExpr":
        stack.push([e.lhs, d + 1], [e.rhs, d + 1]);
        break;
      case "Call":
        for (const a of e.args) stack.push([a, d + 1]);
        break;
      case "AggregateExpr":
        stack.push([e.expr, d + 1]);
        if (e.param) stack.push([e.param, d + 1]);
        break;
      case "MatrixSelector":
        stack.push([e.vectorSelector, d + 1]);
        break;
    }
  }
  return max;
}

/** Throws when `root` nests deeper than {@linkcode MAX_NESTING}. */
export function checkNesting(input: string, root: Expr): void {
  if (astDepth(root) > MAX_NESTING) {
    throw new PromQLParseError(input, root.pos, NESTING_MESSAGE);
  }
}

/** Value types as Prometheus's messages name them. */
const DOCUMENTED: Record<ValueType, string> = {
  scalar: "scalar",
  vector: "instant vector",
  matrix: "range vector",
  string: "string",
};

/** Type-checks a parsed tree, throwing the first error Prometheus would report. */
export function checkAST(input: string, root: Expr): void {
  const fail = (pos: PosRange, msg: string): never => {
    throw new PromQLParseError(input, pos, msg);
  };
  const expectType = (e: Expr, want: ValueType, context: string) => {
    const t = check(e);
    if (t !== want) {
      fail(e.pos, `expected type ${DOCUMENTED[want]} in ${context}, got ${DOCUMENTED[t]}`);
    }
  };
  const check = (e: Expr): ValueType => {
    switch (e.type) {
      case "NumberLiteral":
        return "scalar";
      case "StringLiteral":
        return "string";
      case "ParenExpr":
        return check(e.expr);
      case "MatrixSelector":
        check(e.vectorSelector);
        return "matrix";
      case "VectorSelector":
        checkSelector(e, fail);
        return "vector";
      case "SubqueryExpr": {
        const t = check(e.expr);
        if (t !== "vector") {
          fail(e.pos, `subquery is only allowed on instant vector, got ${t} instead`);
        }
        return "matrix";
      }
      case "UnaryExpr": {
        const t = check(e.expr);
        if (t !== "scalar" && t !== "vector") {
          fail(
            e.pos,
            `unary expression only allowed on expressions of type scalar or instant vector, got ${
              goQuote(DOCUMENTED[t])
            }`,
          );
        }
        return t;
      }
      case "AggregateExpr": {
        expectType(e.expr, "vector", "aggregation expression");
        const pt = AGGREGATE_PARAM_TYPES[e.op];
        if (pt && e.param) expectType(e.param, pt, "aggregation parameter");
        return "vector";
      }
      case "Call":
        return checkCall(e, check, fail);
      case "BinaryExpr":
        return checkBinary(input, e, check, fail);
    }
  };
  check(root);
}

/** Throws the parse error `msg` at `pos`. */
type Fail = (pos: PosRange, msg: string) => never;

function checkSelector(vs: VectorSelector, fail: Fail, bypassEmptyCheck = false): void {
  if (vs.name !== undefined) {
    for (const m of vs.matchers.slice(1)) {
      if (m.name === METRIC_NAME) {
        fail(
          vs.pos,
          `metric name must not be set twice: ${goQuote(vs.name)} or ${goQuote(m.value)}`,
        );
      }
    }
    return;
  }
  if (!bypassEmptyCheck && !vs.matchers.some((m) => !m.matches(""))) {
    fail(vs.pos, "vector selector must contain at least one non-empty matcher");
  }
}

function checkCall(
  e: Extract<Expr, { type: "Call" }>,
  check: (e: Expr) => ValueType,
  fail: Fail,
): ValueType {
  const f = FUNCTIONS[e.func];
  const n = f.argTypes.length;
  const name = goQuote(e.func);
  if (f.variadic === 0) {
    if (n !== e.args.length) {
      fail(e.pos, `expected ${n} argument(s) in call to ${name}, got ${e.args.length}`);
    }
  } else if (n - 1 > e.args.length) {
    fail(e.pos, `expected at least ${n - 1} argument(s) in call to ${name}, got ${e.args.length}`);
  } else if (f.variadic > 0 && n - 1 + f.variadic < e.args.length) {
    fail(
      e.pos,
      `expected at most ${n - 1 + f.variadic} argument(s) in call to ${name}, got ${e.args.length}`,
    );
  }
  e.args.forEach((arg, i) => {
    if (i >= n) {
      if (f.variadic === 0) return;
      i = n - 1;
    }
    if (e.func === "info" && i === 1) {
      // info()'s second argument is a label-only selector, which may match empty.
      if (arg.type !== "VectorSelector") fail(arg.pos, "expected label selectors only");
      else if (arg.name !== undefined) {
        fail(arg.pos, "expected label selectors only, got vector selector instead");
      } else return checkSelector(arg, fail, true);
    }
    const t = check(arg);
    if (t !== f.argTypes[i]) {
      fail(
        arg.pos,
        `expected type ${DOCUMENTED[f.argTypes[i]]} in call to function ${name}, got ${
          DOCUMENTED[t]
        }`,
      );
    }
  });
  return f.returnType;
}

function checkBinary(
  input: string,
  e: Mutable<BinaryExpr>,
  check: (e: Expr) => ValueType,
  fail: Fail,
): ValueType {
  const lt = check(e.lhs);
  const rt = check(e.rhs);
  const opRange = (): PosRange => {
    let start = e.lhs.pos.end, end = e.rhs.pos.start - 1;
    while (start < end && /\s/.test(input[start])) start++;
    while (end > start && /\s/.test(input[end])) end--;
    return { start, end };
  };
  const m = e.matching as Mutable<NonNullable<BinaryExpr["matching"]>>;
  const op = `"${e.op}"`;
  if (e.returnBool && !isComparisonOp(e.op)) {
    fail(opRange(), "bool modifier can only be used on comparison operators");
  }
  if (isComparisonOp(e.op) && !e.returnBool && lt === "scalar" && rt === "scalar") {
    fail(opRange(), "comparisons between scalars must use BOOL modifier");
  }
  if (isSetOp(e.op) && m.card === "one-to-one") m.card = "many-to-many";
  if (m.on) {
    for (const l of m.labels) {
      if (m.include.includes(l)) {
        fail(opRange(), `label ${goQuote(l)} must not occur in ON and GROUP clause at once`);
      }
    }
  }
  if (lt !== "scalar" && lt !== "vector") {
    fail(e.lhs.pos, "binary expression must contain only scalar and instant vector types");
  }
  if (rt !== "scalar" && rt !== "vector") {
    fail(e.rhs.pos, "binary expression must contain only scalar and instant vector types");
  }
  if (lt !== "vector" || rt !== "vector") {
    if (m.labels.length > 0) fail(e.pos, "vector matching only allowed between instant vectors");
    e.matching = undefined;
  } else if (isSetOp(e.op)) {
    if (m.card === "one-to-many" || m.card === "many-to-one") {
      fail(e.pos, `no grouping allowed for ${op} operation`);
    }
    if (m.card !== "many-to-many") fail(e.pos, "set operations must always be many-to-many");
  }
  if ((lt === "scalar" || rt === "scalar") && isSetOp(e.op)) {
    fail(e.pos, `set operator ${op} not allowed in binary scalar expression`);
  }
  return lt === "scalar" && rt === "scalar" ? "scalar" : "vector";
}
