/**
 * Turns Prometheus matrix results into uPlot's columnar data (`[xs, ys...]`
 * with ascending x in seconds and `null` gaps), legend names and legend
 * calculations; and histograms (classic `_bucket` series or native histogram
 * points) into heatmap cells.
 *
 * @module
 */
import type { MatrixSeries } from "./api.ts";
import { type FieldOverride, overrideFor } from "../core/dashboards/mod_browser.ts";

/** One drawn series. */
export interface ChartSeries {
  readonly name: string;
  readonly metric: Record<string, string>;
  /** A colour from an override; the palette's otherwise. */
  readonly color?: string;
}

/** Columnar chart data: `data[0]` are x seconds, `data[i+1]` series i. */
export interface ChartData {
  readonly series: ChartSeries[];
  readonly data: [number[], ...(number | null)[][]];
}

/** Legend text from a `{{label}}` template, or the series in selector form. */
export function legendName(metric: Record<string, string>, format: string): string {
  if (format) {
    return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, k) => metric[k] ?? "");
  }
  const name = metric.__name__ ?? "";
  const rest = Object.keys(metric).filter((k) => k !== "__name__").sort()
    .map((k) => `${k}="${metric[k]}"`);
  if (rest.length === 0) return name || "{}";
  return `${name}{${rest.join(", ")}}`;
}

/** Parses a Prometheus sample value string (`"+Inf"`, `"NaN"`, numbers). */
export function sampleValue(s: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  return Number(s);
}

/** Field overrides of a panel. */
type SeriesOverrides = readonly FieldOverride[] | undefined;

/**
 * Aligns several matrix results (one per target) into columnar data. Field
 * overrides rename (`displayName`), colour, and draw below the axis
 * (`negativeY`: values negated) the series they match by legend name.
 */
export function toChartData(
  results: readonly { series: readonly MatrixSeries[]; legendFormat: string }[],
  overrides?: SeriesOverrides,
): ChartData {
  const xsSet = new Set<number>();
  for (const r of results) for (const s of r.series) for (const [t] of s.values) xsSet.add(t);
  const xs = [...xsSet].sort((a, b) => a - b);
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const series: ChartSeries[] = [];
  const ys: (number | null)[][] = [];
  for (const r of results) {
    for (const s of r.series) {
      const name = legendName(s.metric, r.legendFormat);
      const o = overrideFor(name, overrides);
      const sign = o.negativeY ? -1 : 1;
      const col: (number | null)[] = new Array(xs.length).fill(null);
      for (const [t, v] of s.values) {
        const n = sampleValue(v);
        col[index.get(t)!] = Number.isFinite(n) ? sign * n : null;
      }
      series.push({
        name: o.displayName ?? name,
        metric: s.metric,
        ...(o.color ? { color: o.color } : {}),
      });
      ys.push(col);
    }
  }
  return { series, data: [xs, ...ys] };
}

/** Legend calculations over one column, ignoring gaps. */
export interface SeriesCalcs {
  min: number;
  max: number;
  avg: number;
  last: number;
}

/** Computes min, max, avg and last of a column (NaN when empty). */
export function calcs(col: readonly (number | null)[]): SeriesCalcs {
  let min = Infinity, max = -Infinity, sum = 0, n = 0, last = NaN;
  for (const v of col) {
    if (v === null || v !== v) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    n++;
    last = v;
  }
  return n === 0 ? { min: NaN, max: NaN, avg: NaN, last: NaN } : { min, max, avg: sum / n, last };
}

/** Heatmap cells: per time column, the count in each bucket (non-cumulative). */
export interface HeatmapData {
  /** Times in seconds. */
  readonly xs: number[];
  /** Upper bounds of the rows, ascending (the last may be +Inf). */
  readonly bounds: number[];
  /** Lower bound of each row (a classic histogram's first row: 0). */
  readonly lowers: number[];
  /** `counts[b][i]`: observations in bucket b at xs[i]. */
  readonly counts: number[][];
  readonly maxCount: number;
}

/**
 * Heatmap cells from histogram series of either kind: classic `_bucket`
 * series (cumulative, with an `le` label, one per bound; buckets of several
 * label sets at one bound are summed, then each bound's count is its
 * cumulative count minus the previous bound's), and native histograms (the
 * `histograms` points of a series: each populated bucket is a row, keyed by
 * its upper bound; several series' buckets with the same upper bound add
 * up). Float series without `le` are ignored.
 */
export function toHeatmap(series: readonly MatrixSeries[]): HeatmapData {
  const rows = new Map<number, Map<number, number>>();
  const lowerOf = new Map<number, number>();
  const xsSet = new Set<number>();
  const row = (upper: number, lower: number) => {
    let m = rows.get(upper);
    if (!m) {
      rows.set(upper, m = new Map());
      lowerOf.set(upper, lower);
    }
    return m;
  };
  const populated = (c: number) => Number.isFinite(c) && c > 0;
  const add = (m: Map<number, number>, t: number, c: number) => m.set(t, (m.get(t) ?? 0) + c);
  // Classic buckets: cumulative per bound, summed over label sets.
  const classic = new Map<number, Map<number, number>>();
  for (const s of series) {
    for (const [t, h] of s.histograms ?? []) {
      xsSet.add(t);
      for (const [, lo, hi, text] of h.buckets ?? []) {
        const c = Number(text);
        if (populated(c)) add(row(sampleValue(hi), sampleValue(lo)), t, c);
      }
    }
    const le = s.metric.le;
    if (le === undefined) continue;
    const b = sampleValue(le);
    let m = classic.get(b);
    if (!m) classic.set(b, m = new Map());
    for (const [t, v] of s.values) {
      xsSet.add(t);
      m.set(t, (m.get(t) ?? 0) + sampleValue(v));
    }
  }
  const les = [...classic.keys()].sort((a, b) => a - b);
  les.forEach((b, bi) => {
    // Every classic bucket is a row, also one without observations.
    const m = row(b, bi > 0 ? les[bi - 1]! : 0);
    const prev = bi > 0 ? classic.get(les[bi - 1]!)! : undefined;
    for (const [t, cum] of classic.get(b)!) {
      const c = cum - (prev?.get(t) ?? 0);
      if (populated(c)) add(m, t, c);
    }
  });
  const xs = [...xsSet].sort((a, b) => a - b);
  const bounds = [...rows.keys()].sort((a, b) => a - b);
  let maxCount = 0;
  const counts = bounds.map((b) => {
    const m = rows.get(b)!;
    const row = xs.map((x) => m.get(x) ?? 0);
    for (const c of row) if (c > maxCount) maxCount = c;
    return row;
  });
  return { xs, bounds, lowers: bounds.map((b) => lowerOf.get(b)!), counts, maxCount };
}

/** The colour of `v` by thresholds (sorted ascending by value); `fallback` without any. */
export function thresholdColor(
  v: number,
  thresholds: readonly { value: number; color: string }[],
  fallback: string,
): string {
  if (thresholds.length === 0 || v !== v) return fallback;
  const sorted = [...thresholds].sort((a, b) => a.value - b.value);
  let c = sorted[0]!.color;
  for (const t of sorted) if (v >= t.value) c = t.color;
  return c;
}
