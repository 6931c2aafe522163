/**
 * The PromQL engine: instant and range queries over a {@linkcode Querier}.
 *
 * A query runs in two phases. First the AST is walked to find every selector
 * and the time range it needs (offset, `@`, ranges, subqueries, lookback);
 * all data is fetched from the querier concurrently. Then the expression is
 * evaluated synchronously over the fetched arrays, every node over all steps
 * at once (as Prometheus's `rangeEval`), so a range query evaluates every
 * step exactly as an instant query at that time would.
 *
 * @example
 * ```ts
 * const engine = createEngine({ querier });
 * const { result } = await engine.instantQuery("sum by (job) (rate(http_requests_total[5m]))", Date.now());
 * ```
 *
 * @module
 */
import {
  compareLabels,
  type Labels,
  METRIC_NAME,
  type Querier,
  type SeriesData,
} from "../model/mod.ts";
import {
  aggregate,
  aggregateColumns,
  aggregateK,
  COLUMN_AGG_OPS,
  countValues,
} from "./aggregations.ts";
import type {
  AggregateExpr,
  AtModifier,
  BinaryExpr,
  Expr,
  MatrixSelector,
  SubqueryExpr,
  VectorSelector,
} from "./ast.ts";
import { isSetOp } from "./ast.ts";
import { scalarBinop, setOp, vectorBinop, vectorScalarBinop } from "./binary.ts";
import {
  QueryExecutionError,
  QueryTimeoutError,
  QueryTooManySamplesError,
  QueryTooManySeriesError,
  QueryTooManyStepsError,
} from "./errors.ts";
import {
  LOADED_SAMPLE_BYTES,
  LOADED_SERIES_BYTES,
  MemoryPool,
  QueryBudget,
  SAMPLE_BYTES,
  STEP_BYTES,
} from "./budget.ts";
import { formatDuration } from "./literals.ts";
import { evalCall } from "./eval_call.ts";
import { parseExpr } from "./parser.ts";
import {
  ColumnVector,
  type ESample,
  type EvalValue,
  keyOf,
  type MatrixValue,
  MAX_COLUMN_CELLS,
  type RangeSeries,
  type Sample,
  type Series,
  type StepScalars,
  type StepVectors,
  type Value,
  type VectorColumns,
} from "./value.ts";

/** Engine settings. */
export interface EngineOptions {
  /** Where series come from. */
  readonly querier: Querier;
  /** How far back an instant selector looks for a sample, ms. @default 300000 */
  readonly lookbackDelta?: number;
  /** Query timeout, ms. @default 120000 */
  readonly timeoutMs?: number;
  /**
   * Most samples a query may hold at once, counted as Prometheus does: the
   * running sum of every intermediate result still needed (a node's inputs
   * are released once it has its output) plus the window a range function is
   * reading. @default 50000000
   */
  readonly maxSamples?: number;
  /** Most series a query may select. @default Infinity */
  readonly maxSeries?: number;
  /** Step of subqueries written without one (`x[1h:]`), ms. @default 60000 */
  readonly defaultSubqueryStep?: number;
  /**
   * Most steps of one subquery's evaluation grid (over the whole query
   * range), checked before anything is fetched. @default 100000
   */
  readonly maxSteps?: number;
  /**
   * The memory budget shared by every query of the process
   * (`query.max_memory`); a query reserves its estimate from it as it grows.
   * @default an unlimited pool of its own
   */
  readonly memory?: MemoryPool;
  /**
   * Prometheus's `promql-delayed-name-removal` feature: `__name__` is
   * dropped only at the end of evaluation. Off, as in Prometheus by default:
   * functions and operators drop it from their output at once and refuse
   * results whose series then share a label set. Prometheus's own test
   * scripts run with it on. @default false
   */
  readonly delayedNameRemoval?: boolean;
}

/** The most points a range query may have per series, as Prometheus. */
export const MAX_RANGE_POINTS = 11_000;

/** Query statistics. */
export interface QueryStats {
  /** Samples read while evaluating. */
  samples: number;
  /**
   * The most samples held at once (Prometheus's `peakSamples`): every live
   * intermediate result plus the range window being read.
   */
  peakSamples: number;
  /** Series fetched from storage. */
  series: number;
  /**
   * Wall time in seconds of the phases, as Prometheus's `stats.timings`:
   * fetching from storage, evaluating, shaping and sorting the result.
   * Absent when the result did not come from an evaluation.
   */
  timings?: { preparation: number; innerEval: number; resultSort: number };
  /** The largest memory estimate of the query, bytes (see budget.ts). */
  peakBytes: number;
}

