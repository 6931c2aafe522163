/**
 * An in-memory store implementing {@linkcode Querier}: the engine's test
 * double and the store behind the PromQL conformance runner.
 *
 * @module
 */
import {
  compareLabels,
  type Labels,
  labelsKey,
  type Matcher,
  matchesAll,
  type MetricMetadata,
  type NativeHistogram,
  type Querier,
  type SelectHints,
  type SeriesData,
} from "../model/mod.ts";

interface MemSeries {
  labels: Labels;
  t: Float64Array;
  // Float64Array keeps the staleness marker's NaN bit pattern; plain arrays may not.
  v: Float64Array;
  /** The histogram of sample i, when it is one (`v[i]` is then unused). */
  h: (NativeHistogram | undefined)[] | undefined;
  n: number;
  sorted: boolean;
}

/** A series store held in plain arrays; samples may be added in any order. */
export class MemStore implements Querier {
  #series = new Map<string, MemSeries>();
  #meta = new Map<string, MetricMetadata>();

  /** Adds one sample; a sample at an existing timestamp replaces the old value. */
  add(labels: Labels, t: number, v: number): void {
    this.#add(labels, t, v, undefined);
  }

  /** Adds one native histogram sample; it replaces any sample at the same timestamp. */
  addHistogram(labels: Labels, t: number, h: NativeHistogram): void {
    this.#add(labels, t, 0, h);
  }

  #add(labels: Labels, t: number, v: number, h: NativeHistogram | undefined): void {
    const key = labelsKey(labels);
    let s = this.#series.get(key);
    if (!s) {
      s = {
        labels,
        t: new Float64Array(16),
        v: new Float64Array(16),
        h: undefined,
        n: 0,
        sorted: true,
      };
      this.#series.set(key, s);
    }
    const n = s.n;
    if (n > 0 && s.t[n - 1]! >= t) s.sorted = false;
    if (n === s.t.length) {
      const t2 = new Float64Array(n * 2), v2 = new Float64Array(n * 2);
      t2.set(s.t);
      v2.set(s.v);
      s.t = t2;
      s.v = v2;
    }
    s.t[n] = t;
    s.v[n] = v;
    if (h) (s.h ??= [])[n] = h;
    else if (s.h) s.h[n] = undefined;
    s.n = n + 1;
  }

  /** Records metadata for a metric name. */
  setMetadata(name: string, meta: MetricMetadata): void {
    this.#meta.set(name, meta);
  }

  /** Drops every series and all metadata. */
  clear(): void {
    this.#series.clear();
    this.#meta.clear();
  }

  #normalise(s: MemSeries): void {
    if (s.sorted) return;
    // Stable sort by time; the last sample added at a timestamp wins.
    const idx = Array.from({ length: s.n }, (_, i) => i);
    idx.sort((a, b) => s.t[a]! - s.t[b]! || a - b);
    const t = new Float64Array(s.t.length), v = new Float64Array(s.v.length);
    const h = s.h ? new Array<NativeHistogram | undefined>(s.n) : undefined;
    let m = 0;
    for (const i of idx) {
      if (m === 0 || t[m - 1] !== s.t[i]) m++;
      t[m - 1] = s.t[i]!;
      v[m - 1] = s.v[i]!;
      if (h) h[m - 1] = s.h![i];
    }
    s.t = t;
    s.v = v;
    s.h = h;
    s.n = m;
    s.sorted = true;
  }

  #matching(matchers: readonly Matcher[], hints: SelectHints): MemSeries[] {
    const out: MemSeries[] = [];
    for (const s of this.#series.values()) {
      if (!matchesAll(matchers, s.labels)) continue;
      this.#normalise(s);
      const lo = lowerBound(s.t, s.n, hints.minT);
      if (lo < s.n && s.t[lo]! <= hints.maxT) out.push(s);
    }
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    return out;
  }

  /** Series matching all matchers with samples in [minT, maxT], sorted by labels. */
  select(matchers: readonly Matcher[], hints: SelectHints): Promise<SeriesData[]> {
    const out: SeriesData[] = [];
    try {
      for (const s of this.#matching(matchers, hints)) {
        const lo = lowerBound(s.t, s.n, hints.minT);
        const hi = lowerBound(s.t, s.n, hints.maxT + 1);
        hints.onRead?.(hi - lo);
        out.push(sliceSeries(s, lo, hi));
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(out);
  }

  /** Label names over matching series, sorted. */
  labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    const names = new Set<string>();
    for (const s of this.#matching(matchers, hints)) for (const l of s.labels) names.add(l.name);
    return Promise.resolve([...names].sort());
  }

  /** Values of one label over matching series, sorted. */
  labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    const values = new Set<string>();
    for (const s of this.#matching(matchers, hints)) {
      for (const l of s.labels) if (l.name === name) values.add(l.value);
    }
    return Promise.resolve([...values].sort());
  }

  /** Label sets of matching series, sorted. */
  series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    return Promise.resolve(this.#matching(matchers, hints).map((s) => s.labels));
  }

  /** Metadata by metric name. */
  metadata(): Promise<Map<string, MetricMetadata>> {
    return Promise.resolve(new Map(this.#meta));
  }
}

/** Samples lo...hi-1 of a series, floats and histograms apart. */
function sliceSeries(s: MemSeries, lo: number, hi: number): SeriesData {
  if (!s.h) return { labels: s.labels, t: s.t.slice(lo, hi), v: s.v.slice(lo, hi) };
  const ft: number[] = [], ht: number[] = [];
  const hh: NativeHistogram[] = [];
  for (let i = lo; i < hi; i++) {
    const h = s.h[i];
    if (h) {
      ht.push(s.t[i]!);
      hh.push(h);
    } else ft.push(s.t[i]!);
  }
  const v = new Float64Array(ft.length);
  // Copied one by one from the typed array so stale markers keep their bits.
  for (let i = lo, k = 0; i < hi; i++) if (!s.h[i]) v[k++] = s.v[i]!;
  const out: SeriesData = { labels: s.labels, t: Float64Array.from(ft), v };
  return hh.length > 0 ? { ...out, histograms: { t: Float64Array.from(ht), h: hh } } : out;
}

function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
