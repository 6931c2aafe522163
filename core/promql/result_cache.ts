/**
 * A result cache for range queries, in the manner of the Cortex/Thanos query
 * frontend: results are kept per query (expression, step, grid phase and the
 * engine settings that change answers) as step-aligned *extents*, and only
 * for the immutable part of a query: the steps whose every read lies before
 * `immutableBefore()` (the head's minimum time: older data sits in blocks and
 * no longer changes). A query is answered from the extents it overlaps; the
 * gaps of its immutable part are evaluated, stored and merged in; the
 * mutable rest is always evaluated fresh. Entries are evicted least recently
 * used first, bounded in bytes. A client that does not align its range to
 * the step (Perch's own pages, which end at the current millisecond) asks
 * for a new grid phase every time; only the {@linkcode PHASES_KEPT} most
 * recent phases of a query are kept, so its older grids, never asked for
 * again, do not fill the cache.
 *
 * Every step of a range query is evaluated as an instant query at that time,
 * so a result assembled from pieces equals the whole one. Expressions whose
 * answer at a step depends on the query's own range (`@ start()`, `@ end()`,
 * `@ <time>`, absolute ranges) are never cached.
 *
 * Storage must tell the cache when old data changes: call
 * {@linkcode RangeResultCache.invalidate} with the time range of any write
 * accepted below `immutableBefore()` (out-of-order samples into an old
 * window), and of any block deleted or rewritten with different samples
 * (retention, disk budget, downsampling). Compaction that only merges blocks
 * needs no call.
 *
 * @example
 * ```ts
 * const cache = new RangeResultCache({ maxBytes: 32 << 20, immutableBefore: () => headMinT });
 * const r = await cache.rangeQuery(engine, "sum(rate(x[5m]))", start, end, 60_000);
 * ```
 *
 * @module
 */
import { compareLabels, type Labels } from "../model/mod.ts";
import type { Expr } from "./ast.ts";
import type { Engine, QueryResult } from "./engine.ts";
import { parseExpr } from "./parser.ts";
import { formatExpr } from "./printer.ts";
import type { FloatHistogram } from "./float_histogram.ts";
import type { Series } from "./value.ts";
import { keyOf } from "./value.ts";

/** Cache settings. */
export interface RangeResultCacheOptions {
  /**
   * Most bytes of cached results (an estimate: 16 per point plus labels); 0
   * turns the cache off. @default 33554432
   */
  readonly maxBytes?: number;
  /**
   * Samples older than this time (ms) no longer change, except through
   * {@linkcode RangeResultCache.invalidate}. Usually the head's minimum time.
   */
  readonly immutableBefore: () => number;
  /**
   * Called after a query with the bytes of cached results it was answered
   * from (copied into its answer): the memory guard counts them as query
   * activity, as it counts the samples the engine reads.
   */
  readonly onServed?: (bytes: number) => void;
}

/** Counters of a cache, for self-monitoring. */
export interface RangeResultCacheStats {
  /** Range queries whose immutable part came entirely from the cache. */
  hits: number;
  /** Range queries that evaluated some or all of their immutable part. */
  misses: number;
  /** Bytes held now (estimate). */
  bytes: number;
  /** Cached extents held now. */
  extents: number;
}

/** How far around a step time an expression reads, in ms. */
interface Reach {
  /** The earliest sample read is after `t - back`. */
  back: number;
  /** The latest sample read is at or before `t + ahead` (`-Infinity`: reads no data). */
  ahead: number;
}

/** One cached piece: every step of the grid in [start, end]. */
interface Extent {
  start: number;
  end: number;
  series: Series[];
  warnings: string[];
  infos: string[];
  bytes: number;
}

interface Entry {
  key: string;
  /** The key without the grid phase: what the phases of one query share. */
  query: string;
  reach: Reach;
  /** Sorted by start, disjoint, never adjacent (adjacent ones are merged). */
  extents: Extent[];
  bytes: number;
}

/** Grid phases of one query kept; older ones are dropped when a new one comes. */
export const PHASES_KEPT = 2;

/** The per-series and per-entry overhead counted on top of points and labels. */
const SERIES_OVERHEAD = 64;
const ENTRY_OVERHEAD = 256;

