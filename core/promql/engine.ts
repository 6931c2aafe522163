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
import { type Labels, type Querier, SampleArena, SampleArenaPool } from "../model/mod.ts";
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
import { type BinopNote, scalarBinop, setOp, vectorBinop, vectorScalarBinop } from "./binary.ts";
import {
  QueryExecutionError,
  QueryTimeoutError,
  QueryTooManySamplesError,
  QueryTooManySeriesError,
} from "./errors.ts";
import {
  LOADED_SAMPLE_BYTES,
  LOADED_SERIES_BYTES,
  MemoryPool,
  QueryBudget,
  SAMPLE_BYTES,
  STEP_BYTES,
} from "./budget.ts";
import { finish, matrixAt, toSeries } from "./engine_result.ts";
import { cleanSeries, histSamples, type SelData, selectMixed, toSelData } from "./selection.ts";
import { collectRanges, planGrids, resolveAt } from "./query_plan.ts";
import { invalidRatioWarning } from "./functions.ts";
import {
  type AggNotes,
  aggregateKWithHistograms,
  aggregateWithHistograms,
} from "./histogram_agg.ts";
import { cleanHist, statsSelectors } from "./histogram_select.ts";
import { evalCall } from "./eval_call.ts";
import { checkSameLabelset, dropNamesNow } from "./name_drop.ts";
import { parseExpr, sourceOf } from "./parser.ts";
import { lineColumn } from "./parse_error.ts";
import {
  ColumnVector,
  type ESample,
  type EvalValue,
  type MatrixValue,
  MAX_COLUMN_CELLS,
  type RangeSeries,
  type StepScalars,
  type StepVectors,
  type Value,
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
  /**
   * Arenas the samples a query reads are put in (reused query after query;
   * see core/model/sample_arena.ts). @default a pool of its own
   */
  readonly arenas?: SampleArenaPool;
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
  /** `PromQL warning: ...` annotations, each ending with the `(line:col)` of the expression. */
  readonly warnings: string[];
  /** `PromQL info: ...` annotations. */
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
    arenas: opts.arenas ?? new SampleArenaPool(),
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
  arenas: SampleArenaPool;
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
  // Selected samples live in the arena until the query ends: results copy
  // what they keep. A select still running when the query fails (timeout,
  // limits) may yet write into it, so only a quiet arena goes back.
  const arena = opts.arenas.acquire();
  let pending = 0;
  try {
    budget.need(planBytes);
    const ranges = new Map<VectorSelector, { minT: number; maxT: number }>();
    const funcs = new Map<VectorSelector, string>();
    collectRanges(expr, start, end, {
      start,
      end,
      lookbackDelta: opts.lookbackDelta,
      ranges,
      funcs,
    });
    const statsOnly = statsSelectors(expr);
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
        entries.map(([vs, r]) => {
          pending++;
          return opts.querier.select(vs.matchers, {
            minT: r.minT,
            maxT: r.maxT,
            step: step || undefined,
            func: funcs.get(vs),
            onRead,
            arena,
          }).finally(() => pending--);
        }),
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
      const vs = entries[i]![0];
      data.set(vs, list.map((s) => toSelData(s, statsOnly.has(vs))));
    }
    stats.series = series;
    const ts = new Float64Array(steps);
    for (let i = 0; i < steps; i++) ts[i] = start + i * (step || 0);
    const ev = new Evaluator(
      opts,
      data,
      start,
      end,
      step,
      deadline,
      stats,
      {
        budget,
        base: planBytes + loadedBytes,
      },
      arena,
      sourceOf(expr),
    );
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
    if (pending === 0) opts.arenas.release(arena);
  }
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
    /** Where intermediate columns live (reset when the query ends; results are copies). */
    readonly arena: SampleArena = new SampleArena(),
    /** The query text, for the positions of annotations; without it, line 1. */
    readonly text = "",
  ) {}

  /**
   * Adds a warning annotation for the node at `pos`, ending with its
   * `(line:col)` in the query text as Prometheus's annotations do.
   */
  warn(msg: string, pos: number): void {
    this.warnings.add(`${msg} (${lineColumn(this.text, pos).join(":")})`);
  }

  /** Adds an info annotation for the node at `pos` (as {@linkcode warn}). */
  info(msg: string, pos: number): void {
    this.infos.add(`${msg} (${lineColumn(this.text, pos).join(":")})`);
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
            vec.map((s) =>
              s.h
                ? { labels: s.labels, v: 0, h: s.h.copy().mul(-1), dropName: true }
                : { labels: s.labels, v: -s.v, dropName: true }
            )
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
    // far bigger than per-sample output could be (many short-lived series),
    // or some series has native histograms (columns hold floats only).
    const columnar = series.length * nSteps <= MAX_COLUMN_CELLS && !series.some((s) => s.hist);
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
      if (s.hist) {
        total += selectMixed(s, s.hist, ts, at, e.offset, lookback, steps);
        this.checkHeld(total);
        continue;
      }
      let j = -1; // Index of the last sample at or before the eval time.
      const st = s.t, n = st.length, stale = s.stale;
      const colV = columnar ? this.arena.floats(nSteps) : undefined;
      const colP = columnar ? this.arena.bytes(nSteps) : undefined;
      const colT = columnar ? this.arena.floats(nSteps) : undefined;
      const before = total;
      for (let i = 0; i < nSteps; i++) {
        const evalT = (at ?? ts[i]!) - e.offset;
        while (j + 1 < n && st[j + 1]! <= evalT) j++;
        if (j < 0 || st[j]! <= evalT - lookback || stale?.[j]) continue;
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
    const series = (this.data.get(vs) ?? []).map((s): RangeSeries => {
      const c = cleanSeries(s);
      const h = s.hist ? cleanHist(s.hist) : undefined;
      const r: RangeSeries = h && h.t.length > 0
        ? { labels: s.labels, t: c.t, v: c.v, dropName: false, histograms: h }
        : { labels: s.labels, t: c.t, v: c.v, dropName: false };
      if (c.counts) r.counts = c.counts;
      return r;
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
      if (v.kind === "vector") {
        // A subquery's histograms do not follow each other as stored:
        // "reset" and "not_reset" hints become "unknown" (as Prometheus).
        for (const s of toSeries(v, inner, () => this.tick())) {
          const h = s.histograms;
          if (h && h.h.some((x) => x.hint === "reset" || x.hint === "not_reset")) {
            const hs = h.h.map((x) => {
              if (x.hint !== "reset" && x.hint !== "not_reset") return x;
              const c = x.copy();
              c.hint = "unknown";
              return c;
            });
            series.push({ ...s, histograms: { t: h.t, h: hs } });
          } else series.push(s);
        }
      } else if (v.kind === "scalar") {
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
    if (e.op === "limit_ratio" && param) {
      // As Prometheus: one warning for the largest and one for the smallest ratio out of range.
      let max = -Infinity, min = Infinity;
      for (const r of param) {
        if (r > max) max = r;
        if (r < min) min = r;
      }
      const at = e.param!.pos.start;
      if (max > 1) this.warn(invalidRatioWarning(max, 1), at);
      if (min < -1) this.warn(invalidRatioWarning(min, -1), at);
    }
    const warn = (m: string) => this.warn(m, e.param?.pos.start ?? e.pos.start);
    if (input.cols && COLUMN_AGG_OPS.has(e.op)) {
      return aggregateColumns(e.op, input.cols, g, param, warn, () => this.tick(), this.arena);
    }
    const exprPos = e.expr.pos.start;
    const notes: AggNotes = {
      warn: (m) => this.warn(m, exprPos),
      info: (m) => this.info(m, exprPos),
      infoAgg: (m) => this.info(m, e.pos.start),
      floatWarn: warn,
    };
    for (let i = 0; i < ts.length; i++) {
      this.tick();
      const p = param ? param[i]! : NaN;
      const vec = input.steps[i]!;
      if (vec.some((s) => s.h)) {
        steps[i] = k
          ? aggregateKWithHistograms(e.op, vec, g, p, notes)
          : aggregateWithHistograms(e.op, vec, g, p, notes);
      } else {
        steps[i] = k ? aggregateK(e.op, vec, g, p) : aggregate(e.op, vec, g, p, warn);
      }
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
    const note = (n: BinopNote) =>
      n.warn ? this.warn(n.msg, e.pos.start) : this.info(n.msg, e.pos.start);
    if (l.kind === "vector" && r.kind === "vector") {
      for (let i = 0; i < ts.length; i++) {
        this.tick();
        steps[i] = isSetOp(e.op)
          ? setOp(e.op as "and" | "or" | "unless", l.steps[i]!, r.steps[i]!, e.matching)
          : vectorBinop(e.op, l.steps[i]!, r.steps[i]!, e.matching, e.returnBool, note);
      }
      return { kind: "vector", steps };
    }
    if (l.kind === "vector" && r.kind === "scalar") {
      for (let i = 0; i < ts.length; i++) {
        this.tick();
        steps[i] = vectorScalarBinop(e.op, l.steps[i]!, r.v[i]!, false, e.returnBool, note);
      }
      return { kind: "vector", steps };
    }
    if (l.kind === "scalar" && r.kind === "vector") {
      for (let i = 0; i < ts.length; i++) {
        this.tick();
        steps[i] = vectorScalarBinop(e.op, r.steps[i]!, l.v[i]!, true, e.returnBool, note);
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
      for (const s of v.steps) for (const x of s) n += x.h ? histSamples(x.h) : 1;
      return n;
    }
    case "matrix": {
      if (v.fromSelector) return 0;
      let n = 0;
      for (const s of v.series) {
        n += s.t.length;
        for (const h of s.histograms?.h ?? []) n += histSamples(h);
      }
      return n;
    }
    default:
      return 0;
  }
}

function isRangeArg(e: Expr): boolean {
  const u = unwrapParens(e);
  return u.type === "MatrixSelector" || u.type === "SubqueryExpr";
}
