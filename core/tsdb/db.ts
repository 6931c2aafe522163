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
  type Matcher,
  type MetricMetadata,
  type NativeHistogram,
  type Querier,
  type SampleBatch,
  type SelectHints,
  type SeriesData,
} from "../model/mod.ts";
import {
  blockFileName,
  BLOCKS_DIR,
  DELETED_SUFFIX,
  joinPath,
  KV_FILE,
  KV_PREFIX,
  parseBlockFileName,
  TMP_SUFFIX,
  WAL_DIR,
  walSegmentName,
} from "./filenames.ts";
import { decodeSamples, decodeSeries, REC_SAMPLES, REC_SERIES, replayWal, Wal } from "./wal.ts";
import { commitBatched, SeriesIndex } from "./index.ts";
import { REC_SAMPLES_SYNC, REC_SAMPLES_V2, SampleDecoder } from "./wal_codec.ts";
import { IncidentLog, openCheckedKv, type StorageIncident } from "./recovery.ts";
import { BlockReader, encodeLabelsBlob } from "./block.ts";
import { BlockWriter } from "./block_writer.ts";
import { chunkMeta } from "./chunk.ts";
import { DbQuerier, DbSources } from "./querier.ts";
import {
  blockKey,
  DbState,
  type Frozen,
  isoRange,
  type KvBlockEntry,
  replacedKey,
} from "./db_state.ts";
import { Maintenance } from "./maintenance.ts";
import { DbAppender } from "./append.ts";
import { HistogramStore } from "./histogram_store.ts";
import { decodeHistogramRecord, REC_HISTOGRAMS } from "./wal_histogram.ts";
import { type DownsamplingTier } from "./downsample.ts";

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
  #querier!: DbQuerier;
  /** index.kv was replaced by a fresh one: series come back from blocks and the WAL. */
  #rebuildIndex = false;
  // The shared state is in DbState (accessors while the parts move out of this file).
  get #dir() {
    return this.#db.dir;
  }
  get #walDir() {
    return this.#db.walDir;
  }
  get #blocksDir() {
    return this.#db.blocksDir;
  }
  get #quarantineDir() {
    return this.#db.quarantineDir;
  }
  get #kvPath() {
    return this.#db.kvPath;
  }
  get #fsync() {
    return this.#db.fsync;
  }
  get #oooWindow() {
    return this.#db.oooWindow;
  }
  get #range() {
    return this.#db.range;
  }
  get #log() {
    return this.#db.log;
  }
  get #now() {
    return this.#db.now;
  }
  get #opts() {
    return this.#db.opts;
  }
  get #head() {
    return this.#db.head;
  }
  get #blocks() {
    return this.#db.blocks;
  }
  get #segWindows() {
    return this.#db.segWindows;
  }
  get #flushedMarks() {
    return this.#db.flushedMarks;
  }
  get #logged() {
    return this.#db.logged;
  }
  get #problems() {
    return this.#db.problems;
  }
  get #c() {
    return this.#db.c;
  }
  get #kv() {
    return this.#db.kv;
  }
  set #kv(v: Deno.Kv) {
    this.#db.kv = v;
  }
  get #ownKv() {
    return this.#db.ownKv;
  }
  set #ownKv(v: boolean) {
    this.#db.ownKv = v;
  }
  get #wal() {
    return this.#db.wal;
  }
  set #wal(v: Wal) {
    this.#db.wal = v;
  }
  get #index() {
    return this.#db.index;
  }
  set #index(v: SeriesIndex) {
    this.#db.index = v;
  }
  get #hist() {
    return this.#db.hist;
  }
  set #hist(v: HistogramStore) {
    this.#db.hist = v;
  }
  get #writer() {
    return this.#db.writer;
  }
  set #writer(v: BlockWriter) {
    this.#db.writer = v;
  }
  get #nextSeq() {
    return this.#db.nextSeq;
  }
  set #nextSeq(v: number) {
    this.#db.nextSeq = v;
  }
  get #frozen() {
    return this.#db.frozen;
  }
  set #frozen(v: Frozen[]) {
    this.#db.frozen = v;
  }
  get #maxT() {
    return this.#db.maxT;
  }
  set #maxT(v: number) {
    this.#db.maxT = v;
  }
  get #closed() {
    return this.#db.closed;
  }
  set #closed(v: boolean) {
    this.#db.closed = v;
  }
  get #incidents() {
    return this.#db.incidents;
  }
  set #incidents(v: IncidentLog) {
    this.#db.incidents = v;
  }

  /** Use {@linkcode openDB}. */
  constructor(opts: OpenOptions) {
    this.#db = new DbState(opts);
    this.#maint = new Maintenance(this.#db);
    this.#appender = new DbAppender(this.#db, this.#maint);
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
      onChange: (minT, maxT) => this.#db.notifyOld(minT, maxT),
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
    this.#querier = new DbQuerier(new DbSources(this.#db));
    await this.#maint.measureKv();
    this.#maint.start(this.#opts.backgroundIntervalMs ?? 60_000, this.#opts.scrubDelayMs ?? 1000);
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
        this.#db.noteDamaged(seq, r);
        if (!known.has(seq)) {
          adopt.set(blockKey(seq), { minT: r.meta.minT, maxT: r.meta.maxT, level: r.meta.level });
          adopted++;
        }
      } catch (e) {
        await this.#db.quarantine(seq, e);
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
        await this.#db.dropCorrupt(seq, b, e);
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
      if (this.#oooWindow !== Infinity) this.#db.noteSeriesMaxT(ref, t);
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
  append(batch: SampleBatch): Promise<AppendResult> {
    return this.#appender.append(batch);
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
    this.#maint.stop();
    await this.#maint.enqueue(() => this.#maint.flushDue(true)).catch((e) =>
      this.#log("error", "flush on close failed", { error: String(e) })
    );
    this.#closed = true;
    await this.#maint.idle();
    await this.#wal.close();
    await this.#index.save().catch((e) =>
      this.#log("error", "saving series failed", { error: String(e) })
    );
    await this.#maint.purgeDeleted(true);
    await this.#incidents.flush();
    this.#writer.close();
    for (const b of this.#blocks.values()) await b.close();
    this.#blocks.clear();
    await this.#hist.close();
    if (this.#ownKv) this.#kv.close();
  }
}
