/**
 * The storage engine's lifecycle facade: {@linkcode openDB} recovers a data
 * directory (drops temp files, verifies blocks, quarantines corrupt ones,
 * replays the WAL into the head) and returns a {@linkcode DB} that is both
 * the {@linkcode Appender} and the {@linkcode Querier} of core/model.
 *
 * Write path: validate per sample -> WAL record (+ series definitions) ->
 * fsync (group commit) -> head. Background: full block windows are flushed
 * to block files by a worker, the WAL is checkpointed (segments whose samples
 * are all in blocks are deleted), blocks are compacted (2h -> 6h -> 24h) and
 * retention deletes whole blocks by age and disk budget (two-phase).
 *
 * Late data is data: any sample newer than the retention horizon
 * (`now - retentionMs`) is accepted, however far behind other series or
 * connections it is; older ones are rejected as `out_of_bounds`, and
 * `t > now + futureToleranceMs` as `too_far_in_future`. An opt-in
 * `outOfOrderWindowMs` limits how far a sample may lie behind the newest
 * sample of its own series (`out_of_order`); a sample in order for its own
 * series is never refused because another series is ahead. Late samples go
 * to the head's per-series out-of-order buffer; the windows they touch are
 * flushed in the background as one block per window (overlapping older
 * blocks), merged at read time and by compaction; late samples into a
 * downsampled window are merged into that tier's aggregates. Equal
 * timestamps: the last write wins.
 *
 * `DB` is a facade over parts that share one {@linkcode DbState}
 * (db_state.ts): opening and recovery (open.ts), the append path
 * (append.ts), the read merge (querier.ts) and background maintenance
 * (maintenance.ts).
 *
 * @module
 */
import {
  type Appender,
  type AppendResult,
  type Labels,
  type Matcher,
  type MetricMetadata,
  type Querier,
  type SampleBatch,
  type SelectHints,
  type SeriesData,
} from "../model/mod.ts";
import { IncidentLog, type StorageIncident } from "./recovery.ts";
import { chunkMeta } from "./chunk.ts";
import { DbQuerier, DbSources } from "./querier.ts";
import { DbState } from "./db_state.ts";
import { Maintenance } from "./maintenance.ts";
import { DbAppender } from "./append.ts";
import { DbOpener } from "./open.ts";
import type { DownsamplingTier } from "./downsample.ts";

/** Log function: level, message, structured fields. */
export type Logger = (
  level: "debug" | "info" | "warn" | "error",
  msg: string,
  fields: Record<string, unknown>,
) => void;

