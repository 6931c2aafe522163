/**
 * Range-vector functions for the evaluator: each series' window per step
 * (matrix selector or subquery) handed to the float kernels of
 * `functions.ts`, or to `histogram_range.ts` when the window holds native
 * histograms; `absent_over_time`; the "might not be a counter" info.
 *
 * @module
 */
import { goQuote, type Labels, METRIC_NAME } from "../model/mod.ts";
import type { Call, Expr } from "./ast.ts";
import { QueryExecutionError } from "./errors.ts";
import type { Evaluator } from "./engine.ts";
import { absentLabels, unwrap } from "./_call_util.ts";
import { counterResetPrefix, RANGE_FUNCTIONS, type RangeCtx } from "./functions.ts";
import { histRangeFn } from "./histogram_range.ts";
import {
  ColumnVector,
  type ESample,
  type EvalValue,
  lowerIndex,
  type MatrixValue,
  MAX_COLUMN_CELLS,
  windowAt,
} from "./value.ts";

function matrixArg(ev: Evaluator, e: Expr, ts: Float64Array): MatrixValue {
  const v = ev.eval(e, ts);
  if (v.kind !== "matrix") throw new Error("BUG: expected a range vector argument");
  return v;
}

/** Evaluates a range function (the call has a matrix selector or subquery argument). */
export function rangeCall(ev: Evaluator, e: Call, ts: Float64Array): EvalValue {
  const name = e.func;
  const matrixIdx = e.args.findIndex((a) => {
    const u = unwrap(a);
    return u.type === "MatrixSelector" || u.type === "SubqueryExpr";
  });
  const scalars: Float64Array[] = [];
  for (let i = 0; i < e.args.length; i++) {
    if (i !== matrixIdx) scalars.push(ev.evalScalar(e.args[i]!, ts).v);
  }
  const m = matrixArg(ev, e.args[matrixIdx]!, ts);
  const keepName = name === "last_over_time" || name === "first_over_time";
  const argPos = e.args[matrixIdx]!.pos.start;
  if (name === "absent_over_time") {
    const steps: ESample[][] = Array.from({ length: ts.length }, () => []);
    const present = new Uint8Array(ts.length);
    const closed = m.closedStart ?? false;
    const any = (t: Float64Array, start: number, end: number) =>
      lowerIndex(t, end, false) > lowerIndex(t, start, closed);
    for (const s of m.series) {
      for (let i = 0; i < ts.length; i++) {
        const { start, end } = windowAt(m, ts[i]!);
        if (any(s.t, start, end) || (s.histograms && any(s.histograms.t, start, end))) {
          present[i] = 1;
        }
      }
    }
    const labels = absentLabels(e.args[0]!);
    for (let i = 0; i < ts.length; i++) {
      if (!present[i]) steps[i]!.push({ labels, v: 1, dropName: true });
    }
    return { kind: "vector", steps };
  }
  const fn = RANGE_FUNCTIONS[name];
  if (!fn) throw new QueryExecutionError(`function ${name} is not supported`);
  const args: number[] = new Array(scalars.length);
  const ctx: RangeCtx = {
    rangeStart: 0,
    rangeEnd: 0,
    range: m.range,
    evalTs: 0,
    args,
    warn: (msg) => ev.warn(msg, argPos),
  };
  const closed = m.closedStart ?? false;
  const nSteps = ts.length;
  // Columns (one Float64Array per producing series) unless that would be far
  // bigger than per-sample output could be (many short-lived series), or a
  // series has native histograms (columns hold floats only).
  const columnar = m.series.length * nSteps <= MAX_COLUMN_CELLS &&
    !m.series.some((s) => s.histograms);
  const notePos = e.args[0]!.pos.start;
  const notes = {
    warn: (m: string) => ev.warn(m, notePos),
    info: (m: string) => ev.info(m, notePos),
  };
  const steps: ESample[][] = columnar ? [] : Array.from({ length: nSteps }, () => []);
  const cols = columnar
    ? {
      labels: [] as Labels[],
      dropName: [] as boolean[],
      v: [] as Float64Array[],
      present: [] as Uint8Array[],
    }
    : undefined;
  let colV = columnar ? ev.arena.floats(nSteps) : undefined;
  let colP = columnar ? ev.arena.bytes(nSteps) : undefined;
  const counter = name === "rate" || name === "increase";
  let resets: Int32Array | undefined;
  const fixedAt = m.at !== undefined;
  const offset = m.offset, range = m.range;
  let loaded = 0, out = 0;
  for (const s of m.series) {
    ev.tick();
    const st = s.t, sv = s.v, len = st.length;
    if (counter && len > 1) {
      if (!resets || resets.length < len) resets = new Int32Array(Math.max(len, 64));
      ctx.resets = counterResetPrefix(sv, resets.subarray(0, len));
    }
    ctx.counts = s.counts;
    let lo = 0, hi = 0;
    let produced = false, producedFloat = false;
    const dropName = keepName ? s.dropName : true;
    const hs = s.histograms;
    const hctx = hs && {
      ctx,
      floatFn: fn,
      metric: s.labels.find((l) => l.name === METRIC_NAME)?.value ?? "",
      notes,
    };
    for (let i = 0; i < nSteps; i++) {
      const end = (fixedAt ? m.at! : ts[i]!) - offset;
      const start = end - range;
      if (fixedAt || i === 0) {
        lo = lowerIndex(st, start, closed);
        hi = lowerIndex(st, end, false);
      } else if (closed) {
        while (lo < len && st[lo]! < start) lo++;
        while (hi < len && st[hi]! <= end) hi++;
      } else {
        while (lo < len && st[lo]! <= start) lo++;
        while (hi < len && st[hi]! <= end) hi++;
      }
      const hlo = hs ? lowerIndex(hs.t, start, closed) : 0;
      const hhi = hs ? lowerIndex(hs.t, end, false) : 0;
      if (hi <= lo && hhi <= hlo) continue;
      loaded += hi - lo + hhi - hlo;
      // This window is held while the function reads it, with the output so far.
      ev.checkHeld(out + hi - lo + hhi - hlo);
      for (let k = 0; k < scalars.length; k++) args[k] = scalars[k]![i]!;
      ctx.rangeStart = start;
      ctx.rangeEnd = end;
      ctx.evalTs = ts[i]!;
      const v = hhi > hlo
        ? histRangeFn(name, { t: st, v: sv, lo, hi, ht: hs!.t, hh: hs!.h, hlo, hhi }, hctx!)
        : fn(st, sv, lo, hi, ctx);
      if (v === undefined) continue;
      produced = true;
      out++;
      if (typeof v !== "number") steps[i]!.push({ labels: s.labels, v: 0, h: v, dropName });
      else {
        producedFloat = true;
        if (colV) {
          colV[i] = v;
          colP![i] = 1;
        } else steps[i]!.push({ labels: s.labels, v, dropName });
      }
    }
    ctx.resets = undefined;
    ctx.counts = undefined;
    if (produced && cols) {
      cols.labels.push(s.labels);
      cols.dropName.push(dropName);
      cols.v.push(colV!);
      cols.present.push(colP!);
      colV = ev.arena.floats(nSteps);
      colP = ev.arena.bytes(nSteps);
    }
    if (producedFloat && counter) {
      const metric = s.labels.find((l) => l.name === METRIC_NAME)?.value ?? "";
      if (metric !== "" && !/_(total|sum|count|bucket)$/.test(metric)) {
        ev.info(
          `PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${
            goQuote(metric)
          }`,
          argPos,
        );
      }
    }
  }
  ev.countSamples(loaded);
  if (cols) return new ColumnVector({ ...cols, count: out, steps: nSteps });
  return { kind: "vector", steps };
}
