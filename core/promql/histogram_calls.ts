/**
 * The histogram functions for the evaluator: `histogram_quantile(s)` and
 * `histogram_fraction` over classic buckets (series with `le`) and native
 * histograms in the same vector (a native histogram with the labels of a
 * classic group is left out with a warning, as in Prometheus), and
 * `histogram_count/sum/avg/stddev/stdvar` over native histograms.
 *
 * @module
 */
import { goQuote, type Labels, METRIC_NAME } from "../model/mod.ts";
import { setLabel, stringArg } from "./_call_util.ts";
import type { Call } from "./ast.ts";
import type { Evaluator } from "./engine.ts";
import type { FloatHistogram } from "./float_histogram.ts";
import {
  type Bucket,
  bucketFraction,
  bucketQuantile,
  invalidQuantileWarning,
} from "./functions.ts";
import { ANNOTATIONS } from "./hist_annotations.ts";
import { histogramFraction, histogramQuantile, histogramVariance } from "./histogram_fns.ts";
import { type ESample, keyOf, type StepVectors } from "./value.ts";

interface BucketGroup {
  labels: Labels;
  dropName: boolean;
  buckets: Bucket[];
}

/** One step's vector split into classic bucket groups and native histograms. */
interface Split {
  groups: BucketGroup[];
  natives: ESample[];
}

function metricOf(labels: Labels): string {
  return labels.find((l) => l.name === METRIC_NAME)?.value ?? "";
}

/**
 * Groups a step's classic bucket series by their labels without `le` and
 * sets the native histograms apart (Prometheus's resetHistograms). Metric
 * names appear in warnings only with delayed name removal, as there.
 */
function splitHistograms(ev: Evaluator, vec: ESample[], pos: number): Split {
  const named = ev.opts.delayedNameRemoval;
  const groups = new Map<string, BucketGroup>();
  const natives: ESample[] = [];
  for (const s of vec) {
    if (s.h) {
      natives.push(s);
      continue;
    }
    const leLabel = s.labels.find((l) => l.name === "le");
    const le = leLabel ? parseGoFloat(leLabel.value) : NaN;
    if (!leLabel || Number.isNaN(le)) {
      const msg = `PromQL warning: bucket label "le" is missing or has a malformed value of ${
        goQuote(leLabel?.value ?? "")
      }`;
      const metric = named ? metricOf(s.labels) : "";
      ev.warn(metric === "" ? msg : `${msg} for metric name ${goQuote(metric)}`, pos);
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
  const kept: ESample[] = [];
  for (const s of natives) {
    const key = keyOf(s.labels);
    if (groups.get(key)?.buckets.length) {
      ev.warn(ANNOTATIONS.mixedClassicNative(named ? metricOf(s.labels) : ""), pos);
      groups.delete(key);
      continue;
    }
    kept.push(s);
  }
  return { groups: [...groups.values()], natives: kept };
}

/** Formats a quantile for a label as Prometheus's `FormatOpenMetricsFloat`. */
function openMetricsFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const s = String(v);
  return /^-?\d+$/.test(s) ? s + ".0" : s;
}

/** histogram_quantile and histogram_quantiles over classic buckets and native histograms. */
export function histogramQuantileCall(ev: Evaluator, e: Call, ts: Float64Array): StepVectors {
  const multi = e.func === "histogram_quantiles";
  const vecArg = multi ? e.args[0]! : e.args[1]!;
  const qArgs = multi ? e.args.slice(2) : [e.args[0]!];
  const qs = qArgs.map((a) => ev.evalScalar(a, ts).v);
  const qLabel = multi ? stringArg(ev, e.args[1]!, ts) : "";
  const input = ev.evalVector(vecArg, ts);
  const pos = vecArg.pos.start;
  const named = ev.opts.delayedNameRemoval;
  const steps: ESample[][] = new Array(ts.length);
  for (let i = 0; i < ts.length; i++) {
    for (let k = 0; k < qs.length; k++) {
      const qv = qs[k]![i]!;
      if (Number.isNaN(qv) || qv < 0 || qv > 1) {
        ev.warn(invalidQuantileWarning(qv), qArgs[k]!.pos.start);
      }
    }
    const { groups, natives } = splitHistograms(ev, input.steps[i]!, pos);
    const out: ESample[] = [];
    for (let k = 0; k < qs.length; k++) {
      const qv = qs[k]![i]!;
      const withQ = (l: Labels) => (multi ? setLabel(l, qLabel, openMetricsFloat(qv)) : l);
      for (const s of natives) {
        const r = histogramQuantile(qv, s.h!);
        const metric = named ? metricOf(s.labels) : "";
        if (r.nanResult) ev.info(ANNOTATIONS.quantileNaNResult(metric), pos);
        if (r.nanSkew) ev.info(ANNOTATIONS.quantileNaNSkew(metric), pos);
        out.push({ labels: withQ(s.labels), v: r.value, dropName: true });
      }
      for (const g of groups) {
        const r = bucketQuantile(qv, g.buckets.map((b) => ({ ...b })));
        if (r.forcedMonotonic) {
          const msg =
            "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)";
          const metric = named ? metricOf(g.labels) : "";
          ev.info(metric === "" ? msg : `${msg} for metric name ${goQuote(metric)}`, pos);
        }
        out.push({ labels: withQ(g.labels), v: r.value, dropName: true });
      }
    }
    steps[i] = out;
  }
  return { kind: "vector", steps };
}

/** histogram_fraction over classic buckets and native histograms. */
export function histogramFractionCall(ev: Evaluator, e: Call, ts: Float64Array): StepVectors {
  const lower = ev.evalScalar(e.args[0]!, ts).v;
  const upper = ev.evalScalar(e.args[1]!, ts).v;
  const input = ev.evalVector(e.args[2]!, ts);
  const pos = e.args[2]!.pos.start;
  const named = ev.opts.delayedNameRemoval;
  const steps: ESample[][] = new Array(ts.length);
  for (let i = 0; i < ts.length; i++) {
    const { groups, natives } = splitHistograms(ev, input.steps[i]!, pos);
    const out: ESample[] = [];
    for (const s of natives) {
      const r = histogramFraction(lower[i]!, upper[i]!, s.h!);
      if (r.nans) ev.info(ANNOTATIONS.fractionNaNs(named ? metricOf(s.labels) : ""), pos);
      out.push({ labels: s.labels, v: r.value, dropName: true });
    }
    for (const g of groups) {
      out.push({
        labels: g.labels,
        v: bucketFraction(lower[i]!, upper[i]!, g.buckets),
        dropName: true,
      });
    }
    steps[i] = out;
  }
  return { kind: "vector", steps };
}

const STATS: Readonly<Record<string, (h: FloatHistogram) => number>> = {
  histogram_count: (h) => h.count,
  histogram_sum: (h) => h.sum,
  histogram_avg: (h) => h.sum / h.count,
  histogram_stddev: (h) => Math.sqrt(histogramVariance(h)),
  histogram_stdvar: histogramVariance,
};

/** histogram_count, _sum, _avg, _stddev and _stdvar: native histograms only, floats are left out. */
export function histogramStatCall(ev: Evaluator, e: Call, ts: Float64Array): StepVectors {
  const f = STATS[e.func]!;
  const input = ev.evalVector(e.args[0]!, ts);
  return {
    kind: "vector",
    steps: input.steps.map((vec) =>
      vec.filter((s) => s.h).map((s) => ({ labels: s.labels, v: f(s.h!), dropName: true }))
    ),
  };
}

/** True for the functions {@linkcode histogramStatCall} evaluates. */
export function isHistogramStat(name: string): boolean {
  return name in STATS;
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
