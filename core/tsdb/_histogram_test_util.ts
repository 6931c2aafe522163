/**
 * Histograms for storage tests.
 *
 * @module
 */
import type { NativeHistogram } from "../model/mod.ts";

/**
 * A counter histogram after `i` observations rounds: its buckets grow, a
 * third bucket appears at i = 50 (a layout change without a reset).
 */
export function counterHistogram(i: number): NativeHistogram {
  const positiveBuckets = i < 50 ? [i, 2 * i] : [i, 2 * i, i - 50];
  const count = positiveBuckets.reduce((a, b) => a + b, 0) + i;
  return {
    schema: 2,
    zeroThreshold: 1e-128,
    zeroCount: i,
    count,
    sum: i * 0.75,
    positiveSpans: [{ offset: -1, length: positiveBuckets.length }],
    positiveBuckets,
    negativeSpans: [],
    negativeBuckets: [],
    float: false,
    counterResetHint: "unknown",
  };
}
