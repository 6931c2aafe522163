/**
 * Read path: merges blocks, blocks being written and the head into one
 * ascending, deduplicated run per series. Sources are merged from oldest to
 * newest write (blocks by sequence, then flushes in progress, then the head),
 * so on equal timestamps the newest write wins. Downsampled blocks answer
 * with the aggregate `hints.func` needs (downsample.ts, `viewFor`).
 *
 * @module
 */
import {
  compareLabels,
  type Labels,
  type Matcher,
  type MetricMetadata,
  type Querier,
  type SelectHints,
  type SeriesData,
} from "../model/mod.ts";
import type { SeriesIndex } from "./index.ts";
import type { Samples } from "./head.ts";
import type { HistogramSamples } from "./histogram_chunk.ts";

/** Where the querier reads samples from; implemented by the database. */
export interface SampleSources {
  readonly index: SeriesIndex;
  /**
   * Samples of `refs` in [minT, maxT], merged over all sources (newest write
   * wins), ascending; the arrays are fresh and owned by the caller. Refs
   * without samples in range are absent.
   */
  read(
    refs: readonly number[],
    minT: number,
    maxT: number,
    func?: string,
    onRead?: (samples: number) => void,
  ): Promise<Map<number, Samples>>;
  /**
   * The refs among `refs` (ascending) with data in [minT, maxT], from time
   * bounds kept per series (block tables, head chunks) without reading
   * samples. When absent, the querier reads samples instead.
   */
  withData?(refs: readonly number[], minT: number, maxT: number): number[];
  /**
   * False when no source can hold data in [minT, maxT] (from their time
   * bounds, O(sources)); histograms count as data.
   */
  mayHaveData?(minT: number, maxT: number): boolean;
  /** Native histogram samples of `refs` in [minT, maxT]; refs without any are absent. */
  histograms?(
    refs: readonly number[],
    minT: number,
    maxT: number,
  ): Promise<Map<number, HistogramSamples>>;
  /** The refs among `refs` with histogram samples in [minT, maxT]. */
  histogramRefs?(refs: readonly number[], minT: number, maxT: number): number[];
}

/** A {@linkcode Querier} over a database's sources. */
export class DbQuerier implements Querier {
  constructor(readonly sources: SampleSources) {}

  /** Series matching all matchers with a sample in [minT, maxT], sorted by labels. */
  async select(matchers: readonly Matcher[], hints: SelectHints): Promise<SeriesData[]> {
    const src = this.sources;
    if (src.mayHaveData && !src.mayHaveData(hints.minT, hints.maxT)) return [];
    const all = src.index.select(matchers);
    const hRefs = all.length > 0 && src.histogramRefs
      ? src.histogramRefs(all, hints.minT, hints.maxT)
      : [];
    let refs = all;
    // Per-series time bounds skip series (and all their reads) without data in range.
    if (src.withData && refs.length > 0 && (hints.minT !== -Infinity || hints.maxT !== Infinity)) {
      refs = src.withData(refs, hints.minT, hints.maxT);
    }
    if (refs.length === 0 && hRefs.length === 0) return [];
    const got = refs.length > 0
      ? await src.read(refs, hints.minT, hints.maxT, hints.func, hints.onRead)
      : new Map<number, Samples>();
    const hist = hRefs.length > 0
      ? await src.histograms!(hRefs, hints.minT, hints.maxT)
      : undefined;
    const out: SeriesData[] = [];
    for (const ref of hist ? [...new Set([...refs, ...hRefs])] : refs) {
      const m = got.get(ref);
      const h = hist?.get(ref);
      if ((!m || m.t.length === 0) && !h) continue;
      const labels = src.index.labels(ref)!;
      const t = m?.t ?? new Float64Array(0), v = m?.v ?? new Float64Array(0);
      out.push(h ? { labels, t, v, histograms: h } : { labels, t, v });
    }
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    return out;
  }

  /**
   * Label sets of matching series with data in range, sorted. With
   * `withData`, "data in range" means a chunk (or head sample) overlapping
   * it, so a series whose chunk spans the range without a sample inside it
   * may be listed (as Prometheus answers from block bounds).
   */
  async series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    const src = this.sources;
    if (!src.withData) return (await this.select(matchers, hints)).map((s) => s.labels);
    if (src.mayHaveData && !src.mayHaveData(hints.minT, hints.maxT)) return [];
    const all = src.index.select(matchers);
    let refs = all;
    if (hints.minT !== -Infinity || hints.maxT !== Infinity) {
      refs = src.withData(refs, hints.minT, hints.maxT);
      const h = src.histogramRefs?.(all, hints.minT, hints.maxT) ?? [];
      if (h.length > 0) refs = [...new Set([...refs, ...h])];
    }
    return refs.map((r) => src.index.labels(r)!).sort(compareLabels);
  }

  /** Label names over matching series, sorted. */
  async labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    const names = new Set<string>();
    for (const l of await this.#labelSets(matchers, hints)) for (const p of l) names.add(p.name);
    return [...names].sort();
  }

  /** Values of label `name` over matching series, sorted. */
  async labelValues(
    name: string,
    matchers: readonly Matcher[],
    hints: SelectHints,
  ): Promise<string[]> {
    const values = new Set<string>();
    for (const l of await this.#labelSets(matchers, hints)) {
      for (const p of l) if (p.name === name) values.add(p.value);
    }
    return [...values].sort();
  }

  /** Metadata by metric name. */
  metadata(): Promise<Map<string, MetricMetadata>> {
    return Promise.resolve(this.sources.index.metadata());
  }

  #labelSets(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> | Labels[] {
    // With no matchers and an unbounded range, the index alone answers.
    if (matchers.length === 0 && hints.minT === -Infinity && hints.maxT === Infinity) {
      return this.sources.index.select([]).map((r) => this.sources.index.labels(r)!);
    }
    // Otherwise per-series time bounds do (series() reads no samples).
    return this.series(matchers, hints);
  }
}
