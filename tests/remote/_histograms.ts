/**
 * Native histograms for the interop tests, and the Prometheus HTTP API's
 * JSON form of one (`{count, sum, buckets: [[rule, left, right, count]]}`),
 * computed independently of Perch's own API code to compare a peer's answer
 * with what Perch stored.
 */
import type { NativeHistogram } from "../../core/model/mod.ts";

/**
 * Histogram `i` of a series: schema 3, a zero bucket, two positive spans
 * (one widens at i = 10) and a negative span; `float` scales the counts by
 * 0.25 into a float histogram.
 */
export function testHistogram(i: number, float = false): NativeHistogram {
  const k = float ? 0.25 : 1;
  const pos = (i < 10 ? [i + 1, 2 * i + 1, i] : [i + 1, 2 * i + 1, i, i - 9]).map((c) => c * k);
  const neg = [i, 1].map((c) => c * k);
  const zeroCount = i * k;
  const count = pos.reduce((a, b) => a + b, 0) + neg.reduce((a, b) => a + b, 0) + zeroCount;
  return {
    schema: 3,
    zeroThreshold: 0.001,
    zeroCount,
    count,
    sum: i * 1.5 - 0.25,
    positiveSpans: [{ offset: 2, length: 2 }, { offset: 3, length: i < 10 ? 1 : 2 }],
    positiveBuckets: pos,
    negativeSpans: [{ offset: -1, length: 2 }],
    negativeBuckets: neg,
    float,
    counterResetHint: "unknown",
  };
}

/** A histogram with custom buckets (schema −53): bounds 0.1, 0.5, 2.5 and +Inf. */
export function customHistogram(i: number): NativeHistogram {
  const buckets = [i, 2 * i + 1, 1, i % 3];
  return {
    schema: -53,
    zeroThreshold: 0,
    zeroCount: 0,
    count: buckets.reduce((a, b) => a + b, 0),
    sum: i * 0.7,
    positiveSpans: [{ offset: 0, length: 4 }],
    positiveBuckets: buckets,
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [0.1, 0.5, 2.5],
    float: false,
    counterResetHint: "unknown",
  };
}

/** A histogram as the Prometheus API shows it, with numbers instead of strings. */
export interface ApiHistogram {
  count: number;
  sum: number;
  buckets: [number, number, number, number][];
}

/** Parses the API's string form. */
export function parseApiHistogram(
  j: { count: string; sum: string; buckets?: [number, string, string, string][] },
): ApiHistogram {
  return {
    count: Number(j.count),
    sum: Number(j.sum),
    buckets: (j.buckets ?? []).map(([r, a, b, c]) => [r, Number(a), Number(b), Number(c)]),
  };
}

/**
 * The API form of an exponential histogram: buckets with a count, negative
 * ones (highest first, `[left, right)`, rule 1), the zero bucket (`[-zt,
 * zt]`, rule 3), then positive ones (`(left, right]`, rule 0).
 */
export function apiHistogram(h: NativeHistogram): ApiHistogram {
  const base = 2 ** (2 ** -h.schema);
  const side = (spans: NativeHistogram["positiveSpans"], counts: readonly number[]) => {
    const out: [number, number][] = [];
    let idx = 0, k = 0;
    for (let s = 0; s < spans.length; s++) {
      idx += spans[s]!.offset;
      for (let j = 0; j < spans[s]!.length; j++) out.push([idx++, counts[k++]!]);
    }
    return out.filter(([, c]) => c !== 0);
  };
  const buckets: [number, number, number, number][] = [];
  for (const [i, c] of side(h.negativeSpans, h.negativeBuckets).reverse()) {
    buckets.push([1, -(base ** i), -(base ** (i - 1)), c]);
  }
  if (h.zeroCount !== 0) buckets.push([3, -h.zeroThreshold, h.zeroThreshold, h.zeroCount]);
  for (const [i, c] of side(h.positiveSpans, h.positiveBuckets)) {
    buckets.push([0, base ** (i - 1), base ** i, c]);
  }
  return { count: h.count, sum: h.sum, buckets };
}

/** Whether two API histograms agree: counts and sums exactly, bounds to 1e-12. */
export function sameApiHistogram(a: ApiHistogram, b: ApiHistogram): boolean {
  const near = (x: number, y: number) => x === y || Math.abs(x - y) <= 1e-12 * Math.abs(y);
  return a.count === b.count && Object.is(a.sum, b.sum) && a.buckets.length === b.buckets.length &&
    a.buckets.every((x, k) => {
      const y = b.buckets[k]!;
      return x[0] === y[0] && near(x[1], y[1]) && near(x[2], y[2]) && x[3] === y[3];
    });
}
