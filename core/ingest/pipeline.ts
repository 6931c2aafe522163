/**
 * The one append pipeline for push and pull: parsed rows -> validated series
 * -> cardinality limits -> {@linkcode SampleBatch} -> `Appender.append`, with
 * bounded concurrency (backpressure) and accepted/rejected counters.
 *
 * Validation results are cached per protocol by each series' raw key, so a
 * series seen before costs one map lookup.
 *
 * @module
 */
import {
  type Appender,
  checkLabelName,
  checkMetricName,
  type Label,
  type Labels,
  labelsKey,
  METRIC_NAME,
  type MetricMetadata,
  type RejectReason,
  SampleBatch,
  StorageFullError,
  toLabels,
  validateSeries,
} from "../model/mod.ts";
import {
  type Admission,
  CardinalityLimiter,
  type CardinalityLimits,
  type SeriesIndex,
} from "./limiter.ts";
import type { IngestProblem, ParsedRows } from "./rows.ts";
import { BoundedMap, detach, intern } from "./_util.ts";
import { type IdleMemoryHolder, keepsIdleMemory } from "../idle_memory.ts";

/** Why samples were not stored, as counted in `/metrics`. */
export type RejectionReason =
  | "parse_error"
  | "invalid_series"
  | "series_limit"
  | "series_per_metric_limit"
  | "out_of_bounds"
  | "out_of_order"
  | "too_far_in_future"
  | "invalid"
  | "storage_full"
  | "overloaded";

/**
 * Receives counts of samples by protocol (`json`, `prometheus`, `influx`,
 * `remote_write`, `scrape`, ...); the integrator wires it to self-metrics.
 */
export interface IngestStatsSink {
  onAccepted(protocol: string, n: number): void;
  onRejected(protocol: string, reason: RejectionReason, n: number): void;
}

/** Options for {@linkcode IngestPipeline}. */
export interface IngestPipelineOptions {
  /** Where samples go. */
  readonly appender: Appender;
  /** Cardinality limits. @default {{}} (unlimited) */
  readonly limits?: CardinalityLimits;
  /** Storage's series index, asked by the limiter. */
  readonly seriesIndex?: SeriesIndex;
  /** Appends running at once. @default {4} */
  readonly maxInFlight?: number;
  /** Requests waiting for a slot before new ones get 503. @default {16} */
  readonly maxQueued?: number;
  /** Longest wait for a slot, in ms, before 503. @default {10000} */
  readonly queueTimeoutMs?: number;
  /** Seconds suggested in `Retry-After` when saturated. @default {1} */
  readonly retryAfterSeconds?: number;
  /** Counters sink. */
  readonly stats?: IngestStatsSink;
  /** Most problems listed in a result (the total is always given). @default {100} */
  readonly maxListedErrors?: number;
}

/** Options of one {@linkcode IngestPipeline.ingest} call. */
export interface IngestOptions {
  /**
   * Labels added to every series, overriding the same names (e.g.
   * Pushgateway grouping labels).
   */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

/** Cardinality refusals of one request, for the 429 body. */
export interface CardinalityRefusal {
  /** New series refused. */
  readonly refusedSeries: number;
  readonly maxSeries: number | null;
  readonly maxSeriesPerMetric: number | null;
  /** Refused series by metric name (at most 20 names). */
  readonly byMetric: Record<string, number>;
}

/** The outcome of one ingest. */
export interface IngestResult {
  /** Samples stored durably. */
  readonly accepted: number;
  /** Samples not stored (parse, validation, limits, storage). */
  readonly rejected: number;
  /** Problems, at most `maxListedErrors`. */
  readonly errors: IngestProblem[];
  /** All problems, listed or not. */
  readonly errorCount: number;
  /** Set when new series were refused by a cardinality limit. */
  readonly cardinality?: CardinalityRefusal;
  /** Parts ignored on purpose (e.g. exemplars). */
  readonly warnings: string[];
}

/** The append pipeline is saturated; maps to 503 with `Retry-After`. */
export class OverloadedError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super("Ingestion is saturated, retry later");
    this.name = "OverloadedError";
  }
}

