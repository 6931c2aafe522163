/**
 * Read path: merges blocks, blocks being written and the head into one
 * ascending, deduplicated run per series. Sources are merged from oldest to
 * newest write (blocks by sequence, then flushes in progress, then the head),
 * so on equal timestamps the newest write wins. Downsampled blocks answer
 * with the aggregate `hints.func` needs (downsample.ts, `viewFor`).
 *
 * @module
 */
import { BufferPool } from "../buffer_pool.ts";
import { type IdleMemoryHolder, keepsIdleMemory } from "../idle_memory.ts";
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
import { BlockCorruptError, type BlockReader, type BlockSlice } from "./block.ts";
import { ChunkCorruptError, chunkMeta } from "./chunk.ts";
import { AGG, aggRef, viewFor } from "./downsample.ts";
import type { DbState } from "./db_state.ts";
import { SampleBuf } from "./_sample_buf.ts";
import type { Samples } from "./head.ts";
import type { HistogramSamples } from "./histogram_chunk.ts";

/** Where the querier reads samples from; {@linkcode DbSources} for a database. */
export interface SampleSources {
  readonly index: SeriesIndex;
  /**
   * Samples of `refs` in [hints.minT, hints.maxT], merged over all sources
   * (newest write wins), ascending; the arrays are owned by the caller (fresh,
   * or from `hints.arena`). Refs without samples in range are absent. Uses
   * `func` (tier aggregate), `onRead` and `arena` of the hints.
   */
  read(refs: readonly number[], hints: SelectHints): Promise<Map<number, Samples>>;
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
    const got = refs.length > 0 ? await src.read(refs, hints) : new Map<number, Samples>();
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
      const s: SeriesData = m?.c ? { labels, t, v, counts: m.c } : { labels, t, v };
      out.push(h ? { ...s, histograms: h } : s);
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

/**
 * The sources of an open database: blocks (merged by sequence), blocks
 * being written, the head, and native histograms (histogram_store.ts).
 */
export class DbSources implements SampleSources, IdleMemoryHolder {
  readonly #db: DbState;
  /** Scratch buffer of the merge (reads share it; the merge is synchronous). */
  readonly #sampleBuf = new SampleBuf();
  /** Buffers block regions are read into, reused read after read (up to 4 × 4 MiB kept). */
  readonly #readBuffers = new BufferPool(4, 4 << 20);

  constructor(db: DbState) {
    this.#db = db;
    keepsIdleMemory(this);
  }

  /** Drops the merge's scratch buffer (the read buffers' pool drops its own). */
  releaseIdle(): void {
    this.#sampleBuf.releaseIdle();
  }

  /** The series index. */
  get index(): SeriesIndex {
    return this.#db.index;
  }

  /**
   * Samples of `refs` in [minT, maxT], merged over blocks (by sequence),
   * flushes in progress and the head: per series one exact-size pair of
   * arrays owned by the caller (fresh, or from `hints.arena`).
   */
  async read(
    refs: readonly number[],
    hints: SelectHints,
    attempt = 0,
  ): Promise<Map<number, Samples>> {
    // Block regions read for this call go back to the pool when it returns.
    const taken: Uint8Array[] = [];
    try {
      return await this.#read(refs, hints, attempt, taken);
    } finally {
      for (const b of taken) this.#readBuffers.give(b);
    }
  }

