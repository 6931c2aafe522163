/**
 * The cardinality limiter: refuses samples of NEW series when
 * `limits.max_series` or `limits.max_series_per_metric` would be exceeded.
 * Samples of series that already exist are always accepted.
 *
 * It asks storage whether a series exists through {@linkcode SeriesIndex}.
 * Without one it keeps its own set of the series it let through (enough for
 * tests and a fresh process, but it forgets across restarts).
 *
 * Series admitted by appends still in flight are "pending": they count
 * against the limits, so concurrent requests cannot overshoot them.
 *
 * @module
 */

/** Cardinality limits; 0 or undefined means unlimited. */
export interface CardinalityLimits {
  /** Most series in storage (`limits.max_series`). */
  readonly maxSeries?: number;
  /** Most series per metric name (`limits.max_series_per_metric`). */
  readonly maxSeriesPerMetric?: number;
}

/** What the limiter asks storage; `key` is `labelsKey()` of the canonical labels. */
export interface SeriesIndex {
  /** True when the series exists in storage. */
  hasSeries(key: string): boolean;
  /** Number of series in storage. */
  seriesCount(): number;
  /** Number of series in storage with this metric name. */
  metricSeriesCount(name: string): number;
  /**
   * A number that changes whenever a series may have left storage (e.g. how
   * many were removed). When given, a series seen in storage is not asked
   * about again until it changes.
   */
  seriesRemovals?(): number;
}

/** Why a new series was refused. */
export type LimitReason = "series_limit" | "series_per_metric_limit";

/** A set of series admitted for one append, to settle afterwards. */
export interface Admission {
  readonly keys: string[];
  readonly names: string[];
}

/** Enforces {@linkcode CardinalityLimits}; see the module doc. */
export class CardinalityLimiter {
  readonly #maxSeries: number;
  readonly #maxPerMetric: number;
  readonly #index: SeriesIndex | undefined;
  // Own bookkeeping when there is no index.
  readonly #known = new Set<string>();
  readonly #knownPerMetric = new Map<string, number>();
  // Admitted, append not finished yet.
  readonly #pending = new Map<string, number>();
  #pendingTotal = 0;
  readonly #pendingPerMetric = new Map<string, number>();

  constructor(limits: CardinalityLimits = {}, index?: SeriesIndex) {
    this.#maxSeries = limits.maxSeries || Infinity;
    this.#maxPerMetric = limits.maxSeriesPerMetric || Infinity;
    this.#index = index;
  }

  /** True when no limit is set (the pipeline then skips the checks). */
  get unlimited(): boolean {
    return this.#maxSeries === Infinity && this.#maxPerMetric === Infinity;
  }

  /** The configured limits (Infinity when unlimited). */
  get limits(): { maxSeries: number; maxSeriesPerMetric: number } {
    return { maxSeries: this.#maxSeries, maxSeriesPerMetric: this.#maxPerMetric };
  }

  /**
   * Stays the same while no series can have left storage, so a series seen
   * there is known to exist; undefined when the index cannot tell (ask
   * {@linkcode stored} every time).
   */
  get existenceEpoch(): number | undefined {
    // Without an index, known series are never forgotten.
    return this.#index ? this.#index.seriesRemovals?.() : 0;
  }

  /** True when the series is in storage (admitted series still being appended are not). */
  stored(key: string): boolean {
    return this.#exists(key);
  }

  #exists(key: string): boolean {
    return this.#index ? this.#index.hasSeries(key) : this.#known.has(key);
  }

  #count(): number {
    return this.#index ? this.#index.seriesCount() : this.#known.size;
  }

  #metricCount(name: string): number {
    return this.#index
      ? this.#index.metricSeriesCount(name)
      : (this.#knownPerMetric.get(name) ?? 0);
  }

  /**
   * Decides on one series of a batch: undefined to accept it, or the limit
   * it would break. An accepted new series is recorded in `admission`.
   */
  admit(key: string, name: string, admission: Admission): LimitReason | undefined {
    if (this.#pending.has(key) || this.#exists(key)) return undefined;
    if (this.#count() + this.#pendingTotal + 1 > this.#maxSeries) return "series_limit";
    if (this.#maxPerMetric !== Infinity) {
      const pend = this.#pendingPerMetric.get(name) ?? 0;
      if (this.#metricCount(name) + pend + 1 > this.#maxPerMetric) {
        return "series_per_metric_limit";
      }
      this.#pendingPerMetric.set(name, pend + 1);
    }
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    this.#pendingTotal++;
    admission.keys.push(key);
    admission.names.push(name);
    return undefined;
  }

  /**
   * Settles an admission once its append finished. When `stored`, the
   * limiter (without an index) remembers the series; either way they stop
   * being pending.
   */
  settle(admission: Admission, stored: boolean): void {
    for (let i = 0; i < admission.keys.length; i++) {
      const key = admission.keys[i]!, name = admission.names[i]!;
      const n = this.#pending.get(key)! - 1;
      if (n <= 0) this.#pending.delete(key);
      else this.#pending.set(key, n);
      this.#pendingTotal--;
      if (this.#maxPerMetric !== Infinity) {
        const p = this.#pendingPerMetric.get(name)! - 1;
        if (p <= 0) this.#pendingPerMetric.delete(name);
        else this.#pendingPerMetric.set(name, p);
      }
      if (stored && !this.#index && !this.#known.has(key)) {
        this.#known.add(key);
        this.#knownPerMetric.set(name, (this.#knownPerMetric.get(name) ?? 0) + 1);
      }
    }
  }
}
