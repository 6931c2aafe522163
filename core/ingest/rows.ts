/**
 * The common output of every ingestion parser: parsed series and samples,
 * column-wise, plus metadata and the problems found, so the pipeline can
 * validate and append them the same way whatever the protocol.
 *
 * @module
 */
import type { MetricMetadata, NativeHistogram } from "../model/mod.ts";
import { keepsIdleMemory } from "../idle_memory.ts";

/**
 * One problem with the input, naming where it is. `field` is a path such as
 * `[2].labels.host` (JSON), `line 3 field "temp"` (text protocols) or
 * `timeseries[5].labels[1]` (remote write); `value` is the offending text,
 * shortened.
 */
export interface IngestProblem {
  readonly field: string;
  readonly value: string;
  readonly message: string;
  /** 1-based line of the input for text protocols, when known. */
  readonly line?: number;
}

/**
 * A parser's long-lived record of one series (kept across requests), on
 * which the pipeline keeps what it found out about the series, so a known
 * series needs no lookup by its raw key. Parsers leave `memo` alone.
 */
export interface SeriesMemo {
  memo: unknown;
}

/** Longest `value` text kept in a problem. */
const MAX_PROBLEM_VALUE = 120;

/** Shortens a value for an error message. */
export function problemValue(s: string): string {
  return s.length > MAX_PROBLEM_VALUE ? s.slice(0, MAX_PROBLEM_VALUE) + "\u2026" : s;
}

/**
 * Rows parsed from one request body. Series and samples are kept in parallel
 * arrays (no object per sample): sample i belongs to series `sampleSeries[i]`.
 *
 * A series is a metric name plus label pairs, not yet validated: the parser
 * only guarantees they came from well-formed syntax. `seriesRawKey[j]`, when
 * not empty, is a string that identifies series j uniquely within its
 * protocol (usually the raw input text of the series); the pipeline caches
 * validation results by it.
 */
export class ParsedRows {
  // The series arrays: only the first seriesCount entries are this input's
  // (rows made by `new` hold exactly those; see reset).
  /** Metric name of each series. */
  readonly seriesName: string[] = [];
  /** Label pairs of each series, flat: `[k0, v0, k1, v1, ...]`, in input order. */
  readonly seriesLabels: string[][] = [];
  /** Cache key of each series within its protocol, or "" for none. */
  readonly seriesRawKey: string[] = [];
  /** The parser's record of each series, when it keeps them across requests. */
  readonly seriesMemo: (SeriesMemo | undefined)[] = [];
  /**
   * Item index appended to the series' `where` (`timeseries` + 5 ->
   * `timeseries[5]`), or -1; a number, so a request's series make no message
   * strings. Only the first {@linkcode seriesCount} entries are used.
   */
  seriesItem: Int32Array = new Int32Array(16);
  /**
   * 1-based line of each series, 0 when not line-based; only the first
   * {@linkcode seriesCount} entries are used.
   */
  seriesLine: Int32Array = new Int32Array(16);
  /** `where` of the first series, and of each series once they differ (see {@linkcode where}). */
  #where0 = "";
  #wheres: string[] | undefined;

  /**
   * Series index of each sample; only the first {@linkcode sampleCount}
   * entries are used. Typed arrays (not JS arrays) so NaN payloads such as
   * the staleness marker survive; they are replaced when they grow, so read
   * them after parsing.
   */
  sampleSeries: Int32Array;
  /** Timestamp (ms) of each sample. */
  sampleT: Float64Array;
  /** Value of each sample. */
  sampleV: Float64Array;
  /**
   * 1-based input line of each sample; allocated with the first sample that
   * has one (read it with {@linkcode lineOf}).
   */
  sampleLine: Int32Array | undefined;
  /**
   * Native histogram samples by sample index (their `sampleV` is 0); absent
   * when the input had none.
   */
  sampleH: Map<number, NativeHistogram> | undefined;
  #samples = 0;