/** Options of {@linkcode openDB}. */
export interface OpenOptions {
  /** Data directory (created when missing). */
  dir: string;
  /** An open Deno KV, or a path to one. @default `<dir>/index.kv` */
  kv?: Deno.Kv | string;
  /** WAL fsync policy, see wal.ts. @default "always" */
  fsync?: "always" | "interval";
  /** @default 1000 */
  fsyncIntervalMs?: number;
  /**
   * Opt-in limit: a sample older than the newest sample of its own series
   * by more than this is rejected (`out_of_order`). "Newest" is what this
   * process has seen, WAL replay included; a series whose data is only in
   * blocks has no limit until its next sample. @default Infinity (off)
   */
  outOfOrderWindowMs?: number;
  /** Samples further than this ahead of `now()` are rejected. @default 10 min */
  futureToleranceMs?: number;
  /** Blocks whose newest sample is older than this are deleted; 0 = off. @default 0 */
  retentionMs?: number;
  /**
   * Late samples into windows behind the flush horizon stay in the head
   * until their window has had no write for this long, so a back-fill
   * becomes one block per window rather than one per background round.
   * @default 5 min
   */
  lateFlushIdleMs?: number;
  /** ... but no longer than this after the first such write. @default 30 min */
  lateFlushMaxMs?: number;
  /** Disk budget for WAL + blocks + KV; oldest blocks go first, then appends fail; 0 = off. */
  maxBytes?: number;
  /** Width of a block window. @default 2 h */
  blockRangeMs?: number;
  /** Head memory that triggers an early flush. @default 64 MiB */
  headMemoryBudgetBytes?: number;
  logger?: Logger;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /**
   * Write blocks in a Web Worker. When the worker cannot start (a single-file
   * build without `block_worker.ts`), blocks are written inline after one
   * warning. @default true
   */
  useWorker?: boolean;
  /** Module of the block worker. @default `./block_worker.ts` beside db.ts's sibling block_writer.ts */
  blockWorkerUrl?: string | URL;
  /** The block worker is stopped after this long idle, freeing its heap; 0 = never. @default 30000 */
  blockWorkerIdleMs?: number;
  /** WAL segment size. @default 8 MiB */
  walSegmentBytes?: number;
  /** Period of background flush/compaction/retention; 0 = only on demand. @default 60000 */
  backgroundIntervalMs?: number;
  /**
   * Blocks found at open are checked against their file checksum this long
   * after open, in the background (their tables are checked at open, their
   * chunks at first read); 0 = at once. @default 1000
   */
  scrubDelayMs?: number;
  /** Grace period between marking a block deleted and removing its file. @default 60000 */
  deleteGraceMs?: number;
  /** Compact blocks in the background. @default true */
  compaction?: boolean;
  /**
   * Downsampling tiers: blocks whose newest sample is older than `afterMs`
   * are rewritten at `resolutionMs` (see downsample.ts); [] keeps raw data.
   * @default raw for 24 h, 1 m to 7 d, 5 m after (DEFAULT_DOWNSAMPLING)
   */
  downsampling?: readonly DownsamplingTier[];
  /**
   * Called with the time range of data that changed behind the head: after
   * an append whose accepted samples include some older than the head's
   * oldest sample before it (all of them when the head was empty: late
   * writes into flushed windows), and when retention, downsampling or a
   * quarantine removes or rewrites a block (with that block's range). A
   * range-query result cache invalidates these ranges. Errors it throws are
   * logged and ignored.
   */
  onOldWrite?: (minT: number, maxT: number) => void;
  /**
   * Where recovery records what it skipped, quarantined or rebuilt (shared
   * with the KV files main.ts opens). @default the data dir's incidents.json
   */
  incidents?: IncidentLog;
  /** WAL write function (fault injection in tests). */
  walWrite?: (file: Deno.FsFile, data: Uint8Array) => Promise<void>;
}

/** Bytes on disk per part. */
export interface DiskBytes {
  wal: number;
  blocks: number;
  kv: number;
  total: number;
}

/** What {@linkcode DB.stats} reports; counters are totals since open. */
export interface DBStats {
  series: number;
  headSeries: number;
  headSamples: number;
  headChunks: number;
  headBytes: number;
  headMinT: number | null;
  headMaxT: number | null;
  blocks: number;
  blockSamples: number;
  /** Native histogram files and the histogram samples held in memory. */
  histogramFiles: number;
  histogramHeadSamples: number;
  bytes: DiskBytes;
  corruptBlocks: number;
  missingBlocks: number;
  samplesAppended: number;
  samplesRejected: number;
  walFsyncs: number;
  walFsyncSecondsSum: number;
  walBytesWritten: number;
  walTruncatedBytes: number;
  walCorruptSegments: number;
  /** Damaged WAL bytes skipped at replay. */
  walSkippedBytes: number;
  /** Intact WAL records skipped at replay because they followed damage (until a sync point). */
  walSkippedRecords: number;
  /** Samples known lost at replay (in skipped records, or of series whose definition was lost). */
  walLostSamples: number;
  blockBytesWritten: number;
  flushes: number;
  flushFailures: number;
  compactions: number;
  compactionFailures: number;
  downsamplings: number;
  downsamplingFailures: number;
  retentionDeletedBlocks: number;
  storageFullRejections: number;
  /** Recovery incidents: open now, and counted since start. */
  incidents: {
    open: number;
    byKind: Partial<Record<string, number>>;
    samplesLost: number;
    recordsSkipped: number;
    bytesSkipped: number;
    acknowledged: number;
  };
}

/** Health for /health. */
export interface DBHealth {
  status: "healthy" | "degraded" | "unhealthy";
  message: string;
  /** Recovery incidents not yet acknowledged (see recovery.ts). */
  incidents?: StorageIncident[];
}