interface SeriesEntry {
  /** The cache (by protocol and extra labels) this entry belongs to. */
  readonly cache: Map<string, CacheEntry>;
  readonly problems: undefined;
  readonly labels: Labels;
  readonly key: string;
  readonly name: string;
  /**
   * The #ingest call that last decided on this series, and the outcome: its
   * index in that call's batch, or a refusal code (below 0).
   */
  stamp: number;
  batchRef: number;
  /** The limiter's existence epoch at which storage last had this series (-1: never). */
  storedAt: number;
}
type CacheEntry = SeriesEntry | {
  readonly cache: Map<string, CacheEntry>;
  readonly problems: IngestProblem[];
};

const CACHE_MAX_ENTRIES = 100_000;
const CACHE_MAX_CONTEXTS = 64;
const META_CACHE_MAX = 10_000;
/** Larger batches are not kept for reuse (20 bytes a sample). */
const MAX_POOLED_SAMPLES = 1 << 18;

// Codes in the per-series ref table for series that are not in the batch.
const REF_INVALID = -1, REF_SERIES_LIMIT = -2, REF_METRIC_LIMIT = -3;

/** The shared validation + append pipeline; see the module doc. */
export class IngestPipeline implements IdleMemoryHolder {
  readonly #appender: Appender;
  readonly #limiter: CardinalityLimiter;
  readonly #stats: IngestStatsSink | undefined;
  readonly #maxInFlight: number;
  readonly #maxQueued: number;
  readonly #queueTimeoutMs: number;
  readonly #retryAfter: number;
  readonly #maxListed: number;
  #inFlight = 0;
  #stamp = 0;
  readonly #waiters: (() => void)[] = [];
  readonly #cache = new Map<string, Map<string, CacheEntry>>();
  readonly #metaSeen = new Map<string, string>();
  /**
   * Emptied batches of earlier calls, reused so that a request does not leave
   * its arrays (a slot per series and per sample) to the garbage collector;
   * dropped when the process goes quiet (core/idle_memory.ts).
   */
  readonly #batches: SampleBatch[] = [];

  constructor(options: IngestPipelineOptions) {
    this.#appender = options.appender;
    this.#limiter = new CardinalityLimiter(options.limits, options.seriesIndex);
    this.#stats = options.stats;
    this.#maxInFlight = options.maxInFlight ?? 4;
    this.#maxQueued = options.maxQueued ?? 16;
    this.#queueTimeoutMs = options.queueTimeoutMs ?? 10_000;
    this.#retryAfter = options.retryAfterSeconds ?? 1;
    this.#maxListed = options.maxListedErrors ?? 100;
    keepsIdleMemory(this);
  }

  /** Drops the batches kept for reuse. */
  releaseIdle(): void {
    this.#batches.length = 0;
  }

  /** Appends running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.#waiters.length;
  }

  async #acquire(): Promise<void> {
    if (this.#inFlight < this.#maxInFlight) {
      this.#inFlight++;
      return;
    }
    if (this.#waiters.length >= this.#maxQueued) throw new OverloadedError(this.#retryAfter);
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(wake);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new OverloadedError(this.#retryAfter));
      }, this.#queueTimeoutMs);
      this.#waiters.push(wake);
    });
    // The releasing call handed its slot over: #inFlight is unchanged.
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#inFlight--;
  }

  /**
   * Validates and appends parsed rows. Resolves with what was stored and
   * what was not (problems name the field). Rejects with
   * {@linkcode OverloadedError} when saturated and passes on
   * `StorageFullError` from the appender (nothing of the batch is stored).
   */
  async ingest(
    protocol: string,
    rows: ParsedRows,
    options: IngestOptions = {},
  ): Promise<IngestResult> {
    try {
      await this.#acquire();
    } catch (e) {
      this.#count(protocol, "overloaded", rows.sampleCount);
      throw e;
    }
    try {
      return await this.#ingest(protocol, rows, options);
    } finally {
      this.#release();
    }
  }

