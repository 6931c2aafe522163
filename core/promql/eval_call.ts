/**
 * Function calls for the evaluator: element-wise functions (which leave
 * native histograms out, as Prometheus's), label functions, absent, sorting
 * and time functions; range functions are in `range_call.ts`, histogram
 * functions in `histogram_calls.ts`.
 *
 * @module
 */
import { RE2JS } from "re2js";
import {
  compareLabels,
  expandRegexp,
  LABEL_NAME_REGEXP,
  type Labels,
  METRIC_NAME,
} from "../model/mod.ts";
import { absentLabels, setLabel, stringArg, unwrap } from "./_call_util.ts";
import type { Call } from "./ast.ts";
import { QueryExecutionError } from "./errors.ts";
import type { Evaluator } from "./engine.ts";
import { checkDuplicates } from "./engine_result.ts";
import { DATE_FUNCTIONS, MATH_FUNCTIONS } from "./functions.ts";
import {
  histogramFractionCall,
  histogramQuantileCall,
  histogramStatCall,
  isHistogramStat,
} from "./histogram_calls.ts";
import { rangeCall } from "./range_call.ts";
import { type ESample, type EvalValue, type StepVectors } from "./value.ts";

/**
 * Label names follow the one scheme Perch ingests (Prometheus's legacy
 * `[a-zA-Z_][a-zA-Z0-9_]*`), so a query cannot make a series no push could.
 */
function validLabelName(name: string): boolean {
  return LABEL_NAME_REGEXP.test(name);
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
      return { ...s, labels, dropName: dst === METRIC_NAME ? false : s.dropName };
    });
    checkDuplicates(out);
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
      return { ...s, labels, dropName: dst === METRIC_NAME ? false : s.dropName };
    });
    checkDuplicates(out);
    return out;
  });
  return { kind: "vector", steps };
}

/** A float function of each float sample; native histograms are left out (Prometheus's simpleFloatFunc). */
function mapVector(
  input: StepVectors,
  f: (s: ESample, i: number) => number,
): StepVectors {
  return {
    kind: "vector",
    steps: input.steps.map((vec, i) => {
      const out: ESample[] = [];
      for (const s of vec) if (!s.h) out.push({ labels: s.labels, v: f(s, i), dropName: true });
      return out;
    }),
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
      // The one float sample; histograms do not count.
      const one = (vec: ESample[]) => {
        let v = NaN, n = 0;
        for (const s of vec) if (!s.h && n++ === 0) v = s.v;
        return n === 1 ? v : NaN;
      };
      return { kind: "scalar", v: Float64Array.from(input.steps, one) };
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
      const time = (s: ESample, i: number) => (direct && s.t !== undefined ? s.t : ts[i]!) / 1000;
      // Histogram samples have a timestamp too.
      return {
        kind: "vector",
        steps: input.steps.map((vec, i) =>
          vec.map((s) => ({ labels: s.labels, v: time(s, i), dropName: true }))
        ),
      };
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
          return vec.filter((s) => !s.h).map((s) => ({
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
          vec.filter((s) => !s.h).sort((a, b) => {
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
      return histogramQuantileCall(ev, e, ts);
    case "histogram_fraction":
      return histogramFractionCall(ev, e, ts);
    case "info":
    case "integral":
      throw new QueryExecutionError(`function ${name} is not supported`);
  }
  if (isHistogramStat(name)) return histogramStatCall(ev, e, ts);
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
