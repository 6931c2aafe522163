/**
 * What the parts of an open database share: its options, files (WAL, index,
 * KV), the head, the set of blocks and the bookkeeping between them, and
 * what each part may do to a damaged block (check it whole, quarantine it).
 * The `DB` facade (db.ts) owns one {@linkcode DbState}; opening and recovery
 * (open.ts), the append path (append.ts), the read merge (querier.ts) and
 * background maintenance (maintenance.ts) work on it.
 *
 * @module
 */
import type { Wal } from "./wal.ts";
import type { SeriesIndex } from "./index.ts";
import type { IncidentLog } from "./recovery.ts";
import { Head } from "./head.ts";
import type { BlockMeta, BlockReader } from "./block.ts";
import type { BlockWriter } from "./block_writer.ts";
import type { HistogramStore } from "./histogram_store.ts";
import {
  blockFileName,
  BLOCKS_DIR,
  joinPath,
  KV_FILE,
  KV_PREFIX,
  QUARANTINE_DIR,
  WAL_DIR,
} from "./filenames.ts";
import type { Logger, OpenOptions } from "./db.ts";
import { RefSet } from "./_ref_set.ts";

/** A window's chunks taken out of the head while its block is being written. */
export interface Frozen {
  window: number;
  chunks: Map<number, Uint8Array[]>;
}

/** The KV entry of a block (`["tsdb", "block", seq]`). */
export interface KvBlockEntry {
  minT: number;
  maxT: number;
  level: number;
}

/** KV key of block `seq`'s entry. */
export function blockKey(seq: number): Deno.KvKey {
  return [KV_PREFIX, "block", seq];
}
/** KV key of a window's flush mark: the WAL segment from which its samples are in blocks. */
export function flushedKey(window: number): Deno.KvKey {
  return [KV_PREFIX, "flushed", window];
}
/** Block `seq` was merged into another (compaction, tier rewrite): never adopt it again. */
export function replacedKey(seq: number): Deno.KvKey {
  return [KV_PREFIX, "replaced", seq];
}

const noopLogger: Logger = () => {};

/** "2024-01-01T00:00:00.000Z to 2024-01-01T02:00:00.000Z" (numbers when out of range). */
export function isoRange(minT: number, maxT: number): string {
  const iso = (t: number) => {
    const d = new Date(t);
    return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
  };
  return `${iso(minT)} to ${iso(maxT)}`;
}

