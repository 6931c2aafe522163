/**
 * The scrape loop of one target: fetch the exposition text, parse it, add
 * target labels (honoring `honor_labels`), run metric relabeling, enforce
 * `sample_limit`/`label_limit`, write the samples plus `up`,
 * `scrape_duration_seconds`, `scrape_samples_scraped`,
 * `scrape_samples_post_metric_relabeling` and `scrape_series_added`, and
 * staleness markers for series that went away, all through the shared
 * append pipeline in one batch.
 *
 * Scheduling: scrapes happen at a stable per-target phase within the
 * interval (a hash of the target), never overlap (the next one is scheduled
 * when the current one ends, skipping missed slots), and stop cleanly
 * (in-flight requests are aborted and awaited). Scheduling runs on the
 * injected {@linkcode Clock}; the request timeout is real elapsed time.
 *
 * @module
 */
import { authorizationHeader, METRIC_NAME, type MetricMetadata, STALE_NAN } from "../model/mod.ts";
import { ParsedRows, parsePrometheusText } from "../ingest/mod.ts";
import type { Logger } from "../logging/mod.ts";
import { VERSION } from "../version.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { ScrapeConfig } from "./config.ts";
import type { ScrapeMetrics } from "./metrics.ts";
import { relabel } from "./relabel.ts";
import { scrapeOffset, type Target } from "./targets.ts";

/** What the loop needs from the append pipeline (bind to `IngestPipeline.ingest`). */
export type AppendRows = (
  rows: ParsedRows,
  protocol: "scrape",
) => Promise<{ readonly accepted: number; readonly rejected: number }>;

/** The `fetch` the loop calls (the global one, or an in-process one for self-scrape). */
export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** What the targets API shows for one target. */
export interface TargetHealth {
  readonly health: "up" | "down" | "unknown";
  readonly lastError: string;
  /** Start of the last scrape, ms since the epoch; 0 when never scraped. */
  readonly lastScrape: number;
  /** Seconds. */
  readonly lastScrapeDuration: number;
  /** Samples in the last scrape after metric relabeling. */
  readonly lastSamples: number;
}

/** Options for {@linkcode ScrapeLoop}. */
export interface ScrapeLoopOptions {
  readonly target: Target;
  readonly config: ScrapeConfig;
  readonly appendRows: AppendRows;
  readonly clock: Clock;
  readonly logger: Logger;
  /** @default {globalThis.fetch} */
  readonly fetch?: FetchFn;
  readonly metrics?: ScrapeMetrics;
  /** Reads `password_file`/`credentials_file`. @default {Deno.readTextFile} */
  readonly readFile?: (path: string) => Promise<string>;
}

/** The Accept header Prometheus sends, minus formats Perch cannot parse. */
export const SCRAPE_ACCEPT =
  "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/** A series after target labels and metric relabeling. */
interface SeriesEntry {
  readonly name: string;
  /** Flat `[k0, v0, ...]`, sorted by name, without `__name__`. */
  readonly pairs: string[];
  /** Canonical text of name + pairs; unique per series. */
  readonly key: string;
  /** Label count with `__name__`. */
  readonly labelCount: number;
}

/** A scrape failed; the message is what `/api/v1/targets` shows as lastError. */
class ScrapeError extends Error {}