  #metadata = new Map<string, MetricMetadata>();
  #errors: IngestProblem[] = [];
  #warnings: string[] = [];
  #nSeries = 0;
  /** Samples the parser dropped because of errors (for counters). */
  invalidSamples = 0;

  /** `capacity`: samples expected (room grows as needed). */
  constructor(capacity = 256) {
    const n = Math.max(16, capacity);
    this.sampleSeries = new Int32Array(n);
    this.sampleT = new Float64Array(n);
    this.sampleV = new Float64Array(n);
  }

  /** Metadata (type, help, unit) by metric family name. */
  get metadata(): Map<string, MetricMetadata> {
    return this.#metadata;
  }

  /** Input problems; the parser skipped the parts they name. */
  get errors(): IngestProblem[] {
    return this.#errors;
  }

  /** Things ignored on purpose (e.g. native histograms), with counts. */
  get warnings(): string[] {
    return this.#warnings;
  }

  /** Number of series. */
  get seriesCount(): number {
    return this.#nSeries;
  }

  /**
   * Empties the rows for the next request, keeping their room: the series
   * arrays then hold entries left over from before after
   * {@linkcode seriesCount}. Problems, warnings and metadata start as new
   * collections, so results that kept the old ones are unchanged. Only for
   * rows that nobody reads any more.
   */
  reset(): void {
    this.#nSeries = 0;
    this.#samples = 0;
    this.sampleH = undefined;
    this.sampleLine = undefined;
    this.#metadata = new Map();
    this.#errors = [];
    this.#warnings = [];
    this.#where0 = "";
    this.#wheres = undefined;
    this.invalidSamples = 0;
  }

  /** Number of samples. */
  get sampleCount(): number {
    return this.#samples;
  }