/** Opens (and recovers) a database in `opts.dir`. */
export async function openDB(opts: OpenOptions): Promise<DB> {
  const db = new DB(opts);
  await db._open(typeof opts.kv === "object" ? opts.kv : undefined);
  return db;
}

/** An open database: Appender and Querier of core/model. */
export class DB implements Appender, Querier {
  readonly #db: DbState;
  readonly #maint: Maintenance;
  readonly #appender: DbAppender;
  readonly #querier: DbQuerier;

  /** Use {@linkcode openDB}. */
  constructor(opts: OpenOptions) {
    this.#db = new DbState(opts);
    this.#maint = new Maintenance(this.#db);
    this.#appender = new DbAppender(this.#db, this.#maint);
    this.#querier = new DbQuerier(new DbSources(this.#db));
  }

  /** @internal Recovery; called by {@linkcode openDB}. */
  async _open(kv: Deno.Kv | undefined): Promise<void> {
    await new DbOpener(this.#db).open(kv);
    await this.#maint.measureKv();
    this.#maint.start(
      this.#db.opts.backgroundIntervalMs ?? 60_000,
      this.#db.opts.scrubDelayMs ?? 1000,
    );
  }

  /** The {@linkcode Appender}: this database. */
  appender(): Appender {
    return this;
  }

  /** The {@linkcode Querier}: this database. */
  querier(): Querier {
    return this;
  }

  /**
   * Appends a batch; resolves once accepted samples are in the WAL (fsynced
   * with `fsync: "always"`). Rejects with StorageFullError when the disk or
   * the budget is full; then nothing of the batch is stored.
   */
  append(batch: SampleBatch): Promise<AppendResult> {
    return this.#appender.append(batch);
  }

  /** Records metadata for a metric name (kept in KV). */
  setMetadata(name: string, meta: MetricMetadata): Promise<void> {
    return this.#db.index.setMetadata(name, meta);
  }