/** The range query result cache; share one across engine rebuilds. */
export class RangeResultCache {
  readonly #maxBytes: number;
  readonly #immutableBefore: () => number;
  readonly #onServed: ((bytes: number) => void) | undefined;
  /** Insertion order is recency order (least recently used first). */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(opts: RangeResultCacheOptions) {
    this.#maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
    this.#immutableBefore = opts.immutableBefore;
    this.#onServed = opts.onServed;
  }

  /** Current counters. */
  stats(): RangeResultCacheStats {
    let extents = 0;
    for (const e of this.#entries.values()) extents += e.extents.length;
    return { hits: this.#hits, misses: this.#misses, bytes: this.#bytes, extents };
  }

  /**
   * Drops every cached extent whose reads overlap [minT, maxT] (ms): storage
   * calls this when samples in that range were added, removed or replaced
   * below `immutableBefore()`.
   */
  invalidate(minT: number, maxT: number): void {
    for (const entry of this.#entries.values()) {
      const keep = entry.extents.filter((x) =>
        x.end + entry.reach.ahead < minT || x.start - entry.reach.back > maxT
      );
      if (keep.length === entry.extents.length) continue;
      for (const x of entry.extents) if (!keep.includes(x)) this.#bytes -= x.bytes;
      entry.bytes = keep.reduce((n, x) => n + x.bytes, ENTRY_OVERHEAD);
      entry.extents = keep;
    }
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /**
   * Runs `engine.rangeQuery(expr, start, end, step)`, answering the immutable
   * steps from the cache where it can. The result equals the uncached one.
   */
  async rangeQuery(
    engine: Engine,
    expr: Expr | string,
    start: number,
    end: number,
    step: number,
  ): Promise<QueryResult> {
    const e = typeof expr === "string" ? parseExpr(expr) : expr;
    // A zero budget turns the cache off: the query goes to the engine whole.
    if (this.#maxBytes <= 0) return await engine.rangeQuery(e, start, end, step);
    const reach = step > 0 && end >= start ? reachOf(e, engine) : undefined;
    if (reach === undefined) return await engine.rangeQuery(e, start, end, step);
    // The last step whose reads all lie before the immutable boundary.
    const limit = this.#immutableBefore() - reach.ahead; // Steps < limit are immutable.
    const n = Math.floor((end - start) / step);
    const lastImm = reach.ahead === -Infinity
      ? n
      : Math.min(n, Math.ceil((limit - start) / step) - 1);
    if (lastImm < 0) return await engine.rangeQuery(e, start, end, step);
    const immEnd = start + lastImm * step;

    const s = engine.settings;
    const phase = ((start % step) + step) % step;
    const query = `${step}|${s.lookbackDelta}|${s.defaultSubqueryStep}|${formatExpr(e)}`;
    const key = `${phase}|${query}`;
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key); // Re-insert below: most recently used.
    } else {
      this.#dropOldPhases(query);
      entry = { key, query, reach, extents: [], bytes: ENTRY_OVERHEAD };
      this.#bytes += ENTRY_OVERHEAD;
    }
    this.#entries.set(key, entry);

    // Walk [start, immEnd]: cached extents where they are, evaluate the gaps.
    const pieces: { result: QueryResult; from: number; to: number; cached: boolean }[] = [];
    let t = start;
    let missed = false, served = 0;
    const computed: Extent[] = [];
    for (const x of entry.extents) {
      if (x.end < t) continue;
      if (x.start > immEnd) break;
      if (x.start > t) {
        const gapEnd = Math.min(x.start - step, immEnd);
        const r = await engine.rangeQuery(e, t, gapEnd, step);
        pieces.push({ result: r, from: t, to: gapEnd, cached: false });
        computed.push(toExtent(r, t, gapEnd));
        missed = true;
        t = gapEnd + step;
        if (t > immEnd) break;
      }
      const to = Math.min(x.end, immEnd);
      pieces.push({ result: fromExtent(x, t, to), from: t, to, cached: true });
      served += x.bytes * (to - t + step) / (x.end - x.start + step);
      t = to + step;
      if (t > immEnd) break;
    }
    if (t <= immEnd) {
      const r = await engine.rangeQuery(e, t, immEnd, step);
      pieces.push({ result: r, from: t, to: immEnd, cached: false });
      computed.push(toExtent(r, t, immEnd));
      missed = true;
    }
    // The grid's last step is start + n·step, which may lie before `end`
    // when the range is not a multiple of the step: then nothing is left.
    if (lastImm < n) {
      const r = await engine.rangeQuery(e, immEnd + step, end, step);
      pieces.push({ result: r, from: immEnd + step, to: end, cached: false });
    }
    if (missed) this.#misses++;
    else this.#hits++;
    if (served > 0) this.#onServed?.(served);
    if (computed.length > 0 && this.#entries.get(key) === entry) this.#store(entry, computed, step);
    return mergeResults(pieces.map((p) => p.result));
  }

  /** Drops the least recently used phases of `query` so that a new one makes {@linkcode PHASES_KEPT}. */
  #dropOldPhases(query: string): void {
    const same: Entry[] = [];
    for (const x of this.#entries.values()) if (x.query === query) same.push(x);
    for (const x of same.slice(0, Math.max(0, same.length - PHASES_KEPT + 1))) {
      this.#entries.delete(x.key);
      this.#bytes -= x.bytes;
    }
  }

  #store(entry: Entry, add: Extent[], step: number): void {
    const all = [...entry.extents, ...add].sort((a, b) => a.start - b.start);
    const merged: Extent[] = [];
    for (const x of all) {
      const last = merged[merged.length - 1];
      if (last && x.start <= last.end) continue; // Overlap from a concurrent query: keep one.
      if (last && x.start === last.end + step) {
        merged[merged.length - 1] = joinExtents(last, x);
      } else merged.push(x);
    }
    const before = entry.bytes;
    entry.extents = merged;
    entry.bytes = merged.reduce((n, x) => n + x.bytes, ENTRY_OVERHEAD);
    this.#bytes += entry.bytes - before;
    if (entry.bytes > this.#maxBytes) {
      this.#entries.delete(entry.key);
      this.#bytes -= entry.bytes;
    }
    for (const [k, old] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= old.bytes;
    }
  }
}

/** Where `e` reads relative to each step, or undefined when it must not be cached. */
function reachOf(e: Expr, engine: Engine): Reach | undefined {
  const s = engine.settings;
  let ok = true;
  const walk = (x: Expr, off: number, extraBack: number): Reach => {
    const none: Reach = { back: 0, ahead: -Infinity };
    const join = (a: Reach, b: Reach): Reach => ({
      back: Math.max(a.back, b.back),
      ahead: Math.max(a.ahead, b.ahead),
    });
    switch (x.type) {
      case "NumberLiteral":
      case "StringLiteral":
        return none;
      case "VectorSelector":
        if (x.at !== undefined) ok = false;
        return { back: extraBack + off + x.offset + s.lookbackDelta, ahead: -(off + x.offset) };
      case "MatrixSelector": {
        const vs = x.vectorSelector;
        if (vs.at !== undefined || x.absolute) ok = false;
        return { back: extraBack + off + vs.offset + x.range, ahead: -(off + vs.offset) };
      }
      case "SubqueryExpr":
        if (x.at !== undefined) ok = false;
        return walk(x.expr, off + x.offset, extraBack + x.range);
      case "Call":
        return x.args.reduce((r, a) => join(r, walk(a, off, extraBack)), none);
      case "AggregateExpr":
        return join(x.param ? walk(x.param, off, extraBack) : none, walk(x.expr, off, extraBack));
      case "BinaryExpr":
        return join(walk(x.lhs, off, extraBack), walk(x.rhs, off, extraBack));
      case "UnaryExpr":
      case "ParenExpr":
        return walk(x.expr, off, extraBack);
    }
  };
  const r = walk(e, 0, 0);
  return ok ? r : undefined;
}

function seriesBytes(s: Series): number {
  let n = SERIES_OVERHEAD + 16 * s.t.length;
  for (const h of s.histograms?.h ?? []) n += 8 + h.size();
  for (const l of s.labels) n += 2 * (l.name.length + l.value.length) + 32;
  return n;
}

function toExtent(r: QueryResult, start: number, end: number): Extent {
  if (r.result.type !== "matrix") throw new Error("BUG: range query without a matrix result");
  const series = r.result.series;
  return {
    start,
    end,
    series,
    warnings: r.warnings,
    infos: r.infos,
    bytes: series.reduce((n, s) => n + seriesBytes(s), 0),
  };
}

/** The part of an extent in [from, to] as a query result. */
function fromExtent(x: Extent, from: number, to: number): QueryResult {
  const series: Series[] = [];
  const cut = (t: Float64Array) => {
    let lo = 0, hi = t.length;
    while (lo < t.length && t[lo]! < from) lo++;
    while (hi > lo && t[hi - 1]! > to) hi--;
    return [lo, hi] as const;
  };
  for (const s of x.series) {
    const [lo, hi] = cut(s.t);
    const h = s.histograms;
    const [hlo, hhi] = h ? cut(h.t) : [0, 0];
    if (hi <= lo && hhi <= hlo) continue;
    if (lo === 0 && hi === s.t.length && hlo === 0 && hhi === (h?.t.length ?? 0)) {
      series.push(s);
      continue;
    }
    const floats = { labels: s.labels, t: s.t.subarray(lo, hi), v: s.v.subarray(lo, hi) };
    series.push(
      hhi > hlo
        ? { ...floats, histograms: { t: h!.t.subarray(hlo, hhi), h: h!.h.slice(hlo, hhi) } }
        : floats,
    );
  }
  return {
    result: { type: "matrix", series },
    warnings: x.warnings,
    infos: x.infos,
    stats: zero(),
  };
}

function joinExtents(a: Extent, b: Extent): Extent {
  const r = mergeResults([
    { result: { type: "matrix", series: a.series }, warnings: [], infos: [], stats: zero() },
    { result: { type: "matrix", series: b.series }, warnings: [], infos: [], stats: zero() },
  ]);
  const series = (r.result as { series: Series[] }).series;
  return {
    start: a.start,
    end: b.end,
    series,
    warnings: union(a.warnings, b.warnings),
    infos: union(a.infos, b.infos),
    bytes: series.reduce((n, s) => n + seriesBytes(s), 0),
  };
}

function zero() {
  return { samples: 0, series: 0, peakSamples: 0, peakBytes: 0 };
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** Concatenates range results over consecutive time pieces (given in time order). */
function mergeResults(parts: QueryResult[]): QueryResult {
  if (parts.length === 1) return parts[0]!;
  const byKey = new Map<string, { labels: Labels; parts: Series[] }>();
  const warnings = new Set<string>(), infos = new Set<string>();
  const stats = zero();
  for (const p of parts) {
    if (p.result.type !== "matrix") throw new Error("BUG: range query without a matrix result");
    for (const s of p.result.series) {
      const k = keyOf(s.labels);
      let e = byKey.get(k);
      if (!e) byKey.set(k, e = { labels: s.labels, parts: [] });
      e.parts.push(s);
    }
    for (const w of p.warnings) warnings.add(w);
    for (const i of p.infos) infos.add(i);
    stats.samples += p.stats.samples;
    stats.series += p.stats.series;
    stats.peakSamples = Math.max(stats.peakSamples, p.stats.peakSamples);
    stats.peakBytes = Math.max(stats.peakBytes, p.stats.peakBytes);
  }
  const series: Series[] = [];
  for (const e of byKey.values()) {
    if (e.parts.length === 1) {
      series.push(e.parts[0]!);
      continue;
    }
    let n = 0;
    for (const s of e.parts) n += s.t.length;
    const t = new Float64Array(n), v = new Float64Array(n);
    let o = 0;
    const ht: number[] = [], hh: FloatHistogram[] = [];
    for (const s of e.parts) {
      t.set(s.t, o);
      v.set(s.v, o);
      o += s.t.length;
      const h = s.histograms;
      if (h) { for (let i = 0; i < h.t.length; i++) ht.push(h.t[i]!), hh.push(h.h[i]!); }
    }
    series.push(
      hh.length > 0
        ? { labels: e.labels, t, v, histograms: { t: Float64Array.from(ht), h: hh } }
        : { labels: e.labels, t, v },
    );
  }
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return {
    result: { type: "matrix", series },
    warnings: [...warnings],
    infos: [...infos],
    stats,
  };
}
