/**
 * Function calls for the evaluator: range functions over windows, element-wise
 * functions, label functions, absent*, histogram_quantile over classic
 * buckets, sorting and time functions.
 *
 * @module
 */
import { RE2JS } from "re2js";
import {
  compareLabels,
  expandRegexp,
  goQuote,
  type Label,
  LABEL_NAME_REGEXP,
  type Labels,
  type Matcher,
  METRIC_NAME,
} from "../model/mod.ts";
import type { Call, Expr } from "./ast.ts";
import { QueryExecutionError } from "./errors.ts";
import type { Evaluator } from "./engine.ts";
import { lowerIndex, windowAt } from "./engine.ts";
import {
  type Bucket,
  bucketFraction,
  bucketQuantile,
  counterResetPrefix,
  DATE_FUNCTIONS,
  invalidQuantileWarning,
  MATH_FUNCTIONS,
  RANGE_FUNCTIONS,
  type RangeCtx,
} from "./functions.ts";
import {
  ColumnVector,
  type ESample,
  type EvalValue,
  keyOf,
  type MatrixValue,
  MAX_COLUMN_CELLS,
  type StepVectors,
} from "./value.ts";

function unwrap(e: Expr): Expr {
  while (e.type === "ParenExpr") e = e.expr;
  return e;
}

function stringArg(ev: Evaluator, e: Expr, ts: Float64Array): string {
  const v = ev.eval(e, ts);
  if (v.kind !== "string") throw new Error("BUG: expected a string argument");
  return v.s;
}

function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: Label[] = labels.filter((l) => l.name !== name);
  if (value !== "") {
    out.push({ name, value });
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return out;
}

/**
 * Label names follow the one scheme Perch ingests (Prometheus's legacy
 * `[a-zA-Z_][a-zA-Z0-9_]*`), so a query cannot make a series no push could.
 */
function validLabelName(name: string): boolean {
  return LABEL_NAME_REGEXP.test(name);
}

function dupCheck(vec: ESample[]): void {
  const seen = new Set<string>();
  for (const s of vec) {
    const k = keyOf(s.labels);
    if (seen.has(k)) {
      throw new QueryExecutionError("vector cannot contain metrics with the same labelset");
    }
    seen.add(k);
  }
}

function labelReplace(ev: Evaluator, e: Call, ts: Float64Array): StepVectors {
  const dst = stringArg(ev, e.args[1]!, ts);
  const repl = stringArg(ev, e.args[2]!, ts);
  const src = stringArg(ev, e.args[3]!, ts);
  const regexStr = stringArg(ev, e.args[4]!, ts);
  let re: RE2JS;
  try {
    re = RE2JS.compile(`^(?s:${regexStr})$`);
  } catch {
    throw new QueryExecutionError(`invalid regular expression in label_replace(): ${regexStr}`);
  }
  if (!validLabelName(dst)) {
    throw new QueryExecutionError(`invalid destination label name in label_replace(): ${dst}`);
  }
  const input = ev.evalVector(e.args[0]!, ts);
  const names = re.namedGroups();
  const cache = new Map<Labels, Labels | null>();
  const steps = input.steps.map((vec) => {
    ev.tick();
    const out = vec.map((s) => {
      let labels = cache.get(s.labels);
      if (labels === undefined) {
        let srcVal = "";
        for (const l of s.labels) if (l.name === src) srcVal = l.value;
        const m = re.matcher(srcVal);
        if (m.matches()) {
          const res = expandRegexp(
            repl,
            (i) => (i <= m.groupCount() ? m.group(i) ?? "" : ""),
            (n) => (n in names ? m.group(n) ?? "" : undefined),
          );
          labels = setLabel(s.labels, dst, res);
        } else labels = null;
        cache.set(s.labels, labels);
      }
      if (labels === null) return s;
      return { labels, v: s.v, dropName: dst === METRIC_NAME ? false : s.dropName };
    });
    dupCheck(out);
    return out;
  });
  return { kind: "vector", steps };
}

