/**
 * Planning a query before anything is fetched: the time range each selector
 * needs (offset, `@`, ranges, subqueries, lookback) and the step grids the
 * evaluation will walk, costed against the limits.
 *
 * @module
 */
import { unwrap } from "./_call_util.ts";
import type { AtModifier, Expr, VectorSelector } from "./ast.ts";
import { QueryTooManyStepsError } from "./errors.ts";
import { formatDuration } from "./literals.ts";

/**
 * Walks the step grids a query evaluates on (the outer one, and one per
 * subquery, computed exactly as {@linkcode Evaluator.evalSubquery} will) and
 * returns the number of node-steps: each node evaluated on a grid of n steps
 * costs n. Throws {@linkcode QueryTooManyStepsError} for a subquery grid over
 * `maxSteps`, before anything is allocated.
 */
export function planGrids(
  expr: Expr,
  grid: { start: number; end: number; last: number; steps: number },
  opts: { maxSteps: number; defaultSubqueryStep: number },
): number {
  const { start, end } = grid;
  let total = 0;
  const walk = (e: Expr, first: number, last: number, n: number): void => {
    if (e.type === "ParenExpr") return walk(e.expr, first, last, n);
    total += n;
    switch (e.type) {
      case "SubqueryExpr": {
        const at = resolveAt(e.at, { start, end });
        const step = e.step > 0 ? e.step : opts.defaultSubqueryStep;
        const lo = (at ?? first) - e.offset - e.range;
        const hi = (at ?? last) - e.offset;
        let innerStart = step * Math.trunc(lo / step);
        if (innerStart <= lo) innerStart += step;
        const inner = innerStart > hi ? 0 : Math.floor((hi - innerStart) / step) + 1;
        if (inner > opts.maxSteps) {
          throw new QueryTooManyStepsError(
            inner,
            opts.maxSteps,
            `subquery [${formatDuration(e.range)}:${formatDuration(step)}]`,
          );
        }
        // The subquery's output (a matrix) is counted by the samples it holds.
        if (inner > 0) walk(e.expr, innerStart, innerStart + (inner - 1) * step, inner);
        return;
      }
      case "Call":
        for (const a of e.args) walk(a, first, last, n);
        return;
      case "AggregateExpr":
        if (e.param) walk(e.param, first, last, n);
        return walk(e.expr, first, last, n);
      case "BinaryExpr":
        walk(e.lhs, first, last, n);
        return walk(e.rhs, first, last, n);
      case "UnaryExpr":
        return walk(e.expr, first, last, n);
      default:
        return;
    }
  };
  walk(expr, start, grid.last, grid.steps);
  return total;
}

/** What {@linkcode collectRanges} fills in. */
export interface CollectCtx {
  start: number;
  end: number;
  lookbackDelta: number;
  ranges: Map<VectorSelector, { minT: number; maxT: number }>;
  /** The function a range selector feeds, passed to storage as a hint. */
  funcs: Map<VectorSelector, string>;
}

/** `@` resolved to ms (`start()`/`end()` to the query's bounds). */
export function resolveAt(
  at: AtModifier | undefined,
  c: { start: number; end: number },
): number | undefined {
  if (at === undefined) return undefined;
  if (at === "start") return c.start;
  if (at === "end") return c.end;
  return at;
}

function addRange(c: CollectCtx, vs: VectorSelector, minT: number, maxT: number): void {
  const r = c.ranges.get(vs);
  if (r) {
    r.minT = Math.min(r.minT, minT);
    r.maxT = Math.max(r.maxT, maxT);
  } else c.ranges.set(vs, { minT, maxT });
}

/** Records the time range every selector of `e` needs, evaluated over [s, en]. */
export function collectRanges(e: Expr, s: number, en: number, c: CollectCtx): void {
  switch (e.type) {
    case "NumberLiteral":
    case "StringLiteral":
      return;
    case "VectorSelector": {
      const at = resolveAt(e.at, c);
      const a = (at ?? s) - e.offset, b = (at ?? en) - e.offset;
      addRange(c, e, a - c.lookbackDelta, b);
      return;
    }
    case "MatrixSelector": {
      const vs = e.vectorSelector;
      if (e.absolute) {
        addRange(c, vs, e.absolute.start - vs.offset, e.absolute.end - vs.offset);
        return;
      }
      const at = resolveAt(vs.at, c);
      const a = (at ?? s) - vs.offset, b = (at ?? en) - vs.offset;
      addRange(c, vs, a - e.range, b);
      return;
    }
    case "SubqueryExpr": {
      const at = resolveAt(e.at, c);
      const a = (at ?? s) - e.offset - e.range, b = (at ?? en) - e.offset;
      collectRanges(e.expr, a, b, c);
      return;
    }
    case "Call":
      for (const a of e.args) {
        const u = unwrap(a);
        if (u.type === "MatrixSelector") c.funcs.set(u.vectorSelector, e.func);
        collectRanges(a, s, en, c);
      }
      return;
    case "AggregateExpr":
      if (e.param) collectRanges(e.param, s, en, c);
      collectRanges(e.expr, s, en, c);
      return;
    case "BinaryExpr":
      collectRanges(e.lhs, s, en, c);
      collectRanges(e.rhs, s, en, c);
      return;
    case "UnaryExpr":
    case "ParenExpr":
      collectRanges(e.expr, s, en, c);
      return;
  }
}
