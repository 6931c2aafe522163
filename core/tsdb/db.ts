/**
 * The storage engine's lifecycle facade: {@linkcode openDB} recovers a data
 * directory (drops temp files, verifies blocks, quarantines corrupt ones,
 * replays the WAL into the head) and returns a {@linkcode DB} that is both
 * the {@linkcode Appender} and the {@linkcode Querier} of core/model.
 *
 * Write path: validate per sample → WAL record (+ series definitions) →
 * fsync (group commit) → head. Background: full block windows are flushed
 * to block files by a worker, the WAL is checkpointed (segments whose samples
 * are all in blocks are deleted), blocks are compacted (2h → 6h → 24h) and
 * retention deletes whole blocks by age and disk budget (two-phase).
 *
 * Late data is data: any sample newer than the retention horizon
 * (`now − retentionMs`) is accepted, however far behind other series or
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
 * @module
 */
import {
  type Appender,
  type AppendResult,
  type Labels,
  labelsKey,
  type Matcher,
  type MetricMetadata,
  type NativeHistogram,
  type Querier,
  type RejectedSample,
  type SampleBatch,
  type SelectHints,
  type SeriesData,
  StorageFullError,
} from "../model/mod.ts";
import {
  BLOCK_SUFFIX,
  blockFileName,
  BLOCKS_DIR,
  DELETED_SUFFIX,
  joinPath,
  KV_FILE,
  KV_PREFIX,
  parseBlockFileName,
  QUARANTINE_DIR,
  TMP_SUFFIX,
  WAL_DIR,
  walSegmentName,
} from "./filenames.ts";
import {
  decodeSamples,
  decodeSeries,
  encodeSeries,
  REC_SAMPLES,
  REC_SERIES,
  replayWal,
  type SeriesDef,
  Wal,
} from "./wal.ts";
import { commitBatched, SeriesIndex } from "./index.ts";
import { REC_SAMPLES_SYNC, REC_SAMPLES_V2, SampleDecoder, type SampleSource } from "./wal_codec.ts";
import { IncidentLog, openCheckedKv, type StorageIncident } from "./recovery.ts";
import { concat, Head, type Samples } from "./head.ts";
import {
  BlockCorruptError,
  type BlockMeta,
  BlockReader,
  type BlockSlice,
  encodeLabelsBlob,
} from "./block.ts";
import { SampleBuf } from "./_sample_buf.ts";
import { BlockWriteError, BlockWriter, isNoSpace, type SeriesChunks } from "./block_writer.ts";
import { ChunkCorruptError, chunkMeta, decodeChunk } from "./chunk.ts";
import { DbQuerier } from "./querier.ts";
import { HistogramStore } from "./histogram_store.ts";
import { decodeHistogramRecord, encodeHistogramRecord, REC_HISTOGRAMS } from "./wal_histogram.ts";
import { planCompaction } from "./compact.ts";
import { planRetention } from "./retention.ts";
import {
  AGG,
  aggRef,
  DEFAULT_DOWNSAMPLING,
  type DownsamplingTier,
  isCounterLike,
  viewFor,
} from "./downsample.ts";

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

interface Frozen {
  window: number;
  chunks: Map<number, Uint8Array[]>;
}

interface KvBlockEntry {
  minT: number;
  maxT: number;
  level: number;
}

function blockKey(seq: number): Deno.KvKey {
  return [KV_PREFIX, "block", seq];
}
function flushedKey(window: number): Deno.KvKey {
  return [KV_PREFIX, "flushed", window];
}
/** Block `seq` was merged into another (compaction, tier rewrite): never adopt it again. */
function replacedKey(seq: number): Deno.KvKey {
  return [KV_PREFIX, "replaced", seq];
}

const noopLogger: Logger = () => {};