function labelJoin(ev: Evaluator, e: Call, ts: Float64Array): StepVectors {
  const dst = stringArg(ev, e.args[1]!, ts);
  const sep = stringArg(ev, e.args[2]!, ts);
  const srcs: string[] = [];
  for (const a of e.args.slice(3)) {
    const src = stringArg(ev, a, ts);
    if (!validLabelName(src)) {
      throw new QueryExecutionError(`invalid source label name in label_join(): ${src}`);
    }
    srcs.push(src);
  }
  if (!validLabelName(dst)) {
    throw new QueryExecutionError(`invalid destination label name in label_join(): ${dst}`);
  }
  const input = ev.evalVector(e.args[0]!, ts);
  const cache = new Map<Labels, Labels>();
  const steps = input.steps.map((vec) => {
    ev.tick();
    const out = vec.map((s) => {
      let labels = cache.get(s.labels);
      if (!labels) {
        const vals = srcs.map((n) => s.labels.find((l) => l.name === n)?.value ?? "");
        labels = setLabel(s.labels, dst, vals.join(sep));
        cache.set(s.labels, labels);
      }
      return { labels, v: s.v, dropName: dst === METRIC_NAME ? false : s.dropName };
    });
    dupCheck(out);
    return out;
  });
  return { kind: "vector", steps };
}

/** Labels of `absent()`'s output: the equality matchers' labels, as Prometheus derives them. */
export function absentLabels(arg: Expr): Labels {
  const e = unwrap(arg);
  let matchers: readonly Matcher[];
  if (e.type === "VectorSelector") matchers = e.matchers;
  else if (e.type === "MatrixSelector") matchers = e.vectorSelector.matchers;
  else return [];
  const map = new Map<string, string>();
  const has = new Set<string>();
  for (const m of matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === "=" && !has.has(m.name)) {
      map.set(m.name, m.value);
      has.add(m.name);
    } else {
      map.delete(m.name);
    }
  }
  const out: Label[] = [];
  for (const [name, value] of map) if (value !== "") out.push({ name, value });
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

function matrixArg(ev: Evaluator, e: Expr, ts: Float64Array): MatrixValue {
  const v = ev.eval(e, ts);
  if (v.kind !== "matrix") throw new Error("BUG: expected a range vector argument");
  return v;
}

