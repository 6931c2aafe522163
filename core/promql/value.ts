/**
 * Query results (public) and the evaluator's internal per-step values.
 *
 * @module
 */
import { type Labels, labelsKey } from "../model/mod.ts";
import type { FloatHistogram } from "./float_histogram.ts";
import { type IdleMemoryHolder, keepsIdleMemory } from "../idle_memory.ts";

/** One sample of an instant vector result. */
export interface Sample {
  readonly labels: Labels;
  /** Evaluation timestamp in ms. */
  readonly t: number;
  /** The float value (0 for a histogram sample). */
  readonly v: number;
  /** The native histogram, when the sample is one. */
  readonly h?: FloatHistogram;
}

/** Histogram points of a series: timestamps ascending, one histogram each. */
export interface HistPoints {
  readonly t: Float64Array;
  readonly h: readonly FloatHistogram[];
}

/**
 * One series of a range result: float points (`t` and `v` have the same
 * length, `t` ascending) and, apart, histogram points when it has any.
 */
export interface Series {
  readonly labels: Labels;
  readonly t: Float64Array;
  readonly v: Float64Array;
  readonly histograms?: HistPoints;
}

/** A query result, as Prometheus's four value types. */
export type Value =
  | { readonly type: "scalar"; readonly t: number; readonly v: number }
  | { readonly type: "string"; readonly t: number; readonly v: string }
  | { readonly type: "vector"; readonly samples: Sample[] }
  | { readonly type: "matrix"; readonly series: Series[] };

/** A sample inside the evaluator: labels, value and the delayed `__name__` drop flag. */
export interface ESample {
  labels: Labels;
  v: number;
  /** A native histogram sample (then `v` is unused). Never changed once made. */
  h?: FloatHistogram;
  /** `__name__` is removed at the end of evaluation (Prometheus 3 delayed name removal). */
  dropName: boolean;
  /** The sample's own timestamp, set only by vector selectors (for `timestamp()`). */
  t?: number;
}

/** An instant vector evaluated at every step. */
export interface StepVectors {
  readonly kind: "vector";
  readonly steps: ESample[][];
  /** The same vector as per-series columns, when the producer built it so. */
  readonly cols?: VectorColumns;
}

/**
 * An instant vector over all steps as one column per series (no per-sample
 * objects). At each step, the vector is the present series in series order.
 */
export interface VectorColumns {
  readonly labels: Labels[];
  readonly dropName: boolean[];
  /** `v[s][i]`: series `s` at step `i` (meaningful only where `present[s][i]`). */
  readonly v: Float64Array[];
  /** 1 where series `s` has a sample at step `i`. */
  readonly present: Uint8Array[];
  /** Each sample's own timestamp, from vector selectors only (for `timestamp()`). */
  readonly t?: Float64Array[];
  /** Number of present samples in all columns. */
  readonly count: number;
  /** Number of steps (each column's length). */
  readonly steps: number;
}

/** Most cells (series × steps) a node writes as columns rather than per-step samples. */
export const MAX_COLUMN_CELLS = 1 << 22;

/** A {@linkcode StepVectors} backed by columns; `steps` is built on first use. */
export class ColumnVector implements StepVectors {
  readonly kind = "vector" as const;
  #steps: ESample[][] | undefined;
  constructor(readonly cols: VectorColumns) {}
  /** Per-step samples, in series order (materialized once). */
  get steps(): ESample[][] {
    if (this.#steps) return this.#steps;
    const { labels, dropName, v, present, t, steps: n } = this.cols;
    const out: ESample[][] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = [];
    for (let s = 0; s < labels.length; s++) {
      const vs = v[s]!, ps = present[s]!, l = labels[s]!, d = dropName[s]!, st = t?.[s];
      for (let i = 0; i < n; i++) {
        if (!ps[i]) continue;
        out[i]!.push(
          st
            ? { labels: l, v: vs[i]!, dropName: d, t: st[i]! }
            : { labels: l, v: vs[i]!, dropName: d },
        );
      }
    }
    this.#steps = out;
    return out;
  }
}

/** A scalar evaluated at every step. */
export interface StepScalars {
  readonly kind: "scalar";
  readonly v: Float64Array;
}

/** A string value. */
export interface StringValue {
  readonly kind: "string";
  readonly s: string;
}

/** A range vector: full series plus how to cut a window per step. */
export interface RangeSeries {
  labels: Labels;
  /** Timestamps (ms), ascending, stale markers already removed. */
  t: Float64Array;
  v: Float64Array;
  dropName: boolean;
  /** Native histogram samples, apart from the floats (stale markers removed). */
  histograms?: HistPoints;
  /** Raw samples per point, from a downsampled tier (SeriesData `counts`); absent: one each. */
  counts?: Float64Array;
}

/** A range vector source (matrix selector or subquery) for range functions. */
export interface MatrixValue {
  readonly kind: "matrix";
  readonly series: RangeSeries[];
  /** Window length in ms. */
  readonly range: number;
  /** Offset in ms. */
  readonly offset: number;
  /** Fixed evaluation time from `@` or an absolute range, else per step. */
  readonly at?: number;
  /** True when the window's start is inclusive (absolute ranges `[t1:t2]`). */
  readonly closedStart?: boolean;
  /** True for a matrix selector: series are stored data, read one window at a time. */
  readonly fromSelector?: boolean;
}

/** Any evaluated node. */
export type EvalValue = StepVectors | StepScalars | StringValue | MatrixValue;

/**
 * String keys of label sets (label arrays are never mutated), dropped by the
 * reclaim after bursts (core/idle_memory.ts): entries go with their label
 * sets, but the table keeps the size the largest query gave it (~1 MB after
 * a round of wide queries, nearly all of it empty).
 */
class LabelKeys implements IdleMemoryHolder {
  #byLabels = new WeakMap<Labels, string>();

  constructor() {
    keepsIdleMemory(this);
  }

  of(labels: Labels): string {
    let k = this.#byLabels.get(labels);
    if (k === undefined) {
      k = labelsKey(labels);
      this.#byLabels.set(labels, k);
    }
    return k;
  }

  releaseIdle(): void {
    this.#byLabels = new WeakMap();
  }
}
const labelKeys = new LabelKeys();

/** A cached string key for a label set (label arrays are never mutated). */
export function keyOf(labels: Labels): string {
  return labelKeys.of(labels);
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