/** Scrapes one target on its interval; see the module doc. */
export class ScrapeLoop {
  readonly target: Target;
  readonly config: ScrapeConfig;
  readonly #append: AppendRows;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #fetch: FetchFn;
  readonly #metrics: ScrapeMetrics | undefined;
  readonly #readFile: (path: string) => Promise<string>;
  /** Parsed raw series text -> processed series (null: dropped by relabeling). */
  readonly #cache = new Map<string, SeriesEntry | null>();
  /** Series written without explicit timestamps by the last scrape, by key. */
  #prev = new Map<string, SeriesEntry>();
  readonly #report: SeriesEntry[];
  #health: TargetHealth = {
    health: "unknown",
    lastError: "",
    lastScrape: 0,
    lastScrapeDuration: 0,
    lastSamples: 0,
  };
  #metadata = new Map<string, MetricMetadata>();
  #timer: TimerId | undefined;
  #running: Promise<void> | undefined;
  #abort: AbortController | undefined;
  #stopped = false;
  #started = false;

  constructor(options: ScrapeLoopOptions) {
    this.target = options.target;
    this.config = options.config;
    this.#append = options.appendRows;
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#metrics = options.metrics;
    this.#readFile = options.readFile ?? ((p) => Deno.readTextFile(p));
    this.#report = REPORT_NAMES.map((name) =>
      entryOf(name, new Map(Object.entries(this.target.labels)))
    );
  }

  /** Health, last error and timing of the last scrape. */
  get health(): TargetHealth {
    return this.#health;
  }

  /** Metadata (type, help, unit) from the last successful scrape, by family name. */
  get metadata(): ReadonlyMap<string, MetricMetadata> {
    return this.#metadata;
  }

  /** Milliseconds from `now` to this target's next slot (its phase within the interval). */
  delayToNextSlot(now: number): number {
    const interval = this.target.interval;
    const offset = scrapeOffset(this.target.key, interval);
    return (((offset - now) % interval) + interval) % interval;
  }

  /** Starts scraping at the target's next slot. */
  start(): void {
    if (this.#started) throw new Error("BUG: scrape loop started twice");
    this.#started = true;
    this.#schedule(this.#clock.now() + this.delayToNextSlot(this.#clock.now()));
  }

  #schedule(at: number): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    this.#timer = this.#clock.setTimeout(() => this.#tick(at), Math.max(0, at - now));
  }

  async #tick(at: number): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    await this.scrapeOnce();
    // The next slot after now: a scrape that overran skips the slots it missed.
    const interval = this.target.interval;
    let next = at + interval;
    const now = this.#clock.now();
    if (next <= now) next += Math.ceil((now - next + 1) / interval) * interval;
    this.#schedule(next);
  }

  /**
   * Stops the loop: no further scrapes; an in-flight one is aborted and
   * awaited. With `stale`, every series of the last scrape (and the report
   * series) gets a staleness marker, as when a target disappears.
   */
  async stop(options: { stale?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort?.abort(new ScrapeError("scrape loop stopped"));
    if (this.#running) await this.#running.catch(() => {});
    if (options.stale && this.#health.lastScrape > 0) {
      const rows = new ParsedRows();
      const t = Math.max(this.#clock.now(), this.#health.lastScrape + 1);
      for (const e of this.#prev.values()) addEntry(rows, e, t, STALE_NAN);
      for (const e of this.#report) addEntry(rows, e, t, STALE_NAN);
      this.#prev = new Map();
      await this.#appendSafely(rows);
    }
  }

  /**
   * Runs one scrape now and appends its results. Never throws: failures
   * become `up` = 0 and `lastError`. Concurrent calls share one scrape.
   */
  scrapeOnce(): Promise<void> {
    if (this.#running) return this.#running;
    const p = this.#scrape().finally(() => {
      this.#running = undefined;
    });
    this.#running = p;
    return p;
  }

  async #scrape(): Promise<void> {
    const start = this.#clock.now();
    const t0 = performance.now();
    let rows: ParsedRows;
    let scraped = 0, post = 0, added = 0;
    let error = "";
    try {
      const { text, contentType } = await this.#fetchBody();
      if (this.#stopped) return;
      const r = this.#process(text, contentType, start);
      rows = r.rows;
      scraped = r.scraped;
      post = r.post;
      added = r.added;
    } catch (e) {
      if (this.#stopped) return;
      error = e instanceof ScrapeError ? e.message : `${e instanceof Error ? e.message : e}`;
      // A failed scrape ends every series of the previous one, as in Prometheus.
      rows = new ParsedRows();
      for (const entry of this.#prev.values()) addEntry(rows, entry, start, STALE_NAN);
      this.#prev = new Map();
    }
    const seconds = (performance.now() - t0) / 1000;
    const up = error === "" ? 1 : 0;
    const values = [up, seconds, scraped, post, added];
    this.#report.forEach((e, i) => addEntry(rows, e, start, values[i]!));
    for (const [name, help] of REPORT_HELP) {
      rows.metadata.set(name, { type: "gauge", help, unit: "" });
    }
    await this.#appendSafely(rows);

    const job = this.target.pool;
    this.#metrics?.attempts.labels(job, up ? "success" : "failure").inc();
    this.#metrics?.duration.labels(job).observe(seconds);
    if (scraped > 0) this.#metrics?.samples.labels(job).inc(scraped);
    const wasHealth = this.#health.health;
    this.#health = {
      health: up ? "up" : "down",
      lastError: error,
      lastScrape: start,
      lastScrapeDuration: seconds,
      lastSamples: post,
    };
    if (!up && wasHealth !== "down") {
      this.#log.warn("scrape failed", { job, url: this.target.url, error });
    } else if (up && wasHealth === "down") {
      this.#log.info("scrape recovered", { job, url: this.target.url });
    }
  }

  async #appendSafely(rows: ParsedRows): Promise<void> {
    if (rows.sampleCount === 0) return;
    try {
      const r = await this.#append(rows, "scrape");
      if (r.rejected > 0 && this.#log.enabled("debug")) {
        this.#log.debug("scraped samples rejected", {
          job: this.target.pool,
          url: this.target.url,
          rejected: r.rejected,
        });
      }
    } catch (e) {
      this.#log.warn("cannot append scraped samples", {
        job: this.target.pool,
        url: this.target.url,
        error: e,
      });
    }
  }

  async #fetchBody(): Promise<{ text: string; contentType: string }> {
    const cfg = this.config;
    const headers = new Headers({
      "Accept": SCRAPE_ACCEPT,
      "User-Agent": `Perch/${VERSION}`,
      "X-Prometheus-Scrape-Timeout-Seconds": String(this.target.timeout / 1000),
    });
    const authorization = await authorizationHeader(cfg.auth, this.#readFile);
    if (authorization !== undefined) headers.set("Authorization", authorization);
    const abort = new AbortController();
    this.#abort = abort;
    const timeoutMs = this.target.timeout;
    const timer = setTimeout(
      () => abort.abort(new ScrapeError(`scrape timed out after ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    try {
      const res = await this.#fetch(this.target.url, {
        headers,
        signal: abort.signal,
        redirect: "follow",
      });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw new ScrapeError(
          `server returned HTTP status ${res.status} ${res.statusText}`.trimEnd(),
        );
      }
      const bytes = await readLimited(res, cfg.bodySizeLimit);
      return {
        text: new TextDecoder().decode(bytes),
        contentType: res.headers.get("content-type") ?? "",
      };
    } catch (e) {
      if (abort.signal.aborted && abort.signal.reason instanceof ScrapeError) {
        throw abort.signal.reason;
      }
      throw e;
    } finally {
      clearTimeout(timer);
      this.#abort = undefined;
    }
  }

  /** Turns a body into the rows to append; throws ScrapeError when limits or parsing fail. */
  #process(text: string, contentType: string, now: number) {
    const cfg = this.config;
    const ct = contentType.toLowerCase();
    const openMetrics = ct.startsWith("application/openmetrics-text")
      ? true
      : ct.startsWith("text/plain")
      ? false
      : undefined;
    const parsed = parsePrometheusText(text, { now, openMetrics });
    if (parsed.errors.length > 0) {
      const e = parsed.errors[0]!;
      const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more)` : "";
      throw new ScrapeError(`cannot parse scraped text: ${e.field}: ${e.message}${more}`);
    }
    const nSeries = parsed.seriesCount;
    if (this.#cache.size > 2 * nSeries + 1000) this.#cache.clear();
    const entries: (SeriesEntry | null)[] = new Array(nSeries);
    for (let j = 0; j < nSeries; j++) {
      const raw = parsed.seriesRawKey[j]!;
      let e = raw === "" ? undefined : this.#cache.get(raw);
      if (e === undefined) {
        e = this.#resolveSeries(parsed.seriesName[j]!, parsed.seriesLabels[j]!);
        if (raw !== "") this.#cache.set(raw, e);
      }
      if (e !== null && cfg.labelLimit > 0 && e.labelCount > cfg.labelLimit) {
        throw new ScrapeError(
          `label_limit exceeded (metric: ${
            e.name.slice(0, 50)
          }, number of labels: ${e.labelCount}, limit: ${cfg.labelLimit})`,
        );
      }
      entries[j] = e;
    }

    const rows = new ParsedRows();
    for (const [k, m] of parsed.metadata) rows.metadata.set(k, m);
    const outIndex = new Map<string, number>();
    const cur = new Map<string, SeriesEntry>();
    const n = parsed.sampleCount;
    const ss = parsed.sampleSeries, st = parsed.sampleT, sv = parsed.sampleV;
    let post = 0;
    for (let i = 0; i < n; i++) {
      const e = entries[ss[i]!];
      if (!e) continue;
      post++;
      const explicit = st[i] !== now;
      const t = cfg.honorTimestamps ? st[i]! : now;
      let idx = outIndex.get(e.key);
      if (idx === undefined) {
        idx = rows.addSeries(e.name, e.pairs, e.key, "", parsed.seriesLine[ss[i]!]!);
        outIndex.set(e.key, idx);
      }
      rows.addSample(idx, t, sv[i]!);
      // As Prometheus: series with explicit timestamps are not tracked for staleness.
      if (!explicit || !cfg.honorTimestamps) cur.set(e.key, e);
    }
    if (cfg.sampleLimit > 0 && post > cfg.sampleLimit) {
      throw new ScrapeError(`sample_limit exceeded (${post} > ${cfg.sampleLimit})`);
    }
    let added = 0;
    for (const key of cur.keys()) if (!this.#prev.has(key)) added++;
    for (const [key, e] of this.#prev) if (!cur.has(key)) addEntry(rows, e, now, STALE_NAN);
    this.#prev = cur;
    this.#metadata = new Map(parsed.metadata);
    return { rows, scraped: n, post, added };
  }

  /** Target labels + honor_labels handling + metric relabeling for one scraped series. */
  #resolveSeries(name: string, pairs: readonly string[]): SeriesEntry | null {
    const cfg = this.config;
    const lb = new Map<string, string>();
    lb.set(METRIC_NAME, name);
    for (let k = 0; k < pairs.length; k += 2) {
      if (pairs[k + 1] !== "") lb.set(pairs[k]!, pairs[k + 1]!);
    }
    const targetLabels = this.target.labels;
    if (cfg.honorLabels) {
      for (const [k, v] of Object.entries(targetLabels)) if (!lb.has(k)) lb.set(k, v);
    } else {
      const conflicts: [string, string][] = [];
      for (const [k, v] of Object.entries(targetLabels)) {
        const existing = lb.get(k);
        if (existing !== undefined && existing !== "") conflicts.push([k, existing]);
        lb.set(k, v);
      }
      // Scraped labels clashing with target labels move to exported_<name>
      // (exported_exported_<name> when that is taken too), shortest names first.
      conflicts.sort((a, b) => a[0].length - b[0].length);
      for (const [k, v] of conflicts) {
        let nk = k;
        do nk = "exported_" + nk; while (lb.has(nk));
        lb.set(nk, v);
      }
    }
    const out = cfg.metricRelabelConfigs.length > 0 ? relabel(lb, cfg.metricRelabelConfigs) : lb;
    if (out === null) return null;
    const outName = out.get(METRIC_NAME) ?? "";
    if (outName === "") return null;
    const map = new Map<string, string>();
    for (const [k, v] of out) if (!k.startsWith("__") && v !== "") map.set(k, v);
    return entryOf(outName, map);
  }
}

/** Metadata of the series every scrape writes, so `/api/v1/metadata?metric=up` lists them. */
const REPORT_HELP: readonly (readonly [string, string])[] = [
  ["up", "1 when the last scrape of the target succeeded, 0 when it failed."],
  ["scrape_duration_seconds", "How long the last scrape took, in seconds."],
  ["scrape_samples_scraped", "Samples the target exposed in the last scrape."],
  [
    "scrape_samples_post_metric_relabeling",
    "Samples left after metric relabeling in the last scrape.",
  ],
  ["scrape_series_added", "Series seen for the first time in the last scrape."],
];
/** Names of the report series, in the order `#scrape` writes their values. */
const REPORT_NAMES = REPORT_HELP.map(([name]) => name);

function entryOf(name: string, labels: ReadonlyMap<string, string>): SeriesEntry {
  const keys = [...labels.keys()].filter((k) => k !== METRIC_NAME && labels.get(k) !== "").sort();
  const pairs: string[] = [];
  for (const k of keys) pairs.push(k, labels.get(k)!);
  return { name, pairs, key: name + "\u0000" + pairs.join("\u0000"), labelCount: keys.length + 1 };
}

function addEntry(rows: ParsedRows, e: SeriesEntry, t: number, v: number): void {
  const j = rows.addSeries(e.name, e.pairs, e.key, "scrape");
  rows.addSample(j, t, v);
}

/** Reads a response body, failing once it grows past `limit` bytes. */
async function readLimited(res: Response, limit: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new ScrapeError(`body size limit exceeded (more than ${limit} bytes)`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