  /** Adds a series and returns its index. */
  addSeries(
    name: string,
    labels: string[],
    rawKey: string,
    where: string,
    line = 0,
    item = -1,
    memo?: SeriesMemo,
  ): number {
    const j = this.#nSeries++;
    // Overwrites what a reset left; fresh rows grow as with push.
    this.seriesName[j] = name;
    this.seriesLabels[j] = labels;
    this.seriesRawKey[j] = rawKey;
    this.seriesMemo[j] = memo;
    if (j === this.seriesItem.length) {
      this.seriesItem = grown(this.seriesItem, j * 2);
      this.seriesLine = grown(this.seriesLine, j * 2);
    }
    this.seriesItem[j] = item;
    this.seriesLine[j] = line;
    // Most parsers give every series the same `where`: kept once then.
    if (j === 0) this.#where0 = where;
    else if (this.#wheres !== undefined) this.#wheres.push(where);
    else if (where !== this.#where0) {
      this.#wheres = new Array<string>(j).fill(this.#where0);
      this.#wheres.push(where);
    }
    return j;
  }

  /** Where each series came from (its {@linkcode where} without the item index). */
  get seriesWhere(): string[] {
    return this.#wheres?.slice() ?? new Array<string>(this.seriesCount).fill(this.#where0);
  }

  /** Where series `j` came from, for messages (e.g. `[2]`, `timeseries[5]`, or "" for line-based input). */
  where(j: number): string {
    if (j < 0 || j >= this.seriesCount) return "";
    const where = this.#wheres?.[j] ?? this.#where0;
    const item = this.seriesItem[j]!;
    return item >= 0 ? `${where}[${item}]` : where;
  }

  /** Adds a sample of series `j`, from input line `line` (0 when not line-based). */
  addSample(j: number, t: number, v: number, line = 0): void {
    const i = this.#samples;
    if (i === this.sampleT.length) this.#grow();
    this.sampleSeries[i] = j;
    this.sampleT[i] = t;
    this.sampleV[i] = v;
    if (line !== 0) (this.sampleLine ??= new Int32Array(this.sampleT.length))[i] = line;
    this.#samples = i + 1;
  }

  /**
   * Makes room for `n` more samples and returns the index of the next one:
   * a parser writes `sampleT` and `sampleV` from there (read the arrays
   * after this call), then calls {@linkcode addedSamples} with the new
   * count. Their series index is left for {@linkcode setSampleSeries}.
   */
  reserveSamples(n: number): number {
    while (this.#samples + n > this.sampleT.length) this.#grow();
    return this.#samples;
  }

  /** Takes the samples written after {@linkcode reserveSamples} up to index `end`. */
  addedSamples(end: number): void {
    this.#samples = end;
  }

  /** The 1-based input line of sample i, 0 when not line-based. */
  lineOf(i: number): number {
    return this.sampleLine?.[i] ?? 0;
  }

  /** Adds a native histogram sample of series `j`. */
  addHistogram(j: number, t: number, h: NativeHistogram): void {
    (this.sampleH ??= new Map()).set(this.#samples, h);
    this.addSample(j, t, 0);
  }

  /** Sets the series of samples `from`... to the end to `j`. */
  setSampleSeries(from: number, j: number): void {
    const ss = this.sampleSeries, n = this.#samples;
    // A loop, not fill(): a series mostly has a few samples, fewer than a builtin call costs.
    for (let i = from; i < n; i++) ss[i] = j;
  }

  /** Drops samples from index `n` on. */
  truncateSamples(n: number): void {
    if (n >= this.#samples) return;
    if (this.sampleH) { for (const i of this.sampleH.keys()) if (i >= n) this.sampleH.delete(i); }
    this.#samples = n;
  }

  #grow(): void {
    const n = this.sampleT.length * 2;
    this.sampleSeries = grown(this.sampleSeries, n);
    this.sampleT = grown(this.sampleT, n);
    this.sampleV = grown(this.sampleV, n);
    if (this.sampleLine) this.sampleLine = grown(this.sampleLine, n);
  }

  /** Records a problem. */
  addError(field: string, value: string, message: string, line?: number): void {
    const p: IngestProblem = line === undefined
      ? { field, value: problemValue(value), message }
      : { field, value: problemValue(value), message, line };
    this.#errors.push(p);
  }
}

/** A copy of `a` with room for `n` entries. */
function grown<A extends Int32Array | Float64Array>(a: A, n: number): A {
  const b = new (a.constructor as new (n: number) => A)(n);
  b.set(a);
  return b;
}

/** What {@linkcode parseJsonBody} returns for text that is no JSON. */
export const NOT_JSON: unique symbol = Symbol("not JSON");

/** Parses a JSON body, or records the syntax error on `rows` (field `body`) and returns {@linkcode NOT_JSON}. */
export function parseJsonBody(text: string, rows: ParsedRows): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    rows.addError("body", text, `Cannot parse JSON: ${e instanceof Error ? e.message : String(e)}`);
    return NOT_JSON;
  }
}

/**
 * Rows kept for reuse between requests: at most `keep`, none with room for
 * more than `maxSamples` samples. Kept rows hold the series of their last
 * request (and, through remote write's series, its cache), so they are
 * dropped when the process goes quiet (core/idle_memory.ts).
 */
export class ParsedRowsPool {
  readonly #free: ParsedRows[] = [];

  constructor(readonly keep: number, readonly maxSamples: number) {
    keepsIdleMemory(this);
  }

  /** Kept rows to reuse (reset by the parser), or undefined. */
  take(): ParsedRows | undefined {
    return this.#free.pop();
  }

  /** Keeps `rows` for reuse when there is room; nothing may read them after. */
  give(rows: ParsedRows): void {
    if (this.#free.length < this.keep && rows.sampleT.length <= this.maxSamples) {
      this.#free.push(rows);
    }
  }

  /** Drops the kept rows. */
  releaseIdle(): void {
    this.#free.length = 0;
  }
}