/** What a query returns. */
export interface QueryResult {
  readonly result: Value;
  /** `PromQL warning: …` annotations, each ending with the `(line:col)` of the expression. */
  readonly warnings: string[];
  /** `PromQL info: …` annotations. */
  readonly infos: string[];
  readonly stats: QueryStats;
}

/** A PromQL engine bound to a querier. */
export interface Engine {
  /** The settings that change answers (for result caches to key on). */
  readonly settings: { readonly lookbackDelta: number; readonly defaultSubqueryStep: number };
  /** Evaluates `expr` at time `t` (ms). */
  instantQuery(expr: Expr | string, t: number): Promise<QueryResult>;
  /** Evaluates `expr` at every step from `start` to `end` (ms, inclusive). */
  rangeQuery(expr: Expr | string, start: number, end: number, step: number): Promise<QueryResult>;
}

/** Creates an engine. Errors thrown are {@linkcode QueryError}s or parse errors. */
export function createEngine(opts: EngineOptions): Engine {
  const resolved: ResolvedOptions = {
    querier: opts.querier,
    lookbackDelta: opts.lookbackDelta ?? 5 * 60_000,
    timeoutMs: opts.timeoutMs ?? 120_000,
    maxSamples: opts.maxSamples ?? 50_000_000,
    maxSeries: opts.maxSeries ?? Infinity,
    defaultSubqueryStep: opts.defaultSubqueryStep ?? 60_000,
    maxSteps: opts.maxSteps ?? 100_000,
    memory: opts.memory ?? new MemoryPool(0),
    delayedNameRemoval: opts.delayedNameRemoval ?? false,
  };
  return {
    settings: {
      lookbackDelta: resolved.lookbackDelta,
      defaultSubqueryStep: resolved.defaultSubqueryStep,
    },
    async instantQuery(expr, t) {
      return await runQuery(
        resolved,
        typeof expr === "string" ? parseExpr(expr) : expr,
        t,
        t,
        0,
        true,
      );
    },
    async rangeQuery(expr, start, end, step) {
      if (!(step > 0)) {
        throw new QueryExecutionError(
          "zero or negative query resolution step widths are not accepted",
        );
      }
      if (end < start) throw new QueryExecutionError("end timestamp must not be before start time");
      if ((end - start) / step > MAX_RANGE_POINTS) {
        throw new QueryExecutionError(
          "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        );
      }
      const e = typeof expr === "string" ? parseExpr(expr) : expr;
      const type = unwrapParens(e).type;
      if (type === "MatrixSelector" || type === "SubqueryExpr") {
        throw new QueryExecutionError(
          `invalid expression type "range vector" for range query, must be Scalar or instant Vector`,
        );
      }
      return await runQuery(resolved, e, start, end, step, false);
    },
  };
}

interface ResolvedOptions {
  querier: Querier;
  lookbackDelta: number;
  timeoutMs: number;
  maxSamples: number;
  maxSeries: number;
  defaultSubqueryStep: number;
  maxSteps: number;
  memory: MemoryPool;
  delayedNameRemoval: boolean;
}

/** Fetched data for one selector. */
export interface SelData {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
  /** 1 where the sample is a staleness marker. */
  stale: Uint8Array;
  /** Samples without stale markers, built on first use by range selectors. */
  clean?: { t: Float64Array; v: Float64Array };
}

function unwrapParens(e: Expr): Expr {
  while (e.type === "ParenExpr") e = e.expr;
  return e;
}

async function runQuery(
  opts: ResolvedOptions,
  expr: Expr,
  start: number,
  end: number,
  step: number,
  instant: boolean,
): Promise<QueryResult> {
  const deadline = Date.now() + opts.timeoutMs;
  const t0 = performance.now();
  const steps = instant ? 1 : Math.floor((end - start) / step) + 1;
  // Cost the step grids before anything is fetched or allocated.
  const budget = new QueryBudget(opts.memory);
  const grid = { start, end, last: start + (steps - 1) * step, steps };
  const planBytes = planGrids(expr, grid, opts) * STEP_BYTES;
  const stats: QueryStats = { samples: 0, series: 0, peakSamples: 0, peakBytes: 0 };
  try {
    budget.need(planBytes);
    const ranges = new Map<VectorSelector, { minT: number; maxT: number }>();
    const funcs = new Map<VectorSelector, string>();
    collectRanges(expr, start, end, { start, end, opts, ranges, funcs });
    const data = new Map<VectorSelector, SelData[]>();
    const entries = [...ranges];
    // Storage reports every series it reads: series, memory and the deadline
    // are checked while reading, not after everything is in memory.
    let loadedBytes = 0;
    const onRead = (samples: number) => {
      if (++stats.series > opts.maxSeries) throw new QueryTooManySeriesError(opts.maxSeries);
      loadedBytes += LOADED_SERIES_BYTES + samples * LOADED_SAMPLE_BYTES;
      budget.need(planBytes + loadedBytes);
      if (Date.now() > deadline) throw new QueryTimeoutError(opts.timeoutMs, "query preparation");
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fetched = await Promise.race([
      Promise.all(
        entries.map(([vs, r]) =>
          opts.querier.select(vs.matchers, {
            minT: r.minT,
            maxT: r.maxT,
            step: step || undefined,
            func: funcs.get(vs),
            onRead,
          })
        ),
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new QueryTimeoutError(opts.timeoutMs, "query preparation")),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (Date.now() > deadline) throw new QueryTimeoutError(opts.timeoutMs, "query preparation");
    let series = 0;
    for (let i = 0; i < entries.length; i++) {
      const list = fetched[i]!;
      series += list.length;
      if (series > opts.maxSeries) throw new QueryTooManySeriesError(opts.maxSeries);
      data.set(entries[i]![0], list.map(toSelData));
    }
    stats.series = series;
    const ts = new Float64Array(steps);
    for (let i = 0; i < steps; i++) ts[i] = start + i * (step || 0);
    const ev = new Evaluator(opts, data, start, end, step, deadline, stats, {
      budget,
      base: planBytes + loadedBytes,
    });
    const top = unwrapParens(expr);
    let result: Value;
    const t1 = performance.now();
    let t2: number;
    if (instant && (top.type === "MatrixSelector" || top.type === "SubqueryExpr")) {
      const m = ev.eval(expr, ts) as MatrixValue;
      t2 = performance.now();
      result = { type: "matrix", series: matrixAt(m, start, ev) };
    } else {
      const val = ev.eval(expr, ts);
      t2 = performance.now();
      result = finish(val, ts, instant);
    }
    stats.timings = {
      preparation: (t1 - t0) / 1000,
      innerEval: (t2 - t1) / 1000,
      resultSort: (performance.now() - t2) / 1000,
    };
    return { result, warnings: [...ev.warnings], infos: [...ev.infos], stats };
  } finally {
    stats.peakBytes = budget.peak;
    budget.release();
  }
}

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

function toSelData(s: SeriesData): SelData {
  const n = s.v.length;
  const stale = new Uint8Array(n);
  // Check the bit pattern through a Uint32 view: JS numbers do not keep NaN payloads.
  const words = new Uint32Array(s.v.buffer, s.v.byteOffset, n * 2);
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const hiIdx = little ? 1 : 0, loIdx = little ? 0 : 1;
  for (let i = 0; i < n; i++) {
    if (words[2 * i + hiIdx] === 0x7ff00000 && words[2 * i + loIdx] === 2) stale[i] = 1;
  }
  return { labels: s.labels, t: s.t, v: s.v, stale };
}

interface CollectCtx {
  start: number;
  end: number;
  opts: ResolvedOptions;
  ranges: Map<VectorSelector, { minT: number; maxT: number }>;
  /** The function a range selector feeds, passed to storage as a hint. */
  funcs: Map<VectorSelector, string>;
}

function resolveAt(
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

function collectRanges(e: Expr, s: number, en: number, c: CollectCtx): void {
  switch (e.type) {
    case "NumberLiteral":
    case "StringLiteral":
      return;
    case "VectorSelector": {
      const at = resolveAt(e.at, c);
      const a = (at ?? s) - e.offset, b = (at ?? en) - e.offset;
      addRange(c, e, a - c.opts.lookbackDelta, b);
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
        const u = unwrapParens(a);
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

/** Formats the `(line:col)` of a node, as Prometheus's annotations do. */
export function posString(query: string | undefined, start: number): string {
  if (query === undefined) return `(1:${start + 1})`;
  let line = 1, col = 1;
  for (let i = 0; i < start && i < query.length; i++) {
    if (query[i] === "\n") {
      line++;
      col = 1;
    } else col++;
  }
  return `(${line}:${col})`;
}

/** The synchronous evaluator over fetched data. */
export class Evaluator {
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();
  #ticks = 0;
  /** Samples held by intermediate results still alive. */
  #held = 0;

  constructor(
    readonly opts: ResolvedOptions,
    readonly data: Map<VectorSelector, SelData[]>,
    readonly queryStart: number,
    readonly queryEnd: number,
    readonly queryStep: number,
    readonly deadline: number,
    readonly stats: QueryStats,
    /** The query's memory reservation and the bytes planned and loaded before evaluation. */
    readonly memory?: { readonly budget: QueryBudget; readonly base: number },
  ) {}

  /** Adds a warning annotation for the node at `pos`. */
  warn(msg: string, pos: number): void {
    this.warnings.add(`${msg} ${posString(undefined, pos)}`);
  }

  /** Adds an info annotation for the node at `pos`. */
  info(msg: string, pos: number): void {
    this.infos.add(`${msg} ${posString(undefined, pos)}`);
  }

  /** Throws a timeout error when past the deadline (checked cheaply). */
  tick(): void {
    if ((++this.#ticks & 255) === 0 && Date.now() > this.deadline) {
      throw new QueryTimeoutError(this.opts.timeoutMs);
    }
  }

  /** Counts samples read (for statistics). */
  countSamples(n: number): void {
    this.stats.samples += n;
  }

  /**
   * Checks that `extra` samples more than those held now fit under the
   * limit, and records the peak. Nodes call it while building big outputs.
   */
  checkHeld(extra: number): void {
    const n = this.#held + extra;
    if (n <= this.stats.peakSamples) return;
    this.stats.peakSamples = n;
    if (n > this.opts.maxSamples) throw new QueryTooManySamplesError(this.opts.maxSamples);
    this.memory?.budget.need(this.memory.base + n * SAMPLE_BYTES);
  }

  /** Resolves `@` to ms. */
  at(at: AtModifier | undefined): number | undefined {
    return resolveAt(at, { start: this.queryStart, end: this.queryEnd });
  }

  /**
   * Evaluates a node at every time of `ts`. Its output is held (counted
   * towards the sample limit) until the caller's own node is done, when the
   * caller's output replaces it.
   */
  eval(e: Expr, ts: Float64Array): EvalValue {
    if (Date.now() > this.deadline) throw new QueryTimeoutError(this.opts.timeoutMs);
    if (e.type === "ParenExpr") return this.eval(e.expr, ts);
    const before = this.#held;
    const v = this.evalNode(e, ts);
    const n = heldSize(v);
    // Inputs (counted in #held by the nested calls) and output coexist here.
    this.checkHeld(n);
    this.#held = before + n;
    return v;
  }

  /** Evaluates one node; the children go through {@linkcode eval}. */
  evalNode(e: Expr, ts: Float64Array): EvalValue {
    switch (e.type) {
      case "NumberLiteral":
        return { kind: "scalar", v: new Float64Array(ts.length).fill(e.value) };
      case "StringLiteral":
        return { kind: "string", s: e.value };
      case "ParenExpr":
        return this.eval(e.expr, ts);
      case "UnaryExpr": {
        const v = this.eval(e.expr, ts);
        if (e.op === "+") return v;
        if (v.kind === "scalar") return { kind: "scalar", v: v.v.map((x) => -x) };
        if (v.kind !== "vector") throw new Error("BUG: unary minus on " + v.kind);
        const out: StepVectors = {
          kind: "vector",
          steps: v.steps.map((vec) =>
            vec.map((s) => ({ labels: s.labels, v: -s.v, dropName: true }))
          ),
        };
        return this.nameDropped(out, false);
      }
      case "VectorSelector":
        return this.evalVectorSelector(e, ts);
      case "MatrixSelector":
        return this.evalMatrixSelector(e);
      case "SubqueryExpr":
        return this.evalSubquery(e, ts);
      case "Call": {
        const v = evalCall(this, e, ts);
        return v.kind === "vector" ? this.nameDropped(v, e.args.some(isRangeArg)) : v;
      }
      case "AggregateExpr":
        return this.evalAggregate(e, ts);
      case "BinaryExpr": {
        const v = this.evalBinary(e, ts);
        return v.kind === "vector" ? this.nameDropped(v, false) : v;
      }
    }
  }

  /**
   * Without delayed name removal, drops `__name__` where a function or
   * operator asked for it, now, and applies {@linkcode checkSameLabelset}.
   */
  nameDropped(v: StepVectors, wholeRange: boolean): StepVectors {
    if (this.opts.delayedNameRemoval) return v;
    const out = dropNamesNow(v);
    if (out !== v) checkSameLabelset(out, wholeRange);
    return out;
  }

  /** Evaluates a node that must be an instant vector. */
  evalVector(e: Expr, ts: Float64Array): StepVectors {
    const v = this.eval(e, ts);
    if (v.kind !== "vector") throw new Error(`BUG: expected an instant vector, got ${v.kind}`);
    return v;
  }

  /** Evaluates a node that must be a scalar. */
  evalScalar(e: Expr, ts: Float64Array): StepScalars {
    const v = this.eval(e, ts);
    if (v.kind !== "scalar") throw new Error(`BUG: expected a scalar, got ${v.kind}`);
    return v;
  }

  evalVectorSelector(e: VectorSelector, ts: Float64Array): StepVectors {
    const series = this.data.get(e) ?? [];
    const nSteps = ts.length;
    // Columns (value, presence, timestamp per series) unless that would be
    // far bigger than per-sample output could be (many short-lived series).
    const columnar = series.length * nSteps <= MAX_COLUMN_CELLS;
    const steps: ESample[][] = columnar ? [] : Array.from({ length: nSteps }, () => []);
    const cols = {
      labels: [] as Labels[],
      dropName: [] as boolean[],
      v: [] as Float64Array[],
      present: [] as Uint8Array[],
      t: [] as Float64Array[],
    };
    const at = this.at(e.at);
    const lookback = this.opts.lookbackDelta;
    let total = 0;
    for (const s of series) {
      this.tick();
      let j = -1; // Index of the last sample at or before the eval time.
      const st = s.t, n = st.length;
      const colV = columnar ? new Float64Array(nSteps) : undefined;
      const colP = columnar ? new Uint8Array(nSteps) : undefined;
      const colT = columnar ? new Float64Array(nSteps) : undefined;
      const before = total;
      for (let i = 0; i < nSteps; i++) {
        const evalT = (at ?? ts[i]!) - e.offset;
        while (j + 1 < n && st[j + 1]! <= evalT) j++;
        if (j < 0 || st[j]! <= evalT - lookback || s.stale[j]) continue;
        if (colV) {
          colV[i] = s.v[j]!;
          colP![i] = 1;
          colT![i] = st[j]!;
        } else steps[i]!.push({ labels: s.labels, v: s.v[j]!, dropName: false, t: st[j]! });
        total++;
      }
      if (colV && total > before) {
        cols.labels.push(s.labels);
        cols.dropName.push(false);
        cols.v.push(colV);
        cols.present.push(colP!);
        cols.t.push(colT!);
      }
      this.checkHeld(total);
    }
    this.countSamples(total);
    if (columnar) return new ColumnVector({ ...cols, count: total, steps: nSteps });
    return { kind: "vector", steps };
  }

  /** A matrix selector as a range source. */
  evalMatrixSelector(e: MatrixSelector): MatrixValue {
    const vs = e.vectorSelector;
    const series = (this.data.get(vs) ?? []).map((s) => {
      const c = cleanSeries(s);
      return { labels: s.labels, t: c.t, v: c.v, dropName: false };
    });
    if (e.absolute) {
      return {
        kind: "matrix",
        fromSelector: true,
        series,
        range: e.absolute.end - e.absolute.start,
        offset: vs.offset,
        at: e.absolute.end,
        closedStart: true,
      };
    }
    return {
      kind: "matrix",
      fromSelector: true,
      series,
      range: e.range,
      offset: vs.offset,
      at: this.at(vs.at),
    };
  }

  /** A subquery: the inner expression on its own step grid, as a range source. */
  evalSubquery(e: SubqueryExpr, ts: Float64Array): MatrixValue {
    const at = this.at(e.at);
    const step = e.step > 0 ? e.step : this.opts.defaultSubqueryStep;
    const first = (at ?? ts[0]!) - e.offset - e.range;
    const last = (at ?? ts[ts.length - 1]!) - e.offset;
    // Align to absolute multiples of the step; the window start is exclusive.
    let innerStart = step * Math.trunc(first / step);
    if (innerStart <= first) innerStart += step;
    const n = innerStart > last ? 0 : Math.floor((last - innerStart) / step) + 1;
    const inner = new Float64Array(n);
    for (let i = 0; i < n; i++) inner[i] = innerStart + i * step;
    const series: RangeSeries[] = [];
    if (n > 0) {
      const v = this.eval(e.expr, inner);
      if (v.kind === "vector") series.push(...toSeries(v, inner, () => this.tick()));
      else if (v.kind === "scalar") {
        series.push({ labels: [], t: inner.slice(), v: v.v.slice(), dropName: false });
      }
    }
    return { kind: "matrix", series, range: e.range, offset: e.offset, at };
  }

  evalAggregate(e: AggregateExpr, ts: Float64Array): StepVectors {
    const input = this.evalVector(e.expr, ts);
    const g = { labels: e.grouping, without: e.without, cache: new Map<Labels, Labels>() };
    const steps: ESample[][] = new Array(ts.length);
    if (e.op === "count_values") {
      const label = this.eval(e.param!, ts);
      if (label.kind !== "string") throw new Error("BUG: count_values parameter is not a string");
      for (let i = 0; i < ts.length; i++) steps[i] = countValues(input.steps[i]!, g, label.s);
      return { kind: "vector", steps };
    }
    const param = e.param ? this.evalScalar(e.param, ts).v : undefined;
    const k = e.op === "topk" || e.op === "bottomk" || e.op === "limitk" ||
      e.op === "limit_ratio";
    const warn = (m: string) => this.warn(m, e.param?.pos.start ?? e.pos.start);
    if (input.cols && COLUMN_AGG_OPS.has(e.op)) {
      const out = aggregateColumns(e.op, input.cols, g, param, warn, () => this.tick());
      return { kind: "vector", steps: out };
    }
    for (let i = 0; i < ts.length; i++) {
      this.tick();
      const p = param ? param[i]! : NaN;
      steps[i] = k
        ? aggregateK(e.op, input.steps[i]!, g, p)
        : aggregate(e.op, input.steps[i]!, g, p, warn);
    }
    return { kind: "vector", steps };
  }

  evalBinary(e: BinaryExpr, ts: Float64Array): EvalValue {
    const l = this.eval(e.lhs, ts);
    const r = this.eval(e.rhs, ts);
    if (l.kind === "scalar" && r.kind === "scalar") {
      const v = new Float64Array(ts.length);
      for (let i = 0; i < ts.length; i++) v[i] = scalarBinop(e.op, l.v[i]!, r.v[i]!);
      return { kind: "scalar", v };
    }
    const steps: ESample[][] = new Array(ts.length);
    if (l.kind === "vector" && r.kind === "vector") {
      for (let i = 0; i < ts.length; i++) {
        this.tick();
        steps[i] = isSetOp(e.op)
          ? setOp(e.op as "and" | "or" | "unless", l.steps[i]!, r.steps[i]!, e.matching)
          : vectorBinop(e.op, l.steps[i]!, r.steps[i]!, e.matching, e.returnBool);
      }
      return { kind: "vector", steps };
    }
    if (l.kind === "vector" && r.kind === "scalar") {
      for (let i = 0; i < ts.length; i++) {
        this.tick();
        steps[i] = vectorScalarBinop(e.op, l.steps[i]!, r.v[i]!, false, e.returnBool);
      }
      return { kind: "vector", steps };
    }
    if (l.kind === "scalar" && r.kind === "vector") {
      for (let i = 0; i < ts.length; i++) {
        this.tick();
        steps[i] = vectorScalarBinop(e.op, r.steps[i]!, l.v[i]!, true, e.returnBool);
      }
      return { kind: "vector", steps };
    }
    throw new Error(`BUG: binary ${e.op} on ${l.kind} and ${r.kind}`);
  }
}

/**
 * Samples an evaluated value holds for the sample limit. A matrix
 * selector's windows are counted by the range function reading them (one
 * window at a time, as Prometheus), so only subquery matrices count here.
 */
function heldSize(v: EvalValue): number {
  switch (v.kind) {
    case "vector": {
      if (v.cols) return v.cols.count;
      let n = 0;
      for (const s of v.steps) n += s.length;
      return n;
    }
    case "matrix": {
      if (v.fromSelector) return 0;
      let n = 0;
      for (const s of v.series) n += s.t.length;
      return n;
    }
    default:
      return 0;
  }
}

/** Samples of a fetched series without stale markers. */
export function cleanSeries(s: SelData): { t: Float64Array; v: Float64Array } {
  if (s.clean) return s.clean;
  let n = 0;
  for (let i = 0; i < s.stale.length; i++) if (!s.stale[i]) n++;
  if (n === s.t.length) {
    s.clean = { t: s.t, v: s.v };
    return s.clean;
  }
  const t = new Float64Array(n), v = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < s.t.length; i++) {
    if (s.stale[i]) continue;
    t[k] = s.t[i]!;
    v[k] = s.v[i]!;
    k++;
  }
  s.clean = { t, v };
  return s.clean;
}

/** Collects step vectors into series keyed by labels (and drop flag). */
export function toSeries(
  v: StepVectors,
  ts: Float64Array,
  tick: () => void = () => {},
): RangeSeries[] {
  const byKey = new Map<string, { labels: Labels; dropName: boolean; t: number[]; v: number[] }>();
  for (let i = 0; i < ts.length; i++) {
    tick();
    for (const s of v.steps[i]!) {
      const k = keyOf(s.labels);
      let e = byKey.get(k);
      if (!e) {
        e = { labels: s.labels, dropName: s.dropName, t: [], v: [] };
        byKey.set(k, e);
      }
      e.t.push(ts[i]!);
      e.v.push(s.v);
    }
  }
  return [...byKey.values()].map((e) => ({
    labels: e.labels,
    dropName: e.dropName,
    t: Float64Array.from(e.t),
    v: Float64Array.from(e.v),
  }));
}

/** Window bounds of a range source at step time `stepT`: (start, end] or [start, end]. */
export function windowAt(m: MatrixValue, stepT: number): { start: number; end: number } {
  const end = (m.at ?? stepT) - m.offset;
  return { start: end - m.range, end };
}

/** First index with t > x (or >= x when `closed`). */
export function lowerIndex(t: Float64Array, x: number, closed: boolean): number {
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (closed ? t[mid]! < x : t[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function matrixAt(m: MatrixValue, t: number, ev: Evaluator): Series[] {
  const { start, end } = windowAt(m, t);
  const out: Series[] = [];
  let total = 0;
  for (const s of m.series) {
    const lo = lowerIndex(s.t, start, m.closedStart ?? false);
    const hi = lowerIndex(s.t, end, false);
    if (hi <= lo) continue;
    total += hi - lo;
    out.push({ labels: dropped(s.labels, s.dropName), t: s.t.slice(lo, hi), v: s.v.slice(lo, hi) });
  }
  ev.countSamples(total);
  ev.checkHeld(total);
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  checkDuplicates(out.map((s) => s.labels));
  return out;
}

function dropped(labels: Labels, drop: boolean): Labels {
  if (!drop) return labels;
  return labels.some((l) => l.name === METRIC_NAME)
    ? labels.filter((l) => l.name !== METRIC_NAME)
    : labels;
}

/** `v` with `__name__` removed from every sample flagged to drop it (`v` itself when none is). */
function dropNamesNow(v: StepVectors): StepVectors {
  const named = (l: Labels) => l.some((x) => x.name === METRIC_NAME);
  if (v.cols) {
    const { labels, dropName } = v.cols;
    if (!labels.some((l, s) => dropName[s] && named(l))) return v;
    return new ColumnVector({
      ...v.cols,
      labels: labels.map((l, s) => dropName[s] ? dropped(l, true) : l),
    });
  }
  if (!v.steps.some((step) => step.some((s) => s.dropName && named(s.labels)))) return v;
  // One dropped label set per input label set, so series keep one identity.
  const memo = new Map<Labels, Labels>();
  const drop = (l: Labels) => {
    let d = memo.get(l);
    if (d === undefined) memo.set(l, d = dropped(l, true));
    return d;
  };
  return {
    kind: "vector",
    steps: v.steps.map((step) =>
      step.map((s) => s.dropName && named(s.labels) ? { ...s, labels: drop(s.labels) } : s)
    ),
  };
}

function isRangeArg(e: Expr): boolean {
  const u = unwrapParens(e);
  return u.type === "MatrixSelector" || u.type === "SubqueryExpr";
}

/**
 * Prometheus's check after a function or operator that drops `__name__`:
 * series whose labels become equal without it may not both be in the
 * result ("vector cannot contain metrics with the same labelset"), so
 * `sum(rate({__name__=~"a|b"}[1m]))` fails as `rate(…)` alone does.
 * For a range-vector function any two such series in the whole result
 * collide; otherwise only two at the same step do. Labels must already be
 * without the dropped names.
 */
function checkSameLabelset(v: StepVectors, wholeRange: boolean): void {
  // Distinct label sets first: without a collision there, no step has one.
  const seen = new Map<string, Labels>();
  const colliding = new Set<Labels>();
  const visit = (labels: Labels, drop: boolean) => {
    if (!drop) return;
    const k = keyOf(labels);
    const other = seen.get(k);
    if (other === undefined) seen.set(k, labels);
    else if (other !== labels) {
      colliding.add(other);
      colliding.add(labels);
    }
  };
  if (v.cols) {
    for (let s = 0; s < v.cols.labels.length; s++) visit(v.cols.labels[s]!, v.cols.dropName[s]!);
  } else {
    for (const step of v.steps) for (const s of step) visit(s.labels, s.dropName);
  }
  if (colliding.size === 0) return;
  if (wholeRange) {
    throw new QueryExecutionError("vector cannot contain metrics with the same labelset");
  }
  for (const step of v.steps) {
    const keys = new Set<string>();
    for (const s of step) {
      if (!s.dropName || !colliding.has(s.labels)) continue;
      const k = keyOf(s.labels);
      if (keys.has(k)) {
        throw new QueryExecutionError("vector cannot contain metrics with the same labelset");
      }
      keys.add(k);
    }
  }
}

function checkDuplicates(list: Labels[]): void {
  const seen = new Set<string>();
  for (const l of list) {
    const k = keyOf(l);
    if (seen.has(k)) {
      throw new QueryExecutionError("vector cannot contain metrics with the same labelset");
    }
    seen.add(k);
  }
}

/** Turns the evaluated top node into the public result, dropping names now. */
/** {@linkcode finish} of a columnar range result: per series, not per sample. */
function finishColumns(cols: VectorColumns, ts: Float64Array): Value {
  const { v, present } = cols;
  const groups = new Map<string, { labels: Labels; cols: number[] }>();
  for (let s = 0; s < cols.labels.length; s++) {
    const labels = dropped(cols.labels[s]!, cols.dropName[s]!);
    const k = keyOf(labels);
    const g = groups.get(k);
    if (g) g.cols.push(s);
    else groups.set(k, { labels, cols: [s] });
  }
  const n = ts.length;
  const series: Series[] = [];
  for (const g of groups.values()) {
    let count = 0;
    for (let i = 0; i < n; i++) {
      let here = 0;
      for (const s of g.cols) here += present[s]![i]!;
      if (here > 1) {
        throw new QueryExecutionError("vector cannot contain metrics with the same labelset");
      }
      count += here;
    }
    const t = new Float64Array(count), out = new Float64Array(count);
    let o = 0;
    for (let i = 0; i < n; i++) {
      for (const s of g.cols) {
        if (!present[s]![i]) continue;
        t[o] = ts[i]!;
        out[o++] = v[s]![i]!;
      }
    }
    series.push({ labels: g.labels, t, v: out });
  }
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return { type: "matrix", series };
}

function finish(val: EvalValue, ts: Float64Array, instant: boolean): Value {
  if (val.kind === "string") return { type: "string", t: ts[0]!, v: val.s };
  if (val.kind === "scalar") {
    if (instant) return { type: "scalar", t: ts[0]!, v: val.v[0]! };
    return {
      type: "matrix",
      series: [{ labels: [], t: ts.slice(), v: val.v.slice() }],
    };
  }
  if (val.kind === "matrix") throw new Error("BUG: matrix result reached finish()");
  if (instant) {
    const samples: Sample[] = val.steps[0]!.map((s) => ({
      labels: dropped(s.labels, s.dropName),
      t: ts[0]!,
      v: s.v,
    }));
    checkDuplicates(samples.map((s) => s.labels));
    return { type: "vector", samples };
  }
  if (val.cols) return finishColumns(val.cols, ts);
  // Range: group by final labels; the same labels at one step twice is an error.
  const byKey = new Map<string, { labels: Labels; t: number[]; v: number[] }>();
  for (let i = 0; i < ts.length; i++) {
    for (const s of val.steps[i]!) {
      const labels = dropped(s.labels, s.dropName);
      const k = keyOf(labels);
      let e = byKey.get(k);
      if (!e) {
        e = { labels, t: [], v: [] };
        byKey.set(k, e);
      }
      if (e.t.length > 0 && e.t[e.t.length - 1] === ts[i]) {
        throw new QueryExecutionError("vector cannot contain metrics with the same labelset");
      }
      e.t.push(ts[i]!);
      e.v.push(s.v);
    }
  }
  const series: Series[] = [...byKey.values()].map((e) => ({
    labels: e.labels,
    t: Float64Array.from(e.t),
    v: Float64Array.from(e.v),
  }));
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return { type: "matrix", series };
}