/** The shared state of an open database (see the module doc). */
export class DbState {
  readonly dir: string;
  readonly walDir: string;
  readonly blocksDir: string;
  readonly quarantineDir: string;
  readonly kvPath: string | undefined;
  readonly fsync: "always" | "interval";
  readonly oooWindow: number;
  readonly futureTolerance: number;
  readonly retentionMs: number;
  readonly maxBytes: number;
  readonly range: number;
  readonly flushDelay: number;
  readonly headBudget: number;
  readonly log: Logger;
  readonly now: () => number;
  readonly opts: OpenOptions;
  kv!: Deno.Kv;
  ownKv = false;
  wal!: Wal;
  index!: SeriesIndex;
  readonly head: Head;
  /** Native histogram samples (head and per-window files). */
  hist!: HistogramStore;
  writer!: BlockWriter;
  readonly blocks = new Map<number, BlockReader>();
  nextSeq = 1;
  frozen: Frozen[] = [];
  readonly segWindows = new Map<number, Set<number>>();
  readonly flushedMarks = new Map<number, number>();
  /** Series whose definitions are in the WAL. */
  readonly logged = new RefSet();
  maxT = -Infinity;
  /** Windows behind the flush horizon that got late writes: clock of the first and last one. */
  readonly lateWrites = new Map<number, { first: number; last: number }>();
  /** Newest timestamp per series ref, kept only when an out-of-order window is set. */
  seriesMaxT: Float64Array | undefined;
  nextFlushCheck = -Infinity;
  closed = false;
  readonly problems = new Map<string, string>();
  incidents!: IncidentLog;
  /** Counters since open (see DBStats). */
  readonly counters = {
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

  constructor(opts: OpenOptions) {
    this.opts = opts;
    this.dir = opts.dir;
    this.walDir = joinPath(opts.dir, WAL_DIR);
    this.blocksDir = joinPath(opts.dir, BLOCKS_DIR);
    this.quarantineDir = joinPath(opts.dir, QUARANTINE_DIR);
    this.kvPath = typeof opts.kv === "string"
      ? opts.kv
      : opts.kv === undefined
      ? joinPath(opts.dir, KV_FILE)
      : undefined;
    this.fsync = opts.fsync ?? "always";
    this.oooWindow = opts.outOfOrderWindowMs ?? Infinity;
    this.futureTolerance = opts.futureToleranceMs ?? 600_000;
    this.retentionMs = opts.retentionMs ?? 0;
    this.maxBytes = opts.maxBytes ?? 0;
    this.range = opts.blockRangeMs ?? 7_200_000;
    this.flushDelay = Math.min(this.oooWindow, this.range / 2);
    this.headBudget = opts.headMemoryBudgetBytes ?? 64 << 20;
    this.log = opts.logger ?? noopLogger;
    this.now = opts.now ?? Date.now;
    this.head = new Head(this.range);
  }

  /** Tells `opts.onOldWrite` that data in [minT, maxT] behind the head changed. */
  notifyOld(minT: number, maxT: number): void {
    try {
      this.opts.onOldWrite?.(minT, maxT);
    } catch (e) {
      this.log("error", "onOldWrite callback failed", { error: String(e) });
    }
  }

  /** Records the incident of a block served minus its damaged chunks (once per block). */
  noteDamaged(seq: number, r: BlockReader): void {
    const d = r.meta.damaged;
    if (!d) return;
    this.incidents.add({
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

  /**
   * Scrubs one block: damaged chunks are left out and reported as at open;
   * a block that cannot be read is quarantined.
   */
  async scrubBlock(seq: number, b: BlockReader): Promise<void> {
    try {
      await b.scrub();
    } catch (e) {
      if (this.blocks.get(seq) !== b) return; // Compacted or deleted meanwhile.
      await this.dropCorrupt(seq, b, e);
      return;
    }
    this.noteDamaged(seq, b);
  }

  /** Moves block `seq`'s file to quarantine/, forgets it in KV and records the incident. */
  async quarantine(seq: number, e: unknown, meta?: BlockMeta): Promise<void> {
    await Deno.mkdir(this.quarantineDir, { recursive: true });
    const from = joinPath(this.blocksDir, blockFileName(seq));
    const to = joinPath(this.quarantineDir, blockFileName(seq));
    let bytes: number | undefined;
    try {
      bytes = (await Deno.stat(from)).size;
    } catch { /* gone */ }
    await Deno.rename(from, to).catch(() => {});
    await this.kv.delete(blockKey(seq));
    this.counters.corruptBlocks++;
    const why = e instanceof Error ? e.message : String(e);
    this.log("error", "corrupt block quarantined", { block: blockFileName(seq), error: why });
    this.incidents.add({
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

  /** Stops serving a damaged block and quarantines it. */
  async dropCorrupt(seq: number, b: BlockReader, e: unknown): Promise<void> {
    this.blocks.delete(seq);
    await b.close();
    await this.quarantine(seq, e, b.meta);
    this.notifyOld(b.meta.minT, b.meta.maxT);
  }

  /** Timestamp of the oldest sample in the head (not yet in blocks or files), or null when empty. */
  headMinT(): number | null {
    const m = Math.min(this.head.timeRange()?.minT ?? Infinity, this.hist.headMinT() ?? Infinity);
    return m === Infinity ? null : m;
  }

  /** Keeps the newest timestamp of series `ref` (only with an out-of-order window). */
  noteSeriesMaxT(ref: number, t: number): void {
    let m = this.seriesMaxT;
    if (!m || ref >= m.length) {
      const next = new Float64Array(Math.max(1024, (ref + 1) * 2)).fill(-Infinity);
      if (m) next.set(m);
      this.seriesMaxT = m = next;
    }
    if (t > m[ref]) m[ref] = t;
  }
}