  async #read(
    refs: readonly number[],
    hints: SelectHints,
    attempt: number,
    taken: Uint8Array[],
  ): Promise<Map<number, Samples>> {
    const { minT, maxT, func, onRead, arena } = hints;
    const take = (n: number) => {
      const b = this.#readBuffers.take(n);
      taken.push(b);
      return b;
    };
    const seqs = [...this.#db.blocks.keys()].sort((a, b) => a - b);
    const slices: (BlockSlice | Map<number, Samples>)[] = [];
    const sliceSeq: number[] = [];
    for (const seq of seqs) {
      const b = this.#db.blocks.get(seq);
      if (!b || b.meta.maxT < minT || b.meta.minT > maxT) continue;
      try {
        const s = b.meta.resolution
          ? await readTier(b, refs, minT, maxT, func)
          : await b.load(refs, minT, maxT, take);
        if (s) {
          slices.push(s);
          sliceSeq.push(seq);
        }
      } catch (e) {
        if (e instanceof ChunkCorruptError || e instanceof BlockCorruptError) {
          if (!b.scrubbed) {
            // Not checked whole yet: check it now, leave out what is damaged, read again.
            await this.#db.scrubBlock(seq, b);
            return this.#read(refs, hints, attempt, taken);
          }
          await this.#db.dropCorrupt(seq, b, e);
          continue;
        }
        throw e;
      }
    }
    // A flush, compaction or tier that finished while blocks were loading
    // moved samples out of the head (or out of blocks read) into a block this
    // read did not list: read again, or those samples would be missing (remote
    // write would skip them for good).
    if (attempt < 8 && !sameKeys(this.#db.blocks, seqs)) {
      return this.#read(refs, hints, attempt + 1, taken);
    }
    const frozen = this.#db.frozen.filter((f) => {
      const lo = f.window * this.#db.range;
      return lo + this.#db.range - 1 >= minT && lo <= maxT;
    });
    // Synchronous from here on: the scratch buffer is shared.
    const buf = this.#sampleBuf;
    buf.newQuery();
    const out = new Map<number, Samples>();
    let bad: number[] | undefined;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i];
      buf.reset();
      for (let k = 0; k < slices.length; k++) {
        const sl = slices[k];
        if (sl instanceof Map) {
          const d = sl.get(ref);
          if (d) buf.push(d.t, d.v, 0, d.t.length, d.c);
        } else {
          const n0 = buf.n;
          try {
            sl.decodeInto(i, buf);
          } catch (e) {
            if (!(e instanceof ChunkCorruptError)) throw e;
            (bad ??= []).push(sliceSeq[k]);
            buf.n = n0;
          }
        }
        buf.endSegment();
      }
      for (const f of frozen) {
        const cs = f.chunks.get(ref);
        if (!cs) continue;
        for (const c of cs) buf.decode(c, chunkMeta(c).count, false);
        buf.endSegment();
      }
      this.#db.head.readInto(ref, minT, maxT, buf);
      const r = buf.finish(minT, maxT, arena);
      if (r) {
        onRead?.(r.t.length);
        out.set(ref, r);
      }
    }
    if (bad) {
      // Never serve a corrupt chunk: a block not checked whole yet is checked
      // now (its damaged chunks are left out from then on), any other is
      // quarantined; then the read starts again.
      for (const seq of new Set(bad)) {
        const b = this.#db.blocks.get(seq);
        if (b && !b.scrubbed) await this.#db.scrubBlock(seq, b);
        else if (b) {
          await this.#db.dropCorrupt(seq, b, new ChunkCorruptError("chunk checksum mismatch"));
        }
      }
      return this.#read(refs, hints, 0, taken);
    }
    return out;
  }

  /** True when some source (block, flush in progress, head) may hold data in [minT, maxT]. */
  mayHaveData(minT: number, maxT: number): boolean {
    if (!this.#db.hist.empty) return true;
    const h = this.#db.head.timeRange();
    if (h && h.maxT >= minT && h.minT <= maxT) return true;
    for (const b of this.#db.blocks.values()) {
      if (b.meta.maxT >= minT && b.meta.minT <= maxT) return true;
    }
    for (const f of this.#db.frozen) {
      const lo = f.window * this.#db.range;
      if (lo + this.#db.range - 1 >= minT && lo <= maxT) return true;
    }
    return false;
  }

  withData(refs: readonly number[], minT: number, maxT: number): number[] {
    if (!this.mayHaveData(minT, maxT)) return [];
    const blocks = [...this.#db.blocks.values()].filter((b) =>
      b.meta.maxT >= minT && b.meta.minT <= maxT
    );
    const frozen = this.#db.frozen.filter((f) => {
      const lo = f.window * this.#db.range;
      return lo + this.#db.range - 1 >= minT && lo <= maxT;
    });
    const h = this.#db.head.timeRange();
    const inHead = h !== undefined && h.maxT >= minT && h.minT <= maxT;
    const out: number[] = [];
    outer: for (const ref of refs) {
      if (inHead && this.#db.head.hasData(ref, minT, maxT)) {
        out.push(ref);
        continue;
      }
      for (const b of blocks) {
        const r = b.meta.resolution ? aggRef(ref, AGG.last) : ref;
        if (b.hasData(r, minT, maxT)) {
          out.push(ref);
          continue outer;
        }
      }
      for (const f of frozen) {
        for (const c of f.chunks.get(ref) ?? []) {
          const m = chunkMeta(c);
          if (m.maxT >= minT && m.minT <= maxT) {
            out.push(ref);
            continue outer;
          }
        }
      }
    }
    return out;
  }

  /** Native histogram samples of `refs` in [minT, maxT]. */
  histograms(
    refs: readonly number[],
    minT: number,
    maxT: number,
  ): Promise<Map<number, HistogramSamples>> {
    return this.#db.hist.read(refs, minT, maxT);
  }

  /** The refs among `refs` with histogram samples in [minT, maxT]. */
  histogramRefs(refs: readonly number[], minT: number, maxT: number): number[] {
    return this.#db.hist.empty ? [] : this.#db.hist.withData(refs, minT, maxT);
  }
}

const TIER_AGGS = Object.values(AGG).sort((a, b) => a - b);

/** Reads a downsampled block: per series the aggregate view `func` needs. */
async function readTier(
  b: BlockReader,
  refs: readonly number[],
  minT: number,
  maxT: number,
  func: string | undefined,
): Promise<Map<number, Samples>> {
  const want: number[] = [];
  for (const ref of refs) for (const a of TIER_AGGS) want.push(aggRef(ref, a));
  const got = await b.read(want, minT, maxT);
  const out = new Map<number, Samples>();
  for (const ref of refs) {
    const parts = new Map<number, Samples>();
    for (const a of TIER_AGGS) {
      const x = got.get(aggRef(ref, a));
      if (x) parts.set(a, x);
    }
    if (parts.size === 0) continue;
    const v = viewFor(parts, func);
    if (v && v.t.length > 0) out.set(ref, v);
  }
  return out;
}

/** Whether `m` has exactly the keys in `keys`. */
function sameKeys(m: ReadonlyMap<number, unknown>, keys: readonly number[]): boolean {
  if (m.size !== keys.length) return false;
  for (const k of keys) if (!m.has(k)) return false;
  return true;
}