function rangeCall(ev: Evaluator, e: Call, ts: Float64Array): EvalValue {
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
    for (const s of m.series) {
      for (let i = 0; i < ts.length; i++) {
        const { start, end } = windowAt(m, ts[i]!);
        if (lowerIndex(s.t, end, false) > lowerIndex(s.t, start, m.closedStart ?? false)) {
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
  // bigger than per-sample output could be (many short-lived series).
  const columnar = m.series.length * nSteps <= MAX_COLUMN_CELLS;
  const steps: ESample[][] = columnar ? [] : Array.from({ length: nSteps }, () => []);
  const cols = columnar
    ? {
      labels: [] as Labels[],
      dropName: [] as boolean[],
      v: [] as Float64Array[],
      present: [] as Uint8Array[],
    }
    : undefined;
  let colV = columnar ? new Float64Array(nSteps) : undefined;
  let colP = columnar ? new Uint8Array(nSteps) : undefined;
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
    let lo = 0, hi = 0;
    let produced = false;
    const dropName = keepName ? s.dropName : true;
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
      if (hi <= lo) continue;
      loaded += hi - lo;
      // This window is held while the function reads it, with the output so far.
      ev.checkHeld(out + hi - lo);
      for (let k = 0; k < scalars.length; k++) args[k] = scalars[k]![i]!;
      ctx.rangeStart = start;
      ctx.rangeEnd = end;
      ctx.evalTs = ts[i]!;
      const v = fn(st, sv, lo, hi, ctx);
      if (v === undefined) continue;
      produced = true;
      out++;
      if (colV) {
        colV[i] = v;
        colP![i] = 1;
      } else steps[i]!.push({ labels: s.labels, v, dropName });
    }
    ctx.resets = undefined;
    if (produced && cols) {
      cols.labels.push(s.labels);
      cols.dropName.push(dropName);
      cols.v.push(colV!);
      cols.present.push(colP!);
      colV = new Float64Array(nSteps);
      colP = new Uint8Array(nSteps);
    }
    if (produced && counter) {
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

function mapVector(
  input: StepVectors,
  f: (s: ESample, i: number) => number,
): StepVectors {
  return {
    kind: "vector",
    steps: input.steps.map((vec, i) =>
      vec.map((s) => ({ labels: s.labels, v: f(s, i), dropName: true }))
    ),
  };
}

/** Natural-order string comparison (digits compared by value), as `natsort`. */
export function natCompare(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const ca = a.match(re) ?? [], cb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i]!, y = cb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x), dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x), ny = BigInt(y);
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

interface BucketGroup {
  labels: Labels;
  dropName: boolean;
  buckets: Bucket[];
}

/** Groups one step's classic bucket series by their labels without `le`. */
function bucketGroups(ev: Evaluator, vec: ESample[], pos: number): BucketGroup[] {
  const groups = new Map<string, BucketGroup>();
  for (const s of vec) {
    const leLabel = s.labels.find((l) => l.name === "le");
    const le = leLabel ? parseGoFloat(leLabel.value) : NaN;
    if (!leLabel || Number.isNaN(le)) {
      const metric = s.labels.find((l) => l.name === METRIC_NAME)?.value ?? "";
      ev.warn(
        `PromQL warning: bucket label "le" is missing or has a malformed value of ${
          goQuote(leLabel?.value ?? "")
        } for metric name ${goQuote(metric)}`,
        pos,
      );
      continue;
    }
    const labels = s.labels.filter((l) => l.name !== "le");
    const key = keyOf(labels);
    let g = groups.get(key);
    if (!g) {
      g = { labels, dropName: s.dropName, buckets: [] };
      groups.set(key, g);
    }
    g.buckets.push({ upper: le, count: s.v });
  }
  return [...groups.values()];
}

/** Formats a quantile for a label as Prometheus's `FormatOpenMetricsFloat`. */
function openMetricsFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const s = String(v);
  return /^-?\d+$/.test(s) ? s + ".0" : s;
}

function histogramQuantile(ev: Evaluator, e: Call, ts: Float64Array): StepVectors {
  const multi = e.func === "histogram_quantiles";
  const vecArg = multi ? e.args[0]! : e.args[1]!;
  const qArgs = multi ? e.args.slice(2) : [e.args[0]!];
  const qs = qArgs.map((a) => ev.evalScalar(a, ts).v);
  const qLabel = multi ? stringArg(ev, e.args[1]!, ts) : "";
  const input = ev.evalVector(vecArg, ts);
  const steps: ESample[][] = new Array(ts.length);
  for (let i = 0; i < ts.length; i++) {
    for (let k = 0; k < qs.length; k++) {
      const qv = qs[k]![i]!;
      if (Number.isNaN(qv) || qv < 0 || qv > 1) {
        ev.warn(invalidQuantileWarning(qv), qArgs[k]!.pos.start);
      }
    }
    const groups = bucketGroups(ev, input.steps[i]!, vecArg.pos.start);
    const out: ESample[] = [];
    for (let k = 0; k < qs.length; k++) {
      const qv = qs[k]![i]!;
      for (const g of groups) {
        const r = bucketQuantile(qv, g.buckets.map((b) => ({ ...b })));
        if (r.forcedMonotonic) {
          const metric = g.labels.find((l) => l.name === METRIC_NAME)?.value ?? "";
          ev.info(
            `PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${
              goQuote(metric)
            }`,
            vecArg.pos.start,
          );
        }
        const labels = multi ? setLabel(g.labels, qLabel, openMetricsFloat(qv)) : g.labels;
        out.push({ labels, v: r.value, dropName: true });
      }
    }
    steps[i] = out;
  }
  return { kind: "vector", steps };
}

function histogramFraction(ev: Evaluator, e: Call, ts: Float64Array): StepVectors {
  const lower = ev.evalScalar(e.args[0]!, ts).v;
  const upper = ev.evalScalar(e.args[1]!, ts).v;
  const input = ev.evalVector(e.args[2]!, ts);
  const steps: ESample[][] = new Array(ts.length);
  for (let i = 0; i < ts.length; i++) {
    const groups = bucketGroups(ev, input.steps[i]!, e.args[2]!.pos.start);
    steps[i] = groups.map((g) => ({
      labels: g.labels,
      v: bucketFraction(lower[i]!, upper[i]!, g.buckets),
      dropName: true,
    }));
  }
  return { kind: "vector", steps };
}

/** Parses a float as Go's `strconv.ParseFloat` accepts it (incl. `+Inf`, `NaN`). */
export function parseGoFloat(s: string): number {
  const t = s.trim();
  if (t !== s || t === "") return NaN;
  const l = t.toLowerCase();
  if (l === "+inf" || l === "inf" || l === "infinity" || l === "+infinity") return Infinity;
  if (l === "-inf" || l === "-infinity") return -Infinity;
  if (l === "nan") return NaN;
  if (!/^[+-]?(\d[\d_]*\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) && !/^[+-]?0x[0-9a-f]+$/i.test(t)) {
    return NaN;
  }
  return Number(t.replaceAll("_", ""));
}

/** Evaluates a function call over every step. */
export function evalCall(ev: Evaluator, e: Call, ts: Float64Array): EvalValue {
  const name = e.func;
  switch (name) {
    case "label_replace":
      return labelReplace(ev, e, ts);
    case "label_join":
      return labelJoin(ev, e, ts);
    case "time":
      return { kind: "scalar", v: ts.map((t) => t / 1000) };
    case "pi":
      return { kind: "scalar", v: new Float64Array(ts.length).fill(Math.PI) };
    case "step":
      return { kind: "scalar", v: new Float64Array(ts.length).fill(ev.queryStep / 1000) };
    case "range":
      return {
        kind: "scalar",
        v: new Float64Array(ts.length).fill((ev.queryEnd - ev.queryStart) / 1000),
      };
    case "start":
      return { kind: "scalar", v: new Float64Array(ts.length).fill(ev.queryStart / 1000) };
    case "end":
      return { kind: "scalar", v: new Float64Array(ts.length).fill(ev.queryEnd / 1000) };
    case "min_of":
    case "max_of": {
      const a = ev.evalScalar(e.args[0]!, ts).v, b = ev.evalScalar(e.args[1]!, ts).v;
      const f = name === "min_of" ? Math.min : Math.max;
      return { kind: "scalar", v: a.map((x, i) => f(x, b[i]!)) };
    }
    case "vector": {
      const s = ev.evalScalar(e.args[0]!, ts).v;
      return {
        kind: "vector",
        steps: Array.from(s, (v) => [{ labels: [], v, dropName: false }]),
      };
    }
    case "scalar": {
      const input = ev.evalVector(e.args[0]!, ts);
      return {
        kind: "scalar",
        v: Float64Array.from(input.steps, (vec) => (vec.length === 1 ? vec[0]!.v : NaN)),
      };
    }
    case "absent": {
      const input = ev.evalVector(e.args[0]!, ts);
      const labels = absentLabels(e.args[0]!);
      return {
        kind: "vector",
        steps: input.steps.map((vec) => vec.length > 0 ? [] : [{ labels, v: 1, dropName: true }]),
      };
    }
    case "timestamp": {
      const input = ev.evalVector(e.args[0]!, ts);
      const direct = unwrap(e.args[0]!).type === "VectorSelector";
      return mapVector(input, (s, i) => (direct && s.t !== undefined ? s.t : ts[i]!) / 1000);
    }
    case "round": {
      const input = ev.evalVector(e.args[0]!, ts);
      const to = e.args[1] ? ev.evalScalar(e.args[1], ts).v : undefined;
      return mapVector(input, (s, i) => {
        const inv = 1 / (to ? to[i]! : 1);
        return Math.floor(s.v * inv + 0.5) / inv;
      });
    }
    case "clamp":
    case "clamp_min":
    case "clamp_max": {
      const input = ev.evalVector(e.args[0]!, ts);
      const a = ev.evalScalar(e.args[1]!, ts).v;
      const b = name === "clamp" ? ev.evalScalar(e.args[2]!, ts).v : undefined;
      return {
        kind: "vector",
        steps: input.steps.map((vec, i) => {
          const min = name === "clamp" || name === "clamp_min" ? a[i]! : -Infinity;
          const max = name === "clamp" ? b![i]! : name === "clamp_max" ? a[i]! : Infinity;
          if (max < min) return [];
          return vec.map((s) => ({
            labels: s.labels,
            v: Math.max(min, Math.min(max, s.v)),
            dropName: true,
          }));
        }),
      };
    }
    case "sort":
    case "sort_desc": {
      const input = ev.evalVector(e.args[0]!, ts);
      const desc = name === "sort_desc";
      return {
        kind: "vector",
        steps: input.steps.map((vec) =>
          vec.slice().sort((a, b) => {
            const an = Number.isNaN(a.v), bn = Number.isNaN(b.v);
            if (an || bn) return an === bn ? 0 : an ? 1 : -1;
            return desc ? b.v - a.v : a.v - b.v;
          })
        ),
      };
    }
    case "sort_by_label":
    case "sort_by_label_desc": {
      const input = ev.evalVector(e.args[0]!, ts);
      const names = e.args.slice(1).map((a) => stringArg(ev, a, ts));
      const sign = name === "sort_by_label" ? 1 : -1;
      return {
        kind: "vector",
        steps: input.steps.map((vec) =>
          vec.slice().sort((a, b) => {
            for (const n of names) {
              const x = a.labels.find((l) => l.name === n)?.value ?? "";
              const y = b.labels.find((l) => l.name === n)?.value ?? "";
              if (x === y) continue;
              return sign * (natCompare(x, y) < 0 ? -1 : 1);
            }
            return sign * compareLabels(a.labels, b.labels);
          })
        ),
      };
    }
    case "histogram_quantile":
    case "histogram_quantiles":
      return histogramQuantile(ev, e, ts);
    case "histogram_fraction":
      return histogramFraction(ev, e, ts);
    case "histogram_count":
    case "histogram_sum":
    case "histogram_avg":
    case "histogram_stddev":
    case "histogram_stdvar": {
      // Native histograms only; float samples are ignored, as in Prometheus.
      for (const a of e.args) ev.eval(a, ts);
      return { kind: "vector", steps: Array.from({ length: ts.length }, () => []) };
    }
    case "info":
    case "integral":
      throw new QueryExecutionError(`function ${name} is not supported`);
  }
  const math = MATH_FUNCTIONS[name];
  if (math) return mapVector(ev.evalVector(e.args[0]!, ts), (s) => math(s.v));
  const date = DATE_FUNCTIONS[name];
  if (date) {
    if (e.args.length === 0) {
      return {
        kind: "vector",
        steps: Array.from(ts, (t) => [{ labels: [], v: date(t / 1000), dropName: false }]),
      };
    }
    return mapVector(ev.evalVector(e.args[0]!, ts), (s) => date(s.v));
  }
  return rangeCall(ev, e, ts);
}