  // Querier: delegated to DbQuerier.
  /** See {@linkcode Querier.select}. */
  select(matchers: readonly Matcher[], hints: SelectHints): Promise<SeriesData[]> {
    return this.#querier.select(matchers, hints);
  }
  /** See {@linkcode Querier.labelNames}. */
  labelNames(matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    return this.#querier.labelNames(matchers, hints);
  }
  /** See {@linkcode Querier.labelValues}. */
  labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints): Promise<string[]> {
    return this.#querier.labelValues(name, matchers, hints);
  }
  /** See {@linkcode Querier.series}. */
  series(matchers: readonly Matcher[], hints: SelectHints): Promise<Labels[]> {
    return this.#querier.series(matchers, hints);
  }
  /** See {@linkcode Querier.metadata}. */
  metadata(): Promise<Map<string, MetricMetadata>> {
    return this.#querier.metadata();
  }

  /**
   * Timestamp of the oldest sample held (head, blocks being written and
   * blocks, downsampled tiers included), or null when empty. Synchronous and
   * cheap: block bounds come from footers, the head keeps its range.
   */
  minTime(): number | null {
    let m = this.#db.head.timeRange()?.minT ?? Infinity;
    m = Math.min(m, this.#db.hist.minTime() ?? Infinity);
    for (const b of this.#db.blocks.values()) if (b.meta.minT < m) m = b.meta.minT;
    for (const f of this.#db.frozen) {
      for (const cs of f.chunks.values()) {
        const t = chunkMeta(cs[0]).minT;
        if (t < m) m = t;
      }
    }
    return m === Infinity ? null : m;
  }

  /** Timestamp of the oldest sample in the head (not yet in blocks or files), or null when empty. */
  headMinT(): number | null {
    return this.#db.headMinT();
  }

  /** Persists the whole head into blocks now and checkpoints the WAL. */
  flush(): Promise<void> {
    return this.#maint.flush();
  }

  /** Runs one round of background work now: flush due windows (late ones too), compact, retention. */
  maintenance(): Promise<void> {
    return this.#maint.runNow();
  }

  /** Bytes on disk per part (WAL, blocks, KV). */
  diskBytes(): Promise<DiskBytes> {
    return this.#maint.diskBytes();
  }

  /** True when a series with this `labelsKey()` exists (for the cardinality limiter). */
  hasSeries(key: string): boolean {
    return this.#db.index.lookup(key) !== undefined;
  }

  /** Changes whenever a series leaves the index (for the cardinality limiter). */
  seriesRemovals(): number {
    return this.#db.index.removed;
  }

  /** Number of series in storage. */
  seriesCount(): number {
    return this.#db.index.size;
  }

  /** Number of series in storage with this metric name. */
  metricSeriesCount(name: string): number {
    return this.#db.index.countByName(name);
  }

  async stats(): Promise<DBStats> {
    const h = this.#db.head.stats();
    const range = this.#db.head.timeRange();
    let blockSamples = 0;
    for (const b of this.#db.blocks.values()) blockSamples += b.meta.samples;
    const ws = this.#db.wal.stats;
    return {
      series: this.#db.index.size,
      headSeries: h.series,
      headSamples: h.samples,
      headChunks: h.chunks,
      headBytes: h.chunkBytes + h.bufferBytes,
      headMinT: range?.minT ?? null,
      headMaxT: range?.maxT ?? null,
      blocks: this.#db.blocks.size,
      blockSamples,
      histogramFiles: this.#db.hist.files,
      histogramHeadSamples: this.#db.hist.headSamples,
      bytes: await this.diskBytes(),
      walFsyncs: ws.fsyncs,
      walFsyncSecondsSum: ws.fsyncSecondsSum,
      walBytesWritten: ws.bytesWritten,
      ...this.#db.counters,
      incidents: { open: this.#db.incidents.list().length, ...this.#db.incidents.counts },
    };
  }

  /**
   * Degraded while a flush fails or recovery incidents (quarantined or
   * missing blocks, skipped WAL, rebuilt KV) are not yet acknowledged.
   */
  health(): DBHealth {
    if (this.#db.closed) return { status: "unhealthy", message: "database is closed" };
    const incidents = this.#db.incidents.list();
    if (this.#db.problems.size > 0 || incidents.length > 0) {
      const parts = [...this.#db.problems.values()];
      if (incidents.length > 0) {
        const lost = incidents.reduce((n, i) => n + (i.samples ?? 0), 0);
        parts.push(
          `${incidents.length} storage incident(s) not yet acknowledged` +
            (lost > 0 ? ` (at least ${lost} samples lost)` : "") + ": " +
            incidents.slice(-3).map((i) => i.message).join("; "),
        );
      }
      return { status: "degraded", message: parts.join("; "), incidents };
    }
    return { status: "healthy", message: "ok" };
  }

  /** The incident log recovery writes to (shared with main.ts's KV checks). */
  get incidents(): IncidentLog {
    return this.#db.incidents;
  }

  /**
   * Acknowledges every open incident (a person has seen them); health turns
   * healthy again unless a live problem remains. Resolves with how many.
   */
  async acknowledgeIncidents(): Promise<number> {
    return await this.#db.incidents.acknowledge();
  }

  /**
   * Flushes complete windows into blocks, fsyncs the WAL and closes files.
   * The open window stays in the WAL and is replayed on the next open; call
   * {@linkcode flush} first to persist everything into blocks.
   */
  async close(): Promise<void> {
    if (this.#db.closed) return;
    this.#maint.stop();
    await this.#maint.enqueue(() => this.#maint.flushDue(true)).catch((e) =>
      this.#db.log("error", "flush on close failed", { error: String(e) })
    );
    this.#db.closed = true;
    await this.#maint.idle();
    await this.#db.wal.close();
    await this.#db.index.save().catch((e) =>
      this.#db.log("error", "saving series failed", { error: String(e) })
    );
    await this.#db.index.checkpoint().catch((e) =>
      this.#db.log("error", "writing the series index snapshot failed", { error: String(e) })
    );
    await this.#maint.purgeDeleted(true);
    await this.#db.incidents.flush();
    this.#db.writer.close();
    for (const b of this.#db.blocks.values()) await b.close();
    this.#db.blocks.clear();
    await this.#db.hist.close();
    if (this.#db.ownKv) this.#db.kv.close();
  }
}
