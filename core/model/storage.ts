/**
 * The seams between storage and its users: what ingestion appends and what
 * the query engine reads. The engine and the ingest pipeline depend on these
 * interfaces only, never on core/tsdb types (as Prometheus's
 * `storage.Queryable` keeps promql apart from tsdb).
 *
 * @module
 */
import type { NativeHistogram } from "./histogram.ts";
import type { Labels } from "./labels.ts";
import type { Matcher } from "./matchers.ts";
import type { SampleArena } from "./sample_arena.ts";
import type { MetricMetadata } from "./types.ts";

/** One series and its samples in a time range, ascending by timestamp. */
export interface SeriesData {
  readonly labels: Labels;
  /** Millisecond timestamps, strictly ascending. */
  readonly t: Float64Array;
  /** Values, same length as `t`. Stale markers are kept as {@linkcode STALE_NAN}. */
  readonly v: Float64Array;
  /**
   * How many raw samples each point stands for, same length as `t`, when
   * some point aggregates several: a downsampled tier answering
   * `count_over_time` (then `v` is that count) or `avg_over_time` (then `v`
   * is their sum). Absent: one sample each.
   */
  readonly counts?: Float64Array;
  /**
   * Native histogram samples of the series, ascending, when it has any (a
   * series may hold floats, histograms or both at different timestamps).
   */
  readonly histograms?: { readonly t: Float64Array; readonly h: readonly NativeHistogram[] };
}

/** Time bounds of a read, inclusive, in ms. */
export interface SelectHints {
  readonly minT: number;
  readonly maxT: number;
  /**
   * Step in ms of the query that asked, when known. A store may answer from a
   * downsampled tier when the step is coarser than the tier's resolution.
   */
  readonly step?: number;
  /**
   * The PromQL function the selected series feed, when known (e.g. "rate",
   * "max_over_time"), as Prometheus's SelectHints.Func. A store with
   * downsampled data picks the matching aggregate (min for min_over_time, ...).
   */
  readonly func?: string;
  /**
   * Called with the sample count of each series as it is read, before the
   * next one is; it may throw to stop the read (the error rejects `select`).
   * The query engine checks its series, memory and time limits here, so a
   * huge selection is refused while it is read rather than after.
   */
  readonly onRead?: (samples: number) => void;
  /**
   * Where to put the returned samples: a store may carve `t` and `v` out of
   * this arena instead of allocating them. They stay valid until the caller
   * resets the arena (the query engine does when the query ends).
   */
  readonly arena?: SampleArena;
}

/** Read access to stored series. */
export interface Querier {
  /**
   * Returns every series matching all matchers with at least one sample in
   * [minT, maxT], sorted by labels. The arrays are owned by the caller.
   */
  select(matchers: readonly Matcher[], hints: SelectHints): Promise<SeriesData[]>;
  /** Label names of series matching `matchers` (all series when empty), sorted. */
  labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]>;
  /** Values of label `name` over series matching `matchers`, sorted. */
  labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]>;
  /** Label sets of series matching `matchers`, sorted. */
  series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]>;
  /** Metadata by metric name. */
  metadata(): Promise<Map<string, MetricMetadata>>;
}

/** Why one sample was not stored. */
export type RejectReason =
  | "out_of_bounds"
  | "out_of_order"
  | "too_far_in_future"
  | "series_limit"
  | "series_per_metric_limit"
  | "invalid";

/** One refused sample, by its index in the batch. */
export interface RejectedSample {
  readonly index: number;
  readonly reason: RejectReason;
  readonly message: string;
}

/** The outcome of an append: how many were stored durably, and which were not. */
export interface AppendResult {
  readonly accepted: number;
  readonly rejected: readonly RejectedSample[];
}

/**
 * A batch of samples to append, column-wise so hot paths allocate no object
 * per sample. `refs[i]` indexes `series` for sample i.
 */
export class SampleBatch {
  /**
   * Labels of each series; entries from {@linkcode seriesCount} on are left
   * over from before a {@linkcode reset} (samples never refer to them).
   */
  readonly series: Labels[] = [];
  #nSeries = 0;
  #refs: Int32Array;
  #t: Float64Array;
  #v: Float64Array;
  #len = 0;
  #seriesIndex = new Map<string, number>();
  #h: Map<number, NativeHistogram> | undefined;