  #cacheFor(
    protocol: string,
    extra: Readonly<Record<string, string>> | undefined,
  ): Map<string, CacheEntry> {
    const ctx = extra === undefined ? protocol : protocol + "\u0000" + JSON.stringify(extra);
    let m = this.#cache.get(ctx);
    if (m === undefined) {
      if (this.#cache.size >= CACHE_MAX_CONTEXTS) this.#cache.clear();
      m = new Map();
      this.#cache.set(ctx, m);
    } else if (m.size >= CACHE_MAX_ENTRIES) {
      m.clear();
    }
    return m;
  }

  #count(protocol: string, reason: RejectionReason, n: number): void {
    if (n > 0) this.#stats?.onRejected(protocol, reason, n);
  }

  async #ingest(protocol: string, rows: ParsedRows, options: IngestOptions): Promise<IngestResult> {
    const problems: IngestProblem[] = [];
    let errorCount = rows.errors.length;
    const listed = (p: IngestProblem) => {
      errorCount++;
      if (problems.length < this.#maxListed) problems.push(p);
    };
    for (const e of rows.errors) if (problems.length < this.#maxListed) problems.push(e);

    const extra = options.extraLabels;
    const cache = this.#cacheFor(protocol, extra);
    const stamp = ++this.#stamp;
    const nSeries = rows.seriesCount;
    const refOf = new Int32Array(nSeries);
    const batch = this.#batches.pop() ?? new SampleBatch(Math.max(16, rows.sampleCount));
    const limited = !this.#limiter.unlimited;
    const admission: Admission = { keys: [], names: [] };
    // Verdicts on uncached series by key (cached ones keep theirs on the entry).
    let checked: Map<string, number> | undefined;
    const byMetric: Record<string, number> = {};
    let refusedSeries = 0;
    let invalidProblems: Map<number, { problems: IngestProblem[]; lastLine: number }> | undefined;

    const epoch = limited ? this.#limiter.existenceEpoch : undefined;
    for (let j = 0; j < nSeries; j++) {
      const raw = rows.seriesRawKey[j]!;
      // The parser's record of the series keeps the entry of the cache last used with it.
      const memo = rows.seriesMemo[j];
      let entry = memo?.memo as CacheEntry | undefined;
      if (entry === undefined || entry.cache !== cache) {
        entry = raw === "" ? undefined : cache.get(raw);
        if (entry === undefined) {
          entry = resolveSeries(rows.seriesName[j]!, rows.seriesLabels[j]!, extra, cache);
          // A series seen first through a memo finds its entry there: the
          // cache (a copy of its raw key, ~150 bytes a series) is only for
          // series without one, or whose memo changed context (extra labels).
          if (raw !== "" && (memo === undefined || memo.memo !== undefined)) {
            cache.set(detach(raw), entry);
          }
        }
        if (memo !== undefined) memo.memo = entry;
      }
      if (entry.problems !== undefined) {
        refOf[j] = REF_INVALID;
        // Line-based input: listed below at every line the series is on.
        if (rows.seriesLine[j]! > 0) {
          (invalidProblems ??= new Map()).set(j, { problems: entry.problems, lastLine: 0 });
        } else {
          for (const p of entry.problems) listed(locate(rows, j, p));
        }
        continue;
      }
      // Cached entries are shared across requests: the stamp says whether this
      // request has decided on it already (batchRef is then its batch index or
      // refusal code). Uncached ones (no raw key) are new objects: deduplicated by key.
      if (raw !== "") {
        if (entry.stamp === stamp) {
          refOf[j] = entry.batchRef;
          continue;
        }
        entry.stamp = stamp;
      }
      let verdict = 0;
      // A series seen in storage is asked about again only after some series left it.
      if (limited && (epoch === undefined || entry.storedAt !== epoch)) {
        let known: number | undefined;
        if (raw === "") known = (checked ??= new Map()).get(entry.key);
        if (known !== undefined) verdict = known;
        else if (this.#limiter.stored(entry.key)) {
          if (epoch !== undefined) entry.storedAt = epoch;
        } else {
          const r = this.#limiter.admit(entry.key, entry.name, admission);
          verdict = r === undefined
            ? 0
            : r === "series_limit"
            ? REF_SERIES_LIMIT
            : REF_METRIC_LIMIT;
          if (verdict !== 0) {
            refusedSeries++;
            if (entry.name in byMetric || Object.keys(byMetric).length < 20) {
              byMetric[entry.name] = (byMetric[entry.name] ?? 0) + 1;
            }
            listed(locate(rows, j, {
              field: "labels",
              value: entry.name,
              message: verdict === REF_SERIES_LIMIT
                ? `new series refused: limits.max_series (${this.#limiter.limits.maxSeries}) reached`
                : `new series refused: limits.max_series_per_metric (${this.#limiter.limits.maxSeriesPerMetric}) reached for ${entry.name}`,
            }));
          }
        }
        if (raw === "") checked!.set(entry.key, verdict);
      }
      if (verdict !== 0) {
        refOf[j] = entry.batchRef = verdict;
        continue;
      }
      if (raw === "") entry.batchRef = batch.addSeries(entry.labels, entry.key);
      else entry.batchRef = batch.addNewSeries(entry.labels);
      refOf[j] = entry.batchRef;
    }

    // Samples.
    const n = rows.sampleCount;
    const ss = rows.sampleSeries, st = rows.sampleT;
    let invalidSeries = 0, seriesLimit = 0, metricLimit = 0, badTime = 0;
    const origin = new Int32Array(n); // batch sample -> rows sample, for messages
    // Runs of plain samples are added in a small loop; the others one by one here.
    for (
      let i = addPlain(batch, rows, refOf, origin, 0);
      i < n;
      i = addPlain(batch, rows, refOf, origin, i + 1)
    ) {
      const j = ss[i]!;
      const ref = refOf[j]!;
      if (ref < 0) {
        if (ref === REF_INVALID) {
          invalidSeries++;
          const bad = invalidProblems?.get(j);
          const line = rows.lineOf(i);
          if (bad !== undefined && line !== bad.lastLine) {
            bad.lastLine = line;
            for (const p of bad.problems) listed(locate(rows, j, p, line));
          }
        } else if (ref === REF_SERIES_LIMIT) seriesLimit++;
        else metricLimit++;
        continue;
      }
      const t = st[i]!;
      if (!Number.isSafeInteger(t)) {
        badTime++;
        listed(
          locate(rows, j, {
            field: "timestamp",
            value: String(t),
            message: "timestamp is out of range",
          }, rows.lineOf(i)),
        );
        continue;
      }
      origin[batch.length] = i;
      batch.addHistogram(ref, t, rows.sampleH!.get(i)!);
    }

    this.#count(protocol, "parse_error", rows.invalidSamples);
    this.#count(protocol, "invalid_series", invalidSeries);
    this.#count(protocol, "invalid", badTime);
    this.#count(protocol, "series_limit", seriesLimit);
    this.#count(protocol, "series_per_metric_limit", metricLimit);

    let accepted = 0;
    let storageRejected = 0;
    if (batch.length > 0) {
      let stored = false;
      try {
        const res = await this.#appender.append(batch);
        stored = true;
        accepted = res.accepted;
        storageRejected = res.rejected.length;
        const byReason = new Map<RejectReason, number>();
        for (const r of res.rejected) {
          byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
          const i = origin[r.index] ?? 0;
          listed(
            locate(rows, rows.sampleSeries[i]!, {
              field: "timestamp",
              value: String(batch.t(r.index)),
              message: r.message,
            }, rows.lineOf(i)),
          );
        }
        for (const [reason, k] of byReason) {
          this.#count(protocol, reason, k);
        }
      } catch (e) {
        if (e instanceof StorageFullError) this.#count(protocol, "storage_full", batch.length);
        throw e;
      } finally {
        if (limited) this.#limiter.settle(admission, stored);
      }
    } else if (limited) {
      this.#limiter.settle(admission, false);
    }
    if (accepted > 0) this.#stats?.onAccepted(protocol, accepted);
    // The append has settled: nobody reads the batch any more.
    if (this.#batches.length < this.#maxInFlight && batch.capacity <= MAX_POOLED_SAMPLES) {
      batch.reset();
      this.#batches.push(batch);
    }

    await this.#storeMetadata(rows.metadata);

    const rejected = rows.invalidSamples + invalidSeries + seriesLimit + metricLimit + badTime +
      storageRejected;
    const result: IngestResult = {
      accepted,
      rejected,
      errors: problems,
      errorCount,
      warnings: rows.warnings,
      ...(refusedSeries > 0
        ? {
          cardinality: {
            refusedSeries,
            maxSeries: finiteOrNull(this.#limiter.limits.maxSeries),
            maxSeriesPerMetric: finiteOrNull(this.#limiter.limits.maxSeriesPerMetric),
            byMetric,
          },
        }
        : {}),
    };
    return result;
  }

  async #storeMetadata(meta: ReadonlyMap<string, MetricMetadata>): Promise<void> {
    for (const [name, m] of meta) {
      // Metadata of a name no series may have is dropped (its samples were refused).
      if (checkMetricName(name) !== undefined) continue;
      const sig = `${m.type}\u0000${m.help}\u0000${m.unit}`;
      if (this.#metaSeen.get(name) === sig) continue;
      if (this.#metaSeen.size >= META_CACHE_MAX) this.#metaSeen.clear();
      const kept = detach(name);
      await this.#appender.setMetadata(kept, {
        ...m,
        help: detach(m.help),
        unit: detach(m.unit),
      });
      this.#metaSeen.set(kept, detach(sig));
    }
  }
}

/**
 * Adds samples from `from` on to the batch while they are plain (their series
 * is in the batch, the timestamp is a safe integer, no histogram); returns
 * the index of the first one that is not (or the sample count). Small, so
 * that `batch.add` is inlined and numbers are not boxed.
 */
function addPlain(
  batch: SampleBatch,
  rows: ParsedRows,
  refOf: Int32Array,
  origin: Int32Array,
  from: number,
): number {
  const n = rows.sampleCount, ss = rows.sampleSeries, st = rows.sampleT, sv = rows.sampleV;
  const hs = rows.sampleH;
  let i = from;
  for (; i < n; i++) {
    const ref = refOf[ss[i]!]!, t = st[i]!;
    if (ref < 0 || !Number.isSafeInteger(t) || (hs !== undefined && hs.has(i))) break;
    origin[batch.length] = i;
    batch.add(ref, t, sv[i]!);
  }
  return i;
}

function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

/**
 * Validates one parsed series into canonical labels, or its problems. The
 * strings kept are detached from the request body (see `detach`).
 */
function resolveSeries(
  name: string,
  pairs: readonly string[],
  extra: Readonly<Record<string, string>> | undefined,
  cache: Map<string, CacheEntry>,
): CacheEntry {
  const map: Record<string, string> = {};
  const problems: IngestProblem[] = [];
  for (let k = 0; k < pairs.length; k += 2) {
    const key = intern(pairs[k]!);
    if (key === METRIC_NAME) {
      problems.push({
        field: `labels.${key}`,
        value: key,
        message: "label names starting with __ are reserved",
      });
      continue;
    }
    if (Object.hasOwn(map, key)) {
      problems.push({ field: `labels.${key}`, value: key, message: `duplicate label "${key}"` });
      continue;
    }
    map[key] = intern(pairs[k + 1]!);
  }
  if (extra !== undefined) {
    for (const key in extra) {
      const m = checkLabelName(key);
      if (m) problems.push({ field: `labels.${key}`, value: key, message: m });
      else map[key] = extra[key]!;
    }
  }
  name = intern(name);
  for (const p of validateSeries(name, map)) problems.push(p);
  if (problems.length > 0) return { cache, problems };
  // map() makes an array of exactly the length (toLabels' pushes reserve ~17).
  const labels = toLabels(name, map).map(internLabel);
  return {
    cache,
    problems: undefined,
    labels,
    key: labelsKey(labels),
    name,
    stamp: 0,
    batchRef: 0,
    storedAt: -1,
  };
}

/**
 * Label pairs by name and value (`name` NUL `value`), shared by the series
 * that have them; see {@linkcode internLabel}. Bounded: 16,384 pairs.
 */
const labelPairs = new BoundedMap<string, Label>(1 << 14);

/**
 * The Label equal to `l` that earlier series hold, else `l` (kept for later
 * ones): most pairs repeat across series (the metric name, job, region, a
 * host across its metrics), and one object each was ~40 bytes per label per
 * series.
 */
function internLabel(l: Label): Label {
  const key = `${l.name}\u0000${l.value}`;
  const got = labelPairs.get(key);
  if (got !== undefined) return got;
  labelPairs.set(key, l);
  return l;
}

/**
 * Prefixes a problem with where its series (or, given `sampleLine`, its
 * sample) came from.
 */
function locate(rows: ParsedRows, j: number, p: IngestProblem, sampleLine = 0): IngestProblem {
  const field = p.field === METRIC_NAME ? "name" : p.field;
  const where = rows.where(j);
  const line = sampleLine > 0 ? sampleLine : rows.seriesLine[j]!;
  if (where === "" && line > 0) {
    return { field: `line ${line} ${field}`, value: p.value, message: p.message, line };
  }
  if (where === "" || where === "body") return { field, value: p.value, message: p.message };
  return { field: `${where}.${field}`, value: p.value, message: p.message };
}