/** "2024-01-01T00:00:00.000Z to 2024-01-01T02:00:00.000Z" (numbers when out of range). */
function isoRange(minT: number, maxT: number): string {
  const iso = (t: number) => {
    const d = new Date(t);
    return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
  };
  return `${iso(minT)} to ${iso(maxT)}`;
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

/** The accepted samples of a batch, as the WAL encoder and the head read them. */
class BatchSamples implements SampleSource {
  constructor(
    readonly batch: SampleBatch,
    readonly seriesRefs: Int32Array,
    readonly keep: Uint32Array | null,
    readonly n: number,
  ) {}
  ref(i: number): number {
    return this.seriesRefs[this.batch.ref(this.keep ? this.keep[i] : i)];
  }
  t(i: number): number {
    return this.batch.t(this.keep ? this.keep[i] : i);
  }
  v(i: number): number {
    return this.batch.v(this.keep ? this.keep[i] : i);
  }
}

/** Opens (and recovers) a database in `opts.dir`. */
export async function openDB(opts: OpenOptions): Promise<DB> {
  const db = new DB(opts);
  await db._open(typeof opts.kv === "object" ? opts.kv : undefined);
  return db;
}

/** An open database: Appender and Querier of core/model. */
export class DB implements Appender, Querier {
  readonly #dir: string;
  readonly #walDir: string;
  readonly #blocksDir: string;
  readonly #quarantineDir: string;
  readonly #kvPath: string | undefined;
  readonly #fsync: "always" | "interval";
  readonly #oooWindow: number;
  readonly #futureTolerance: number;
  readonly #retentionMs: number;
  readonly #maxBytes: number;
  readonly #range: number;
  readonly #flushDelay: number;
  readonly #headBudget: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #opts: OpenOptions;
  #kv!: Deno.Kv;
  #ownKv = false;
  #wal!: Wal;
  #index!: SeriesIndex;
  #head: Head;
  /** Native histogram samples (head and per-window files). */
  #hist!: HistogramStore;
  #writer!: BlockWriter;
  #querier!: DbQuerier;
  #blocks = new Map<number, BlockReader>();
  #nextSeq = 1;
  #frozen: Frozen[] = [];
  #sampleBuf = new SampleBuf();
  #segWindows = new Map<number, Set<number>>();
  #flushedMarks = new Map<number, number>();
  #logged = new Set<number>();
  /**
   * Series ref by the Labels array an appender passed (the pipeline keeps
   * one array per series across requests), so a known series costs no
   * labelsKey string per request. Valid while the index still has the ref
   * (refs are never reused).
   */
  #refByLabels = new WeakMap<Labels, number>();
  #maxT = -Infinity;
  /** Windows behind the flush horizon that got late writes: clock of the first and last one. */
  #lateWrites = new Map<number, { first: number; last: number }>();
  /** Newest timestamp per series ref, kept only when an out-of-order window is set. */
  #seriesMaxT: Float64Array | undefined;
  #nextFlushCheck = -Infinity;
  #bgLock: Promise<unknown> = Promise.resolve();
  #bgRunning = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #scrubTimer: ReturnType<typeof setTimeout> | undefined;
  #pendingDeletes: { path: string; at: number; reader: BlockReader }[] = [];
  #kvBytes = 0;
  #closed = false;
  #problems = new Map<string, string>();
  #incidents!: IncidentLog;
  /** index.kv was replaced by a fresh one: series come back from blocks and the WAL. */
  #rebuildIndex = false;
  #c = {
    corruptBlocks: 0,
    missingBlocks: 0,
    samplesAppended: 0,
    samplesRejected: 0,
    walTruncatedBytes: 0,
    walCorruptSegments: 0,
    walSkippedBytes: 0,
    walSkippedRecords: 0,
    walLostSamples: 0,
    blockBytesWritten: 0,
    flushes: 0,
    flushFailures: 0,
    compactions: 0,
    compactionFailures: 0,
    downsamplings: 0,
    downsamplingFailures: 0,
    retentionDeletedBlocks: 0,
    storageFullRejections: 0,
  };

  /** Use {@linkcode openDB}. */
  constructor(opts: OpenOptions) {
    this.#opts = opts;
    this.#dir = opts.dir;
    this.#walDir = joinPath(opts.dir, WAL_DIR);
    this.#blocksDir = joinPath(opts.dir, BLOCKS_DIR);
    this.#quarantineDir = joinPath(opts.dir, QUARANTINE_DIR);
    this.#kvPath = typeof opts.kv === "string"
      ? opts.kv
      : opts.kv === undefined
      ? joinPath(opts.dir, KV_FILE)
      : undefined;
    this.#fsync = opts.fsync ?? "always";
    this.#oooWindow = opts.outOfOrderWindowMs ?? Infinity;
    this.#futureTolerance = opts.futureToleranceMs ?? 600_000;
    this.#retentionMs = opts.retentionMs ?? 0;
    this.#maxBytes = opts.maxBytes ?? 0;
    this.#range = opts.blockRangeMs ?? 7_200_000;
    this.#flushDelay = Math.min(this.#oooWindow, this.#range / 2);
    this.#headBudget = opts.headMemoryBudgetBytes ?? 64 << 20;
    this.#log = opts.logger ?? noopLogger;
    this.#now = opts.now ?? Date.now;
    this.#head = new Head(this.#range);
  }

  /** @internal Recovery; called by {@linkcode openDB}. */
  async _open(kv: Deno.Kv | undefined): Promise<void> {
    await Deno.mkdir(this.#blocksDir, { recursive: true });
    await Deno.mkdir(this.#walDir, { recursive: true });
    this.#incidents = this.#opts.incidents ?? await IncidentLog.open(this.#dir, this.#now);
    if (kv) {
      this.#kv = kv;
      this.#index = await SeriesIndex.load(this.#kv);
    } else {
      // A damaged index.kv is quarantined and rebuilt from blocks and the WAL.
      const path = this.#kvPath!;
      const cut = path.lastIndexOf("/");
      let index: SeriesIndex | undefined;
      const opened = await openCheckedKv(cut < 0 ? "." : path.slice(0, cut), path.slice(cut + 1), {
        incidents: this.#incidents,
        now: this.#now,
        consequence: "The series index is rebuilt from the blocks' series tables and the WAL; " +
          "metric metadata (type, help, unit) is re-learned as it is pushed or scraped again.",
        // Everything of the storage engine is read here or just below (blocks, flush marks).
        verify: async (k) => {
          index = await SeriesIndex.load(k);
          for await (const _ of k.list({ prefix: [KV_PREFIX, "block"] })) { /* readable */ }
        },
        log: (level, msg, fields) => this.#log(level, msg, fields),
      });
      this.#kv = opened.kv;
      this.#ownKv = true;
      this.#index = index ?? await SeriesIndex.load(this.#kv);
      this.#rebuildIndex = opened.fresh;
    }
    for (const ref of this.#index.select([])) this.#logged.add(ref);
    await this.#recoverBlocks();
    const fromBlocks = await this.#repairIndexFromBlocks();
    for await (const e of this.#kv.list<number>({ prefix: [KV_PREFIX, "flushed"] })) {
      this.#flushedMarks.set(e.key[2] as number, e.value);
    }
    this.#hist = await HistogramStore.open({
      dataDir: this.#dir,
      range: this.#range,
      incidents: this.#incidents,
      log: this.#log,
      now: this.#now,
      onChange: (minT, maxT) => this.#notifyOld(minT, maxT),
      graceMs: this.#opts.deleteGraceMs,
    });
    await this.#hist.restoreIndex(
      (ref) => this.#index.labels(ref),
      (ref, labels) => this.#index.restore(ref, labels),
    );
    const known = this.#index.size;
    await this.#replay();
    const v1 = fromBlocks.unindexed;
    if (this.#rebuildIndex || fromBlocks.series > 0 || v1.length > 0) {
      const what = this.#rebuildIndex
        ? `the series index was rebuilt: ${fromBlocks.series} series from the labels ` +
          `tables of ${fromBlocks.blocks} blocks, ${this.#index.size - known} more from the WAL`
        : `the series index lacked series that blocks hold: ${fromBlocks.series} restored ` +
          `from the labels tables of ${fromBlocks.blocks} blocks`;
      this.#incidents.add({
        id: `index_rebuilt:${this.#now()}`,
        kind: "index_rebuilt",
        file: KV_FILE,
        message: what +
          (v1.length > 0
            ? `; ${v1.length} blocks of format version 1 carry no labels and some of their ` +
              `series cannot be found (${v1.map(blockFileName).join(", ")})`
            : ""),
      });
    }
    this.#wal = await Wal.open({
      dir: this.#walDir,
      fsync: this.#fsync,
      fsyncIntervalMs: this.#opts.fsyncIntervalMs,
      segmentBytes: this.#opts.walSegmentBytes,
      write: this.#opts.walWrite,
    });
    // On a full disk KV writes fail: start anyway (the series are in the WAL; saved later).
    await this.#index.save().catch((e) =>
      this.#log("error", "saving series to KV failed", { error: String(e) })
    );
    this.#writer = new BlockWriter({
      labels: (refs) =>
        encodeLabelsBlob(refs ?? this.#index.select([]), (ref) => this.#index.labels(ref)),
      useWorker: this.#opts.useWorker ?? true,
      workerUrl: this.#opts.blockWorkerUrl,
      idleMs: this.#opts.blockWorkerIdleMs,
      log: (level, msg, fields) => this.#log(level, msg, fields),
    });
    this.#querier = new DbQuerier({
      index: this.#index,
      read: (refs, minT, maxT, func, onRead) => this.#read(refs, minT, maxT, func, onRead),
      withData: (refs, minT, maxT) => this.#withData(refs, minT, maxT),
      mayHaveData: (minT, maxT) => this.#mayHaveData(minT, maxT),
      histograms: (refs, minT, maxT) => this.#hist.read(refs, minT, maxT),
      histogramRefs: (refs, minT, maxT) =>
        this.#hist.empty ? [] : this.#hist.withData(refs, minT, maxT),
    });
    await this.#measureKv();
    const every = this.#opts.backgroundIntervalMs ?? 60_000;
    if (every > 0) {
      this.#timer = setInterval(() => this.#background().catch(() => {}), every);
      Deno.unrefTimer(this.#timer as unknown as number);
    }
    // Blocks opened above had only their tables checked: the chunk bytes
    // (most of a data dir) are checked after start-up, not before it.
    this.#scrubTimer = setTimeout(() => {
      this.#scrubTimer = undefined;
      this.#enqueueBg(() => this.#scrubAll()).catch(() => {});
    }, this.#opts.scrubDelayMs ?? 1000);
    Deno.unrefTimer(this.#scrubTimer as unknown as number);
  }

  /** Checks every block not yet checked against its file checksum (see BlockReader.scrub). */
  async #scrubAll(): Promise<void> {
    for (const [seq, b] of [...this.#blocks].sort((x, y) => x[0] - y[0])) {
      if (this.#closed) return;
      if (!b.scrubbed) await this.#scrubBlock(seq, b);
    }
  }

  /**
   * Scrubs one block: damaged chunks are left out and reported as at open;
   * a block that cannot be read is quarantined.
   */
  async #scrubBlock(seq: number, b: BlockReader): Promise<void> {
    try {
      await b.scrub();
    } catch (e) {
      if (this.#blocks.get(seq) !== b) return; // Compacted or deleted meanwhile.
      await this.#dropCorrupt(seq, b, e);
      return;
    }
    this.#noteDamaged(seq, b);
  }

  /** Records the incident of a block served minus its damaged chunks (once per block). */
  #noteDamaged(seq: number, r: BlockReader): void {
    const d = r.meta.damaged;
    if (!d) return;
    this.#incidents.add({
      id: `block_damaged:${seq}`,
      kind: "block_damaged",
      file: `${BLOCKS_DIR}/${blockFileName(seq)}`,
      message: `block ${blockFileName(seq)} (${isoRange(r.meta.minT, r.meta.maxT)}) ` +
        `failed its checksum; its tables are intact and ${d.chunks} damaged chunks of ` +
        `${d.series} series (${d.samples} samples) are left out, the rest is served`,
      samples: d.samples,
      records: d.chunks,
    });
  }

  async #recoverBlocks(): Promise<void> {
    const known = new Map<number, KvBlockEntry>();
    for await (const e of this.#kv.list<KvBlockEntry>({ prefix: [KV_PREFIX, "block"] })) {
      known.set(e.key[2] as number, e.value);
    }
    const onDisk: number[] = [];
    for await (const e of Deno.readDir(this.#blocksDir)) {
      const path = joinPath(this.#blocksDir, e.name);
      if (e.name.endsWith(TMP_SUFFIX) || e.name.endsWith(DELETED_SUFFIX)) {
        await Deno.remove(path).catch(() => {});
        this.#log("info", "removed leftover file", { path });
        continue;
      }
      const seq = parseBlockFileName(e.name);
      if (seq !== undefined) onDisk.push(seq);
    }
    try {
      for await (const e of Deno.readDir(this.#quarantineDir)) {
        const seq = parseBlockFileName(e.name);
        if (seq !== undefined && seq >= this.#nextSeq) this.#nextSeq = seq + 1;
      }
    } catch { /* no quarantine yet */ }
    onDisk.sort((a, b) => a - b);
    // Inputs of a compaction or tier rewrite that a crash left behind after
    // the output was recorded: serving them again would count their data twice.
    const replaced = new Map<number, number>();
    for await (const e of this.#kv.list<number>({ prefix: [KV_PREFIX, "replaced"] })) {
      replaced.set(e.key[2] as number, e.value);
    }
    const present = new Set(onDisk);
    const stale: Deno.KvKey[] = [];
    for (const [seq] of replaced) if (!present.has(seq)) stale.push(replacedKey(seq));
    if (stale.length) await commitBatched(this.#kv, stale.map((key) => ({ key, size: 64 })));
    const adopt: Deno.AtomicOperation = this.#kv.atomic();
    let adopted = 0;
    for (const seq of onDisk) {
      if (seq >= this.#nextSeq) this.#nextSeq = seq + 1;
      const by = replaced.get(seq);
      if (!known.has(seq) && by !== undefined && (known.has(by) || present.has(by))) {
        await Deno.remove(joinPath(this.#blocksDir, blockFileName(seq))).catch(() => {});
        this.#log("info", "removed a block already merged into another", {
          block: blockFileName(seq),
          into: blockFileName(by),
        });
        continue;
      }
      try {
        const r = await BlockReader.open(this.#blocksDir, seq, { check: "tables" });
        this.#blocks.set(seq, r);
        if (r.meta.maxT > this.#maxT) this.#maxT = r.meta.maxT;
        this.#noteDamaged(seq, r);
        if (!known.has(seq)) {
          adopt.set(blockKey(seq), { minT: r.meta.minT, maxT: r.meta.maxT, level: r.meta.level });
          adopted++;
        }
      } catch (e) {
        await this.#quarantine(seq, e);
      }
      known.delete(seq);
    }
    if (adopted > 0) {
      await adopt.commit().catch((e) =>
        this.#log("error", "recording adopted blocks in KV failed", { error: String(e) })
      );
    }
    for (const [seq, entry] of known) {
      if (seq >= this.#nextSeq) this.#nextSeq = seq + 1;
      this.#c.missingBlocks++;
      this.#log("error", "block file missing", { block: blockFileName(seq) });
      this.#incidents.add({
        id: `block_missing:${seq}`,
        kind: "block_missing",
        file: `${BLOCKS_DIR}/${blockFileName(seq)}`,
        message: `block ${blockFileName(seq)} (${isoRange(entry.minT, entry.maxT)}) is missing; ` +
          "its samples are lost",
      });
      await this.#kv.delete(blockKey(seq));
    }
  }

  /**
   * Restores series that blocks hold but the index lacks (all of them after
   * index.kv was replaced; some when KV lost entries without an error) from
   * the blocks' labels tables, under their refs. A block whose labels table
   * is unreadable is quarantined; version 1 blocks have none and are listed.
   */
  async #repairIndexFromBlocks(): Promise<{ series: number; blocks: number; unindexed: number[] }> {
    let blocks = 0;
    const unindexed: number[] = [];
    const before = this.#index.size;
    for (const [seq, b] of [...this.#blocks].sort((x, y) => x[0] - y[0])) {
      const div = b.meta.resolution ? 8 : 1;
      let lacking = false;
      for (const x of b.refs) {
        if (this.#index.labels(Math.floor(x / div)) === undefined) {
          lacking = true;
          break;
        }
      }
      if (!lacking) continue;
      if ((b.meta.version ?? 1) < 2) {
        unindexed.push(seq);
        continue;
      }
      try {
        for (const [ref, labels] of await b.labels()) this.#index.restore(ref, labels);
        blocks++;
      } catch (e) {
        await this.#dropCorrupt(seq, b, e);
      }
    }
    const series = this.#index.size - before;
    if (series > 0) {
      await this.#index.save().catch((e) =>
        this.#log("error", "saving series to KV failed", { error: String(e) })
      );
      for (const ref of this.#index.select([])) this.#logged.add(ref);
      this.#log("warn", "series restored into the index from blocks", { series, blocks });
    }
    return { series, blocks, unindexed };
  }

  #notifyOld(minT: number, maxT: number): void {
    try {
      this.#opts.onOldWrite?.(minT, maxT);
    } catch (e) {
      this.#log("error", "onOldWrite callback failed", { error: String(e) });
    }
  }

  async #quarantine(seq: number, e: unknown, meta?: BlockMeta): Promise<void> {
    await Deno.mkdir(this.#quarantineDir, { recursive: true });
    const from = joinPath(this.#blocksDir, blockFileName(seq));
    const to = joinPath(this.#quarantineDir, blockFileName(seq));
    let bytes: number | undefined;
    try {
      bytes = (await Deno.stat(from)).size;
    } catch { /* gone */ }
    await Deno.rename(from, to).catch(() => {});
    await this.#kv.delete(blockKey(seq));
    this.#c.corruptBlocks++;
    const why = e instanceof Error ? e.message : String(e);
    this.#log("error", "corrupt block quarantined", { block: blockFileName(seq), error: why });
    this.#incidents.add({
      id: `block_quarantined:${seq}`,
      kind: "block_quarantined",
      file: `${BLOCKS_DIR}/${blockFileName(seq)}`,
      quarantined: `${QUARANTINE_DIR}/${blockFileName(seq)}`,
      message: `block ${blockFileName(seq)}${
        meta ? ` (${isoRange(meta.minT, meta.maxT)})` : ""
      } failed its checks (${why}) and was quarantined; its samples are not served`,
      ...(meta ? { samples: meta.samples } : {}),
      ...(bytes !== undefined ? { bytes } : {}),
    });
  }

  async #replay(): Promise<void> {
    let lastSeg = -1, lastW = NaN;
    let set: Set<number> | undefined;
    const decoder = new SampleDecoder();
    // Samples of series whose definition was lost (per segment): dropped and counted.
    const orphans = new Map<number, number>();
    const track = (seg: number) => {
      if (seg === lastSeg) return;
      lastSeg = seg;
      lastW = NaN;
      set = this.#segWindows.get(seg);
      if (!set) this.#segWindows.set(seg, set = new Set());
    };
    // The block window of a replayed sample, or undefined when it is skipped
    // (its window was flushed after this segment, or its series is unknown).
    const admit = (seg: number, ref: number, t: number): number | undefined => {
      const w = Math.floor(t / this.#range);
      const mark = this.#flushedMarks.get(w);
      if (mark !== undefined && mark > seg) return undefined;
      if (this.#index.labels(ref) === undefined) {
        orphans.set(seg, (orphans.get(seg) ?? 0) + 1);
        return undefined;
      }
      if (t > this.#maxT) this.#maxT = t;
      if (this.#oooWindow !== Infinity) this.#noteSeriesMaxT(ref, t);
      return w;
    };
    const apply = (seg: number, ref: number, t: number, v: number) => {
      const w = admit(seg, ref, t);
      if (w === undefined) return;
      this.#head.append(ref, t, v);
      if (w !== lastW) {
        set!.add(w);
        lastW = w;
      }
    };
    const applyH = (seg: number, ref: number, t: number, h: NativeHistogram) => {
      const w = admit(seg, ref, t);
      if (w === undefined) return;
      this.#hist.append(ref, t, h);
      set!.add(w);
    };
    const res = await replayWal(this.#walDir, (type, r, seg) => {
      if (type === REC_SERIES) {
        for (const d of decodeSeries(r)) {
          this.#index.restore(d.ref, d.labels);
          this.#logged.add(d.ref);
        }
      } else if (type === REC_SAMPLES_V2 || type === REC_SAMPLES_SYNC) {
        track(seg);
        decoder.decode(r, seg, (ref, t, v) => apply(seg, ref, t, v), type === REC_SAMPLES_SYNC);
      } else if (type === REC_SAMPLES) {
        track(seg);
        const c = decodeSamples(r);
        for (let i = 0; i < c.n; i++) apply(seg, c.refs[i], c.t[i], c.v[i]);
      } else if (type === REC_HISTOGRAMS) {
        track(seg);
        decodeHistogramRecord(r, (ref, t, h) => applyH(seg, ref, t, h));
      }
    }, (msg, fields) => this.#log("warn", msg, fields));
    this.#c.walTruncatedBytes += res.truncatedBytes;
    this.#c.walCorruptSegments += res.corruptSegments.length;
    for (const d of res.damage) {
      const file = `${WAL_DIR}/${walSegmentName(d.segment)}`;
      this.#c.walSkippedBytes += d.bytes;
      this.#c.walSkippedRecords += d.records;
      this.#c.walLostSamples += d.samples;
      const lost = d.records > 0
        ? `; ${d.records} intact records after it (${d.samples} samples) could not be decoded ` +
          "without it and were skipped up to the next sync point"
        : "";
      this.#incidents.add({
        id: `wal:${d.segment}:${d.offset}`,
        kind: d.tail ? "wal_torn_tail" : "wal_damage",
        file,
        message: d.tail
          ? `the last ${d.bytes} bytes of ${file} were unreadable (a write cut short by a crash ` +
            `or power loss, or damage) and were cut off${lost}`
          : `${d.bytes} damaged bytes at offset ${d.offset} of ${file} were skipped; reading ` +
            `went on after them${lost}`,
        bytes: d.bytes,
        records: d.records,
        samples: d.samples,
      });
    }
    for (const [seg, n] of orphans) {
      const file = `${WAL_DIR}/${walSegmentName(seg)}`;
      this.#c.walLostSamples += n;
      this.#incidents.add({
        id: `wal_orphans:${seg}`,
        kind: "wal_unknown_series",
        file,
        message: `${n} samples in ${file} belong to series whose definition was lost; dropped`,
        samples: n,
      });
    }
    this.#log("info", "WAL replayed", {
      segments: res.segments,
      records: res.records,
      headSamples: this.#head.stats().samples,
    });
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
  async append(batch: SampleBatch): Promise<AppendResult> {
    if (this.#closed) throw new Error("Cannot append: the database is closed");
    const n = batch.length;
    const now = this.#now();
    const minValid = this.#retentionMs > 0 ? now - this.#retentionMs : -Infinity;
    const maxValid = now + this.#futureTolerance;
    const seriesRefs = new Int32Array(batch.series.length).fill(-1);
    const rejected: RejectedSample[] = [];
    const defs: SeriesDef[] = [];
    let created: number[] | undefined;
    const limitOoo = this.#oooWindow !== Infinity;
    const newest = limitOoo ? new Float64Array(batch.series.length).fill(NaN) : undefined;
    // Indexes of accepted samples, only when some are rejected.
    let keep: Uint32Array | null = null;
    let k = 0;
    const hasH = batch.hasHistograms;
    // Accepted histogram samples (batch indexes); they skip the float path.
    const hIdx: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = batch.t(i);
      let why: RejectedSample | undefined;
      if (!Number.isFinite(t)) {
        why = { index: i, reason: "invalid", message: "timestamp is not a finite number" };
      } else if (t > maxValid) {
        why = {
          index: i,
          reason: "too_far_in_future",
          message: `timestamp ${t} is more than ${this.#futureTolerance} ms ahead of now`,
        };
      } else if (t < minValid) {
        why = {
          index: i,
          reason: "out_of_bounds",
          message: `timestamp ${t} is older than the retention period (before ${minValid})`,
        };
      } else if (limitOoo) {
        const bi = batch.ref(i);
        let top = newest![bi];
        if (top !== top) top = newest![bi] = this.#newestOf(batch.series[bi]);
        if (t < top - this.#oooWindow) {
          why = {
            index: i,
            reason: "out_of_order",
            message: `timestamp ${t} is more than out_of_order_window (${this.#oooWindow} ms) ` +
              `behind the newest sample of its series (${top})`,
          };
        }
      }
      if (why) {
        rejected.push(why);
        if (!keep) {
          keep = new Uint32Array(n);
          for (let j = 0; j < i; j++) keep[j] = j;
        }
        continue;
      }
      const bi = batch.ref(i);
      if (seriesRefs[bi] < 0) {
        const labels = batch.series[bi]!;
        let ref = this.#refByLabels.get(labels);
        if (ref === undefined || this.#index.labels(ref) === undefined) {
          const got = this.#index.getOrCreate(labels, labelsKey(labels));
          ref = got.ref;
          if (got.created) (created ??= []).push(ref);
          this.#refByLabels.set(labels, ref);
        }
        seriesRefs[bi] = ref;
        if (!this.#logged.has(ref)) defs.push({ ref, labels });
      }
      if (hasH && batch.h(i) !== undefined) {
        hIdx.push(i);
        if (!keep) {
          keep = new Uint32Array(n);
          for (let j = 0; j < i; j++) keep[j] = j;
        }
        continue;
      }
      if (keep) keep[k] = i;
      k++;
    }
    this.#c.samplesRejected += rejected.length;
    if (k === 0 && hIdx.length === 0) return { accepted: 0, rejected };
    const src = new BatchSamples(batch, seriesRefs, keep, k);
    const floor = this.#opts.onOldWrite ? this.headMinT() ?? Infinity : -Infinity;
    let oldLo = Infinity, oldHi = -Infinity;
    // About 2 bytes per sample compressed; the budget check needs only an estimate.
    if (this.#maxBytes > 0) await this.#checkBudget(16 + k * 4);
    const apply = (seg: number) => {
      let set = this.#segWindows.get(seg);
      if (!set) this.#segWindows.set(seg, set = new Set());
      let lastW = NaN;
      for (let i = 0; i < k; i++) {
        const t = src.t(i);
        const ref = src.ref(i);
        this.#head.append(ref, t, src.v(i));
        if (t > this.#maxT) this.#maxT = t;
        if (limitOoo) this.#noteSeriesMaxT(ref, t);
        if (t < floor) {
          if (t < oldLo) oldLo = t;
          if (t > oldHi) oldHi = t;
        }
        const w = Math.floor(t / this.#range);
        if (w !== lastW) {
          set.add(w);
          lastW = w;
          if ((w + 1) * this.#range <= this.#maxT - this.#flushDelay) {
            const l = this.#lateWrites.get(w);
            if (l) l.last = now;
            else this.#lateWrites.set(w, { first: now, last: now });
          }
        }
      }
      for (const d of defs) {
        // A concurrent append that failed may have dropped the new series meanwhile.
        if (this.#index.labels(d.ref) === undefined) this.#index.restore(d.ref, d.labels);
        this.#logged.add(d.ref);
      }
      this.#c.samplesAppended += k;
    };
    const hRefs = hIdx.map((i) => seriesRefs[batch.ref(i)]);
    const hT = hIdx.map((i) => batch.t(i));
    const hH = hIdx.map((i) => batch.h(i)!);
    const applyH = (seg: number) => {
      let set = this.#segWindows.get(seg);
      if (!set) this.#segWindows.set(seg, set = new Set());
      for (let i = 0; i < hRefs.length; i++) {
        const t = hT[i];
        this.#hist.append(hRefs[i], t, hH[i]);
        if (t > this.#maxT) this.#maxT = t;
        if (limitOoo) this.#noteSeriesMaxT(hRefs[i], t);
        if (t < floor) {
          if (t < oldLo) oldLo = t;
          if (t > oldHi) oldHi = t;
        }
        const w = Math.floor(t / this.#range);
        set.add(w);
        if ((w + 1) * this.#range <= this.#maxT - this.#flushDelay) {
          const l = this.#lateWrites.get(w);
          if (l) l.last = now;
          else this.#lateWrites.set(w, { first: now, last: now });
        }
      }
      if (k === 0) {
        for (const d of defs) {
          if (this.#index.labels(d.ref) === undefined) this.#index.restore(d.ref, d.labels);
          this.#logged.add(d.ref);
        }
      }
      this.#c.samplesAppended += hRefs.length;
    };
    try {
      const pending = defs.length > 0 ? this.#wal.append(encodeSeries(defs)) : undefined;
      const p = k > 0 ? this.#wal.appendSamples(src, apply) : undefined;
      const ph = hIdx.length > 0
        ? this.#wal.append(encodeHistogramRecord({ refs: hRefs, t: hT, h: hH }), applyH)
        : undefined;
      // All fail together when the group fails: keep every rejection handled.
      p?.catch(() => {});
      ph?.catch(() => {});
      if (pending) await pending;
      await p;
      await ph;
    } catch (e) {
      // Series this append created are dropped again: nothing of them is stored, and
      // saving them to KV would take the space freed for data.
      for (const ref of created ?? []) if (!this.#logged.has(ref)) this.#index.forget(ref);
      if (isNoSpace(e)) {
        this.#c.storageFullRejections++;
        this.#problems.set(
          "disk_full",
          `the disk is full: writes are refused (507) since ${
            new Date(this.#now()).toISOString()
          }` +
            " until space is freed",
        );
        throw new StorageFullError("Cannot append: the disk is full", { cause: e });
      }
      throw e;
    }
    this.#problems.delete("disk_full");
    if (oldLo <= oldHi) this.#notifyOld(oldLo, oldHi);
    if (defs.length > 0) {
      this.#index.save().catch((e) =>
        this.#log("error", "saving series to KV failed", { error: String(e) })
      );
    }
    if (this.#maxT >= this.#nextFlushCheck || this.#head.bytes > this.#headBudget) {
      this.#nextFlushCheck = Infinity;
      this.#background().catch(() => {});
    }
    return { accepted: k + hIdx.length, rejected };
  }

  /** Newest timestamp stored for a series (by labels), -Infinity when unknown. */
  #newestOf(labels: Labels): number {
    const ref = this.#index.lookup(labelsKey(labels));
    const m = this.#seriesMaxT;
    return ref === undefined || !m || ref >= m.length ? -Infinity : m[ref];
  }

  #noteSeriesMaxT(ref: number, t: number): void {
    let m = this.#seriesMaxT;
    if (!m || ref >= m.length) {
      const next = new Float64Array(Math.max(1024, (ref + 1) * 2)).fill(-Infinity);
      if (m) next.set(m);
      this.#seriesMaxT = m = next;
    }
    if (t > m[ref]) m[ref] = t;
  }

  async #checkBudget(extra: number): Promise<void> {
    let used = await this.#diskBytesTotal();
    if (used + extra <= this.#maxBytes) return;
    // Make room by deleting the oldest blocks, as retention by size would.
    await this.#enqueueBg(() => this.#applyRetention());
    used = await this.#diskBytesTotal();
    if (used + extra > this.#maxBytes) {
      this.#c.storageFullRejections++;
      throw new StorageFullError(
        `Cannot append: the disk budget of ${this.#maxBytes} bytes is used up (${used} bytes)`,
      );
    }
  }

  async #diskBytesTotal(): Promise<number> {
    let blocks = 0;
    for (const b of this.#blocks.values()) blocks += b.meta.bytes;
    return (await this.#wal.diskBytes()) + blocks + this.#kvBytes + this.#hist.diskBytes;
  }

  /** Records metadata for a metric name (kept in KV). */
  setMetadata(name: string, meta: MetricMetadata): Promise<void> {
    return this.#index.setMetadata(name, meta);
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
   * Samples of `refs` in [minT, maxT], merged over blocks (by sequence),
   * flushes in progress and the head: per series one exact-size pair of
   * arrays owned by the caller.
   */
  async #read(
    refs: readonly number[],
    minT: number,
    maxT: number,
    func?: string,
    onRead?: (samples: number) => void,
    attempt = 0,
  ): Promise<Map<number, Samples>> {
    const seqs = [...this.#blocks.keys()].sort((a, b) => a - b);
    const slices: (BlockSlice | Map<number, Samples>)[] = [];
    const sliceSeq: number[] = [];
    for (const seq of seqs) {
      const b = this.#blocks.get(seq);
      if (!b || b.meta.maxT < minT || b.meta.minT > maxT) continue;
      try {
        const s = b.meta.resolution
          ? await readTier(b, refs, minT, maxT, func)
          : await b.load(refs, minT, maxT);
        if (s) {
          slices.push(s);
          sliceSeq.push(seq);
        }
      } catch (e) {
        if (e instanceof ChunkCorruptError || e instanceof BlockCorruptError) {
          if (!b.scrubbed) {
            // Not checked whole yet: check it now, leave out what is damaged, read again.
            await this.#scrubBlock(seq, b);
            return this.#read(refs, minT, maxT, func, onRead, attempt);
          }
          await this.#dropCorrupt(seq, b, e);
          continue;
        }
        throw e;
      }
    }
    // A flush, compaction or tier that finished while blocks were loading
    // moved samples out of the head (or out of blocks read) into a block this
    // read did not list: read again, or those samples would be missing (remote
    // write would skip them for good).
    if (attempt < 8 && !sameKeys(this.#blocks, seqs)) {
      return this.#read(refs, minT, maxT, func, onRead, attempt + 1);
    }
    const frozen = this.#frozen.filter((f) => {
      const lo = f.window * this.#range;
      return lo + this.#range - 1 >= minT && lo <= maxT;
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
          if (d) buf.push(d.t, d.v);
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
      this.#head.readInto(ref, minT, maxT, buf);
      const r = buf.finish(minT, maxT);
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
        const b = this.#blocks.get(seq);
        if (b && !b.scrubbed) await this.#scrubBlock(seq, b);
        else if (b) {
          await this.#dropCorrupt(seq, b, new ChunkCorruptError("chunk checksum mismatch"));
        }
      }
      return this.#read(refs, minT, maxT, func, onRead);
    }
    return out;
  }

  async #dropCorrupt(seq: number, b: BlockReader, e: unknown): Promise<void> {
    this.#blocks.delete(seq);
    await b.close();
    await this.#quarantine(seq, e, b.meta);
    this.#notifyOld(b.meta.minT, b.meta.maxT);
  }

  /**
   * Timestamp of the oldest sample held (head, blocks being written and
   * blocks, downsampled tiers included), or null when empty. Synchronous and
   * cheap: block bounds come from footers, the head keeps its range.
   */
  minTime(): number | null {
    let m = this.#head.timeRange()?.minT ?? Infinity;
    m = Math.min(m, this.#hist.minTime() ?? Infinity);
    for (const b of this.#blocks.values()) if (b.meta.minT < m) m = b.meta.minT;
    for (const f of this.#frozen) {
      for (const cs of f.chunks.values()) {
        const t = chunkMeta(cs[0]).minT;
        if (t < m) m = t;
      }
    }
    return m === Infinity ? null : m;
  }

  /** Timestamp of the oldest sample in the head (not yet in blocks or files), or null when empty. */
  headMinT(): number | null {
    const m = Math.min(this.#head.timeRange()?.minT ?? Infinity, this.#hist.headMinT() ?? Infinity);
    return m === Infinity ? null : m;
  }

  /** True when some source (block, flush in progress, head) may hold data in [minT, maxT]. */
  #mayHaveData(minT: number, maxT: number): boolean {
    if (!this.#hist.empty) return true;
    const h = this.#head.timeRange();
    if (h && h.maxT >= minT && h.minT <= maxT) return true;
    for (const b of this.#blocks.values()) {
      if (b.meta.maxT >= minT && b.meta.minT <= maxT) return true;
    }
    for (const f of this.#frozen) {
      const lo = f.window * this.#range;
      if (lo + this.#range - 1 >= minT && lo <= maxT) return true;
    }
    return false;
  }

  #withData(refs: readonly number[], minT: number, maxT: number): number[] {
    if (!this.#mayHaveData(minT, maxT)) return [];
    const blocks = [...this.#blocks.values()].filter((b) =>
      b.meta.maxT >= minT && b.meta.minT <= maxT
    );
    const frozen = this.#frozen.filter((f) => {
      const lo = f.window * this.#range;
      return lo + this.#range - 1 >= minT && lo <= maxT;
    });
    const h = this.#head.timeRange();
    const inHead = h !== undefined && h.maxT >= minT && h.minT <= maxT;
    const out: number[] = [];
    outer: for (const ref of refs) {
      if (inHead && this.#head.hasData(ref, minT, maxT)) {
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

  #enqueueBg<T>(op: () => Promise<T>): Promise<T> {
    const p = this.#bgLock.then(op);
    this.#bgLock = p.catch(() => {});
    return p;
  }

  /** Flush of complete windows, compaction, retention; serialized. */
  #background(): Promise<void> {
    if (this.#bgRunning || this.#closed) return Promise.resolve();
    this.#bgRunning = true;
    return this.#enqueueBg(async () => {
      try {
        // Compaction and tiers read blocks whole: each is checked first, so
        // damage is reported before an input is replaced.
        await this.#scrubAll();
        await this.#flushDue();
        if (this.#opts.compaction ?? true) {
          await this.#compactOnce();
          await this.#compactHistograms(4);
        }
        await this.#downsampleDue(4);
        await this.#applyRetention();
        await this.#purgeDeleted(false);
      } catch (e) {
        this.#log("error", "background work failed", { error: String(e) });
      } finally {
        this.#bgRunning = false;
      }
    });
  }

  /**
   * Flushes windows behind the flush horizon; a window still receiving late
   * writes waits (see `lateFlushIdleMs`) unless `force`.
   */
  async #flushDue(force = false): Promise<void> {
    const horizon = this.#maxT - this.#flushDelay;
    const now = this.#now();
    const idle = this.#opts.lateFlushIdleMs ?? 300_000;
    const most = this.#opts.lateFlushMaxMs ?? 1_800_000;
    const settled = (w: number) => {
      const l = this.#lateWrites.get(w);
      return force || !l || now - l.last >= idle || now - l.first >= most;
    };
    let windows = this.#windowsHeld();
    const due = windows.filter((w) => (w + 1) * this.#range <= horizon && settled(w));
    if (due.length > 0) await this.#flushWindows(due);
    if (this.#head.bytes > this.#headBudget) {
      windows = this.#head.windows();
      this.#log("info", "head over its memory budget, flushing early", { bytes: this.#head.bytes });
      await this.#flushWindows(windows.length > 1 ? windows.slice(0, -1) : windows);
      if (this.#head.bytes > this.#headBudget) await this.#flushWindows(this.#head.windows());
    }
    const base = Math.floor(horizon / this.#range) + 1;
    this.#nextFlushCheck = base * this.#range + this.#flushDelay;
  }

  /** Persists the whole head into blocks now and checkpoints the WAL. */
  flush(): Promise<void> {
    return this.#enqueueBg(() => this.#flushWindows(this.#windowsHeld()));
  }

  /** Block windows with samples in the head, float or histogram, ascending. */
  #windowsHeld(): number[] {
    const hw = this.#hist.windows();
    if (hw.length === 0) return this.#head.windows();
    return [...new Set([...this.#head.windows(), ...hw])].sort((a, b) => a - b);
  }

  async #flushWindows(windows: number[]): Promise<void> {
    if (windows.length === 0) return;
    const seg = await this.#wal.rotate();
    for (const w of windows) {
      this.#lateWrites.delete(w);
      // Histograms first: the window's flush mark below lets its WAL go.
      await this.#hist.flushWindow(w, (ref) => this.#index.labels(ref));
      const chunks = this.#head.extractWindow(w);
      if (chunks.size > 0) {
        const frozen: Frozen = { window: w, chunks };
        this.#frozen.push(frozen);
        const seq = this.#nextSeq++;
        const series: SeriesChunks[] = [...chunks.keys()].sort((a, b) => a - b)
          .map((ref) => ({ ref, chunks: chunks.get(ref)! }));
        try {
          const meta = await this.#writer.flush(this.#blocksDir, seq, series);
          const r = await BlockReader.open(this.#blocksDir, seq);
          this.#blocks.set(seq, r);
          this.#c.blockBytesWritten += meta.bytes;
          this.#c.flushes++;
          await this.#kv.atomic()
            .set(blockKey(seq), { minT: meta.minT, maxT: meta.maxT, level: 0 })
            .set(flushedKey(w), seg)
            .commit();
        } catch (e) {
          this.#c.flushFailures++;
          this.#log("error", "block flush failed; data stays in the head and WAL", {
            window: w,
            error: e instanceof Error ? e.message : String(e),
          });
          for (const [ref, cs] of chunks) {
            this.#head.restore(
              ref,
              concat(cs.map((c) => decodeChunk(c))),
            );
          }
          this.#frozen = this.#frozen.filter((f) => f !== frozen);
          if (e instanceof BlockWriteError && e.noSpace) {
            this.#problems.set("flush", "disk full while writing a block");
          }
          throw e;
        }
        this.#frozen = this.#frozen.filter((f) => f !== frozen);
        this.#problems.delete("flush");
      } else {
        await this.#kv.set(flushedKey(w), seg);
      }
      this.#flushedMarks.set(w, seg);
    }
    await this.#checkpoint();
  }

  /** Deletes WAL segments whose samples are all in blocks. */
  async #checkpoint(): Promise<void> {
    await this.#index.save();
    const canDelete = (s: number) => {
      const ws = this.#segWindows.get(s);
      if (!ws) return true;
      for (const w of ws) {
        const mark = this.#flushedMarks.get(w);
        if (mark === undefined || mark <= s) return false;
      }
      return true;
    };
    await this.#wal.removeSegments(canDelete);
    const live = new Set(this.#wal.segments());
    for (const s of [...this.#segWindows.keys()]) if (!live.has(s)) this.#segWindows.delete(s);
    // A mark is needed only while a segment before it remains.
    const oldest = Math.min(...live);
    const drop: Deno.KvKey[] = [];
    for (const [w, mark] of this.#flushedMarks) {
      if (mark <= oldest) {
        this.#flushedMarks.delete(w);
        drop.push(flushedKey(w));
      }
    }
    if (drop.length) await commitBatched(this.#kv, drop.map((key) => ({ key, size: 64 })));
  }

  /**
   * Rewrites up to `max` blocks that have aged past a downsampling tier at
   * that tier's resolution (coarsest tier due first), replacing them.
   */
  async #downsampleDue(max: number): Promise<void> {
    const tiers = [...(this.#opts.downsampling ?? DEFAULT_DOWNSAMPLING)]
      .sort((a, b) => a.afterMs - b.afterMs);
    if (tiers.length === 0) return;
    const now = this.#now();
    try {
      await this.#hist.downsample(tiers, now, (ref) => this.#index.labels(ref), max);
    } catch (e) {
      this.#c.downsamplingFailures++;
      this.#log("error", "histogram downsampling failed", { error: String(e) });
    }
    let done = 0;
    for (const b of [...this.#blocks.values()].sort((x, y) => x.meta.seq - y.meta.seq)) {
      if (done >= max || this.#closed) return;
      if (!this.#blocks.has(b.meta.seq)) continue; // merged into a tier this round
      let tier: DownsamplingTier | undefined;
      for (const t of tiers) if (b.meta.maxT < now - t.afterMs) tier = t;
      if (!tier || tier.resolutionMs <= (b.meta.resolution ?? 0)) continue;
      await this.#downsampleBlock(b, tier.resolutionMs);
      done++;
    }
  }

  /**
   * Downsampled blocks (other than `b`) whose windows at `resolution` overlap
   * `b`: late data into a downsampled window is merged into them.
   */
  #tiersOverlapping(b: BlockReader, resolution: number): BlockReader[] {
    const lo = Math.floor(b.meta.minT / resolution) * resolution;
    const hi = (Math.floor(b.meta.maxT / resolution) + 1) * resolution - 1;
    const out: BlockReader[] = [];
    for (const x of this.#blocks.values()) {
      const m = x.meta;
      if (x === b || !m.resolution || m.resolution > resolution) continue;
      if (b.meta.resolution && m.resolution <= b.meta.resolution) continue;
      const xlo = Math.floor(m.minT / resolution) * resolution;
      if (m.maxT >= lo && xlo <= hi) out.push(x);
    }
    return out.sort((x, y) => x.meta.seq - y.meta.seq);
  }

  async #downsampleBlock(b: BlockReader, resolution: number): Promise<void> {
    const meta0 = b.meta;
    const into = this.#tiersOverlapping(b, resolution);
    const seq = this.#nextSeq++;
    try {
      const metadata = this.#index.metadata();
      const counters: number[] = [];
      const refs = new Set<number>();
      for (const x of b.refs) refs.add(meta0.resolution ? Math.floor(x / 8) : x);
      for (const t of into) for (const x of t.refs) refs.add(Math.floor(x / 8));
      for (const ref of [...refs].sort((x, y) => x - y)) {
        const name = this.#index.labels(ref)?.find((l) => l.name === "__name__")?.value;
        if (isCounterLike(name, name ? metadata.get(name)?.type : undefined)) counters.push(ref);
      }
      const meta = await this.#writer.downsample(
        this.#blocksDir,
        seq,
        meta0.level,
        meta0.seq,
        resolution,
        new Uint32Array(counters),
        into.map((t) => t.meta.seq),
      );
      const r = await BlockReader.open(this.#blocksDir, seq);
      this.#blocks.set(seq, r);
      let op = this.#kv.atomic()
        .set(blockKey(seq), { minT: meta.minT, maxT: meta.maxT, level: meta.level })
        .delete(blockKey(meta0.seq));
      for (const t of into) op = op.delete(blockKey(t.meta.seq));
      for (const x of [meta0.seq, ...into.map((t) => t.meta.seq)]) op = op.set(replacedKey(x), seq);
      await op.commit();
      await this.#markDeleted(meta0.seq);
      for (const t of into) await this.#markDeleted(t.meta.seq);
      if (into.length === 0) this.#notifyOld(meta0.minT, meta0.maxT);
      else {
        // Merged windows may move their points anywhere inside the window.
        const lo = Math.floor(meta0.minT / resolution) * resolution;
        this.#notifyOld(lo, (Math.floor(meta0.maxT / resolution) + 1) * resolution - 1);
      }
      this.#c.downsamplings++;
      this.#c.blockBytesWritten += meta.bytes;
      this.#log("info", "block downsampled", {
        input: meta0.seq,
        output: seq,
        resolutionMs: resolution,
        bytes: [meta0.bytes, meta.bytes],
        ...(into.length ? { mergedInto: into.map((t) => t.meta.seq) } : {}),
      });
    } catch (e) {
      this.#c.downsamplingFailures++;
      this.#log("error", "downsampling failed", {
        block: meta0.seq,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** Runs up to `max` histogram file compactions. */
  async #compactHistograms(max: number): Promise<void> {
    const horizon = this.#maxT - this.#flushDelay;
    try {
      for (let i = 0; i < max; i++) {
        if (!await this.#hist.compact(horizon, (ref) => this.#index.labels(ref))) break;
      }
    } catch (e) {
      this.#c.compactionFailures++;
      this.#log("error", "histogram compaction failed", { error: String(e) });
    }
  }

  async #compactOnce(): Promise<void> {
    const metas = [...this.#blocks.values()].map((b) => b.meta).filter((m) => !m.resolution);
    const plan = planCompaction(metas, this.#range, this.#maxT - this.#flushDelay);
    if (!plan) return;
    const seq = this.#nextSeq++;
    try {
      const meta = await this.#writer.compact(this.#blocksDir, seq, plan.level, plan.inputs);
      const r = await BlockReader.open(this.#blocksDir, seq);
      let op = this.#kv.atomic().set(blockKey(seq), {
        minT: meta.minT,
        maxT: meta.maxT,
        level: meta.level,
      });
      for (const s of plan.inputs) op = op.delete(blockKey(s)).set(replacedKey(s), seq);
      this.#blocks.set(seq, r);
      await op.commit();
      for (const s of plan.inputs) await this.#markDeleted(s);
      this.#c.compactions++;
      this.#c.blockBytesWritten += meta.bytes;
      this.#log("info", "blocks compacted", {
        inputs: plan.inputs,
        output: seq,
        level: plan.level,
      });
    } catch (e) {
      this.#c.compactionFailures++;
      this.#log("error", "compaction failed", {
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** Phase one of a delete: stop serving the block and rename it aside. */
  async #markDeleted(seq: number): Promise<void> {
    const r = this.#blocks.get(seq);
    if (!r) return;
    this.#blocks.delete(seq);
    await this.#kv.delete(blockKey(seq));
    const path = joinPath(this.#blocksDir, blockFileName(seq));
    await Deno.rename(path, path + DELETED_SUFFIX).catch(() => {});
    this.#pendingDeletes.push({ path: path + DELETED_SUFFIX, at: this.#now(), reader: r });
  }

  /** Phase two: remove files marked at least the grace period ago (all when `force`). */
  async #purgeDeleted(force: boolean): Promise<void> {
    await this.#hist.purgeRetired(force);
    const grace = this.#opts.deleteGraceMs ?? 60_000;
    const now = this.#now();
    const keep = [];
    for (const d of this.#pendingDeletes) {
      if (force || now - d.at >= grace) {
        await d.reader.close();
        await Deno.remove(d.path).catch(() => {});
      } else keep.push(d);
    }
    this.#pendingDeletes = keep;
  }

  async #applyRetention(): Promise<void> {
    if (this.#retentionMs <= 0 && this.#maxBytes <= 0) return;
    await this.#measureKv();
    // Histogram files are planned with the blocks, under negative ids.
    const hist = this.#hist.retentionItems();
    const items = [
      ...[...this.#blocks.values()].map((b) => b.meta),
      ...hist.map((h, i) => ({ seq: -1 - i, maxT: h.maxT, bytes: h.bytes })),
    ];
    const walBytes = await this.#wal.diskBytes();
    const drop = planRetention(items, {
      now: this.#now(),
      retentionMs: this.#retentionMs,
      maxBytes: this.#maxBytes,
      otherBytes: walBytes + this.#kvBytes,
    });
    const histDrop: string[] = [];
    for (const seq of drop) {
      if (seq < 0) {
        histDrop.push(hist[-1 - seq]!.name);
        continue;
      }
      const m = this.#blocks.get(seq)?.meta;
      await this.#markDeleted(seq);
      if (m) this.#notifyOld(m.minT, m.maxT);
      this.#c.retentionDeletedBlocks++;
      this.#log("info", "retention deleted block", { block: blockFileName(seq) });
    }
    if (histDrop.length > 0) {
      await this.#hist.drop(histDrop);
      this.#log("info", "retention deleted histogram files", { files: histDrop });
    }
  }

  /** Runs one round of background work now: flush due windows (late ones too), compact, retention. */
  async maintenance(): Promise<void> {
    await this.#enqueueBg(async () => {
      await this.#scrubAll();
      await this.#flushDue(true);
      if (this.#opts.compaction ?? true) {
        for (let i = 0; i < 16; i++) {
          const before = this.#c.compactions;
          await this.#compactOnce();
          if (this.#c.compactions === before) break;
        }
        await this.#compactHistograms(16);
      }
      await this.#downsampleDue(Infinity);
      await this.#applyRetention();
      await this.#purgeDeleted(false);
    });
  }

  async #measureKv(): Promise<void> {
    if (!this.#kvPath) return;
    let total = 0;
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        total += (await Deno.stat(this.#kvPath + suffix)).size;
      } catch { /* absent */ }
    }
    this.#kvBytes = total;
  }

  /** Bytes on disk per part (WAL, blocks, KV). */
  async diskBytes(): Promise<DiskBytes> {
    await this.#measureKv();
    const wal = await this.#wal.diskBytes();
    let blocks = 0;
    for await (const e of Deno.readDir(this.#blocksDir)) {
      if (e.name.endsWith(BLOCK_SUFFIX)) {
        blocks += (await Deno.stat(joinPath(this.#blocksDir, e.name))).size;
      }
    }
    // Histogram files count with the blocks.
    blocks += this.#hist.diskBytes;
    return { wal, blocks, kv: this.#kvBytes, total: wal + blocks + this.#kvBytes };
  }

  /** Counters and sizes, as plain numbers. */
  /** True when a series with this `labelsKey()` exists (for the cardinality limiter). */
  hasSeries(key: string): boolean {
    return this.#index.lookup(key) !== undefined;
  }

  /** Number of series in storage. */
  seriesCount(): number {
    return this.#index.size;
  }

  /** Number of series in storage with this metric name. */
  metricSeriesCount(name: string): number {
    return this.#index.countByName(name);
  }

  async stats(): Promise<DBStats> {
    const h = this.#head.stats();
    const range = this.#head.timeRange();
    let blockSamples = 0;
    for (const b of this.#blocks.values()) blockSamples += b.meta.samples;
    const ws = this.#wal.stats;
    return {
      series: this.#index.size,
      headSeries: h.series,
      headSamples: h.samples,
      headChunks: h.chunks,
      headBytes: h.chunkBytes + h.bufferBytes,
      headMinT: range?.minT ?? null,
      headMaxT: range?.maxT ?? null,
      blocks: this.#blocks.size,
      blockSamples,
      histogramFiles: this.#hist.files,
      histogramHeadSamples: this.#hist.headSamples,
      bytes: await this.diskBytes(),
      walFsyncs: ws.fsyncs,
      walFsyncSecondsSum: ws.fsyncSecondsSum,
      walBytesWritten: ws.bytesWritten,
      ...this.#c,
      incidents: { open: this.#incidents.list().length, ...this.#incidents.counts },
    };
  }

  /**
   * Degraded while a flush fails or recovery incidents (quarantined or
   * missing blocks, skipped WAL, rebuilt KV) are not yet acknowledged.
   */
  health(): DBHealth {
    if (this.#closed) return { status: "unhealthy", message: "database is closed" };
    const incidents = this.#incidents.list();
    if (this.#problems.size > 0 || incidents.length > 0) {
      const parts = [...this.#problems.values()];
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
    return this.#incidents;
  }

  /**
   * Acknowledges every open incident (a person has seen them); health turns
   * healthy again unless a live problem remains. Resolves with how many.
   */
  async acknowledgeIncidents(): Promise<number> {
    return await this.#incidents.acknowledge();
  }

  /**
   * Flushes complete windows into blocks, fsyncs the WAL and closes files.
   * The open window stays in the WAL and is replayed on the next open; call
   * {@linkcode flush} first to persist everything into blocks.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#scrubTimer !== undefined) clearTimeout(this.#scrubTimer);
    await this.#enqueueBg(() => this.#flushDue(true)).catch((e) =>
      this.#log("error", "flush on close failed", { error: String(e) })
    );
    this.#closed = true;
    await this.#bgLock;
    await this.#wal.close();
    await this.#index.save().catch((e) =>
      this.#log("error", "saving series failed", { error: String(e) })
    );
    await this.#purgeDeleted(true);
    await this.#incidents.flush();
    this.#writer.close();
    for (const b of this.#blocks.values()) await b.close();
    this.#blocks.clear();
    await this.#hist.close();
    if (this.#ownKv) this.#kv.close();
  }
}

/** Whether `m` has exactly the keys in `keys`. */
function sameKeys(m: ReadonlyMap<number, unknown>, keys: readonly number[]): boolean {
  if (m.size !== keys.length) return false;
  for (const k of keys) if (!m.has(k)) return false;
  return true;
}