  constructor(capacity = 256) {
    this.#refs = new Int32Array(capacity);
    this.#t = new Float64Array(capacity);
    this.#v = new Float64Array(capacity);
  }

  /** Number of samples. */
  get length(): number {
    return this.#len;
  }

  /** Number of series. */
  get seriesCount(): number {
    return this.#nSeries;
  }

  /** Room for this many samples. */
  get capacity(): number {
    return this.#t.length;
  }

  /**
   * Empties the batch for reuse, keeping its room (the owner must know that
   * no appender still reads it).
   */
  reset(): void {
    this.#len = 0;
    this.#nSeries = 0;
    this.#seriesIndex.clear();
    this.#h = undefined;
  }

  /** Adds a series (deduplicated by `key`) and returns its index for {@linkcode add}. */
  addSeries(labels: Labels, key: string): number {
    let ref = this.#seriesIndex.get(key);
    if (ref === undefined) {
      ref = this.addNewSeries(labels);
      this.#seriesIndex.set(key, ref);
    }
    return ref;
  }

  /**
   * Adds a series the caller knows is not in the batch yet (it deduplicates
   * itself) and returns its index; no key is kept, so do not mix with
   * {@linkcode addSeries} for the same series.
   */
  addNewSeries(labels: Labels): number {
    const j = this.#nSeries++;
    // Overwrites what a reset left; a fresh batch grows as with push.
    this.series[j] = labels;
    return j;
  }

  /** Adds one sample of series `ref`. */
  add(ref: number, t: number, v: number): void {
    if (this.#len === this.#t.length) this.#grow();
    this.#refs[this.#len] = ref;
    this.#t[this.#len] = t;
    this.#v[this.#len] = v;
    this.#len++;
  }

  /** Adds one native histogram sample of series `ref` (its `v` reads 0). */
  addHistogram(ref: number, t: number, h: NativeHistogram): void {
    (this.#h ??= new Map()).set(this.#len, h);
    this.add(ref, t, 0);
  }

  /** True when some sample is a native histogram. */
  get hasHistograms(): boolean {
    return this.#h !== undefined;
  }

  /** The native histogram of sample i, or undefined for a float sample. */
  h(i: number): NativeHistogram | undefined {
    return this.#h?.get(i);
  }

  #grow(): void {
    const n = this.#t.length * 2 || 256;
    const r = new Int32Array(n), t = new Float64Array(n), v = new Float64Array(n);
    r.set(this.#refs);
    t.set(this.#t);
    v.set(this.#v);
    this.#refs = r;
    this.#t = t;
    this.#v = v;
  }

  /**
   * The samples as columns (views, valid until the next add): series index,
   * timestamp and value of each.
   */
  columns(): { refs: Int32Array; t: Float64Array; v: Float64Array } {
    const n = this.#len;
    return {
      refs: this.#refs.subarray(0, n),
      t: this.#t.subarray(0, n),
      v: this.#v.subarray(0, n),
    };
  }

  /** Series index of sample i. */
  ref(i: number): number {
    return this.#refs[i]!;
  }
  /** Timestamp (ms) of sample i. */
  t(i: number): number {
    return this.#t[i]!;
  }
  /** Value of sample i. */
  v(i: number): number {
    return this.#v[i]!;
  }
}

/** Write access to storage. */
export interface Appender {
  /**
   * Appends a batch. Resolves once every accepted sample is durable (per the
   * WAL fsync policy); rejected samples are listed, the rest are stored.
   * Rejects with {@linkcode StorageFullError} when the disk is full, in which
   * case nothing of this batch is acknowledged. The batch is the caller's
   * again once the promise settles (the ingest pipeline reuses it): keep
   * copies, not the batch.
   */
  append(batch: SampleBatch): Promise<AppendResult>;
  /** Records metadata for a metric name. */
  setMetadata(name: string, meta: MetricMetadata): Promise<void>;
}

/** The disk is full (ENOSPC) or the disk budget is used up; maps to HTTP 507. */
export class StorageFullError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageFullError";
  }
}
