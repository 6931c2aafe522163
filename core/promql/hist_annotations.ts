/**
 * The warning and info annotations Prometheus attaches to queries over
 * native histograms (`util/annotations`), word for word; the engine appends
 * the `(line:col)` of the expression they are about.
 *
 * @module
 */
import { goQuote } from "../model/mod.ts";

/** Annotations of one node, already bound to its position. */
export interface Notes {
  warn(msg: string): void;
  info(msg: string): void;
}

const W = "PromQL warning:";
const I = "PromQL info:";

function forMetric(msg: string, metric: string): string {
  return metric === "" ? msg : `${msg} for metric name ${goQuote(metric)}`;
}

/** The operation whose histograms clashed or were reconciled. */
export type HistOp = "addition" | "subtraction" | "aggregation";

export const ANNOTATIONS = {
  mixedFloatsHistograms: (metric: string) =>
    `${W} encountered a mix of histograms and floats for metric name ${goQuote(metric)}`,
  mixedFloatsHistogramsAgg: () => `${W} encountered a mix of histograms and floats for aggregation`,
  mixedClassicNative: (metric: string) =>
    forMetric(`${W} vector contains a mix of classic and native histograms`, metric),
  notCounter: (metric: string) =>
    `${W} this native histogram metric is not a counter: ${goQuote(metric)}`,
  notGauge: (metric: string) =>
    `${W} this native histogram metric is not a gauge: ${goQuote(metric)}`,
  mixedExponentialCustom: (metric: string) =>
    `${W} vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${
      goQuote(metric)
    }`,
  incompatibleBucketLayout: (op: string) =>
    `${W} incompatible bucket layout encountered for binary operator ${op}`,
  counterResetCollision: (op: HistOp) => `${W} conflicting counter resets during histogram ${op}`,
  incompatibleTypes: (lhs: string, op: string, rhs: string) =>
    `${I} incompatible sample types encountered for binary operator ${
      goQuote(op)
    }: ${lhs} ${op} ${rhs}`,
  ignoredInAggregation: (agg: string) => `${I} ignored histogram in ${agg} aggregation`,
  ignoredInMixedRange: (metric: string) =>
    `${I} ignored histograms in a range containing both floats and histograms for metric name ${
      goQuote(metric)
    }`,
  quantileNaNResult: (metric: string) =>
    forMetric(`${I} input to histogram_quantile has NaN observations, result is NaN`, metric),
  quantileNaNSkew: (metric: string) =>
    forMetric(
      `${I} input to histogram_quantile has NaN observations, result is skewed higher`,
      metric,
    ),
  fractionNaNs: (metric: string) =>
    forMetric(
      `${I} input to histogram_fraction has NaN observations, which are excluded from all fractions`,
      metric,
    ),
  mismatchedCustomBuckets: (op: HistOp) =>
    `${I} mismatched custom buckets were reconciled during ${op}`,
} as const;
