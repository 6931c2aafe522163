/**
 * Background maintenance of an open database, serialized on one queue:
 * complete windows are flushed from the head into block files (and
 * histogram files), the WAL is checkpointed (segments whose samples are all
 * in blocks are deleted), blocks are compacted (2h -> 6h -> 24h) and
 * downsampled into tiers, and retention deletes whole blocks by age and disk
 * budget (two-phase: renamed aside, removed after a grace period). Blocks
 * found at open are checked whole (scrubbed) first. Runs on a timer, when
 * an append crosses the flush horizon or the head its memory budget, and on
 * demand (`DB.flush`, `DB.maintenance`).
 *
 * @module
 */
import { StorageFullError } from "../model/mod.ts";
import { blockFileName, DELETED_SUFFIX, joinPath } from "./filenames.ts";
import { commitBatched } from "./index.ts";
import { concat } from "./head.ts";
import { BlockReader } from "./block.ts";
import { BlockWriteError, type SeriesChunks } from "./block_writer.ts";
import { decodeChunk } from "./chunk.ts";
import { planCompaction } from "./compact.ts";
import { planRetention } from "./retention.ts";
import { DEFAULT_DOWNSAMPLING, type DownsamplingTier, isCounterLike } from "./downsample.ts";
import { blockKey, type DbState, flushedKey, type Frozen, replacedKey } from "./db_state.ts";
import type { DiskBytes } from "./db.ts";

/** Flush, checkpoint, compaction, downsampling and retention of one database. */
export class Maintenance {
  readonly #db: DbState;
  #bgLock: Promise<unknown> = Promise.resolve();
  #bgRunning = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #scrubTimer: ReturnType<typeof setTimeout> | undefined;
  #pendingDeletes: { path: string; at: number; reader: BlockReader }[] = [];
  #kvBytes = 0;

  constructor(db: DbState) {
    this.#db = db;
  }

  /**
   * Starts the background timer (every `everyMs`; 0 = only on demand) and,
   * `scrubDelayMs` from now, the check of blocks opened unchecked.
   */
  start(everyMs: number, scrubDelayMs: number): void {
    if (everyMs > 0) {
      this.#timer = setInterval(() => this.background().catch(() => {}), everyMs);
      Deno.unrefTimer(this.#timer as unknown as number);
    }
    // Blocks found at open had only their tables checked: the chunk bytes
    // (most of a data dir) are checked after start-up, not before it.
    this.#scrubTimer = setTimeout(() => {
      this.#scrubTimer = undefined;
      this.enqueue(() => this.scrubAll()).catch(() => {});
    }, scrubDelayMs);
    Deno.unrefTimer(this.#scrubTimer as unknown as number);
  }

  /** Stops the timers. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#scrubTimer !== undefined) clearTimeout(this.#scrubTimer);
  }

  /** Resolves when the work queued so far has finished. */
  idle(): Promise<unknown> {
    return this.#bgLock;
  }

  /**
   * Makes room for `extra` bytes under the disk budget (retention by size);
   * rejects with StorageFullError when there is none.
   */
  async checkBudget(extra: number): Promise<void> {
    let used = await this.#diskBytesTotal();
    if (used + extra <= this.#db.maxBytes) return;
    // Make room by deleting the oldest blocks, as retention by size would.
    await this.enqueue(() => this.#applyRetention());
    used = await this.#diskBytesTotal();
    if (used + extra > this.#db.maxBytes) {
      this.#db.counters.storageFullRejections++;
      throw new StorageFullError(
        `Cannot append: the disk budget of ${this.#db.maxBytes} bytes is used up (${used} bytes)`,
      );
    }
  }

  /** Bytes on disk now: WAL, blocks, histogram files, and index.kv as last measured. */
  async #diskBytesTotal(): Promise<number> {
    return (await this.#db.wal.diskBytes()) + this.#blockBytes() + this.#kvBytes;
  }

  /**
   * Bytes of the served blocks and histogram files, from their metadata
   * (each block's size was read when it was opened): no listing of blocks/
   * that compaction or retention could rename files under.
   */
  #blockBytes(): number {
    let blocks = this.#db.hist.diskBytes;
    for (const b of this.#db.blocks.values()) blocks += b.meta.bytes;
    return blocks;
  }

  /** Checks every block not yet checked against its file checksum (see BlockReader.scrub). */
  async scrubAll(): Promise<void> {
    for (const [seq, b] of [...this.#db.blocks].sort((x, y) => x[0] - y[0])) {
      if (this.#db.closed) return;
      if (!b.scrubbed) await this.#db.scrubBlock(seq, b);
    }
  }

  /** Runs `op` after the work queued before it (one at a time). */
  enqueue<T>(op: () => Promise<T>): Promise<T> {
    const p = this.#bgLock.then(op);
    this.#bgLock = p.catch(() => {});
    return p;
  }

  /** Flush of complete windows, compaction, retention; serialized. */
  background(): Promise<void> {
    if (this.#bgRunning || this.#db.closed) return Promise.resolve();
    this.#bgRunning = true;
    return this.enqueue(async () => {
      try {
        // Compaction and tiers read blocks whole: each is checked first, so
        // damage is reported before an input is replaced.
        await this.scrubAll();
        await this.flushDue();
        if (this.#db.opts.compaction ?? true) {
          await this.#compactOnce();
          await this.#compactHistograms(4);
        }
        await this.#downsampleDue(4);
        await this.#applyRetention();
        await this.purgeDeleted(false);
      } catch (e) {
        this.#db.log("error", "background work failed", { error: String(e) });
      } finally {
        this.#bgRunning = false;
      }
    });
  }

  /**
   * Flushes windows behind the flush horizon; a window still receiving late
   * writes waits (see `lateFlushIdleMs`) unless `force`.
   */
  async flushDue(force = false): Promise<void> {
    const horizon = this.#db.maxT - this.#db.flushDelay;
    const now = this.#db.now();
    const idle = this.#db.opts.lateFlushIdleMs ?? 300_000;
    const most = this.#db.opts.lateFlushMaxMs ?? 1_800_000;
    const settled = (w: number) => {
      const l = this.#db.lateWrites.get(w);
      return force || !l || now - l.last >= idle || now - l.first >= most;
    };
    let windows = this.#windowsHeld();
    const due = windows.filter((w) => (w + 1) * this.#db.range <= horizon && settled(w));
    if (due.length > 0) await this.#flushWindows(due);
    if (this.#db.head.bytes > this.#db.headBudget) {
      windows = this.#db.head.windows();
      this.#db.log("info", "head over its memory budget, flushing early", {
        bytes: this.#db.head.bytes,
      });
      await this.#flushWindows(windows.length > 1 ? windows.slice(0, -1) : windows);
      if (this.#db.head.bytes > this.#db.headBudget) {
        await this.#flushWindows(this.#db.head.windows());
      }
    }
    const base = Math.floor(horizon / this.#db.range) + 1;
    this.#db.nextFlushCheck = base * this.#db.range + this.#db.flushDelay;
  }

  /** Persists the whole head into blocks now and checkpoints the WAL. */
  flush(): Promise<void> {
    return this.enqueue(() => this.#flushWindows(this.#windowsHeld()));
  }

  /** Block windows with samples in the head, float or histogram, ascending. */
  #windowsHeld(): number[] {
    const hw = this.#db.hist.windows();
    if (hw.length === 0) return this.#db.head.windows();
    return [...new Set([...this.#db.head.windows(), ...hw])].sort((a, b) => a - b);
  }

  async #flushWindows(windows: number[]): Promise<void> {
    if (windows.length === 0) return;
    const seg = await this.#db.wal.rotate();
    for (const w of windows) {
      this.#db.lateWrites.delete(w);
      // Histograms first: the window's flush mark below lets its WAL go.
      await this.#db.hist.flushWindow(w, (ref) => this.#db.index.labels(ref));
      const chunks = this.#db.head.extractWindow(w);
      if (chunks.size > 0) {
        const frozen: Frozen = { window: w, chunks };
        this.#db.frozen.push(frozen);
        const seq = this.#db.nextSeq++;
        const series: SeriesChunks[] = [...chunks.keys()].sort((a, b) => a - b)
          .map((ref) => ({ ref, chunks: chunks.get(ref)! }));
        try {
          const meta = await this.#db.writer.flush(this.#db.blocksDir, seq, series);
          const r = await BlockReader.open(this.#db.blocksDir, seq);
          this.#db.blocks.set(seq, r);
          this.#db.counters.blockBytesWritten += meta.bytes;
          this.#db.counters.flushes++;
          await this.#db.kv.atomic()
            .set(blockKey(seq), { minT: meta.minT, maxT: meta.maxT, level: 0 })
            .set(flushedKey(w), seg)
            .commit();
        } catch (e) {
          this.#db.counters.flushFailures++;
          this.#db.log("error", "block flush failed; data stays in the head and WAL", {
            window: w,
            error: e instanceof Error ? e.message : String(e),
          });
          for (const [ref, cs] of chunks) {
            this.#db.head.restore(
              ref,
              concat(cs.map((c) => decodeChunk(c))),
            );
          }
          this.#db.frozen = this.#db.frozen.filter((f) => f !== frozen);
          if (e instanceof BlockWriteError && e.noSpace) {
            this.#db.problems.set("flush", "disk full while writing a block");
          }
          throw e;
        }
        this.#db.frozen = this.#db.frozen.filter((f) => f !== frozen);
        this.#db.problems.delete("flush");
      } else {
        await this.#db.kv.set(flushedKey(w), seg);
      }
      this.#db.flushedMarks.set(w, seg);
    }
    await this.#checkpoint();
  }

  /**
   * Saves new series, rewrites the series index snapshot when due and
   * deletes WAL segments whose samples are all in blocks.
   */
  async #checkpoint(): Promise<void> {
    await this.#db.index.save();
    // Only a cache for the next open: a failure costs that open a longer read.
    await this.#db.index.checkpoint().catch((e) =>
      this.#db.log("error", "writing the series index snapshot failed", { error: String(e) })
    );
    const canDelete = (s: number) => {
      const ws = this.#db.segWindows.get(s);
      if (!ws) return true;
      for (const w of ws) {
        const mark = this.#db.flushedMarks.get(w);
        if (mark === undefined || mark <= s) return false;
      }
      return true;
    };
    await this.#db.wal.removeSegments(canDelete);
    const live = new Set(this.#db.wal.segments());
    for (const s of [...this.#db.segWindows.keys()]) {
      if (!live.has(s)) this.#db.segWindows.delete(s);
    }
    // A mark is needed only while a segment before it remains.
    const oldest = Math.min(...live);
    const drop: Deno.KvKey[] = [];
    for (const [w, mark] of this.#db.flushedMarks) {
      if (mark <= oldest) {
        this.#db.flushedMarks.delete(w);
        drop.push(flushedKey(w));
      }
    }
    if (drop.length) await commitBatched(this.#db.kv, drop.map((key) => ({ key, size: 64 })));
  }

  /**
   * Rewrites up to `max` blocks that have aged past a downsampling tier at
   * that tier's resolution (coarsest tier due first), replacing them.
   */
  async #downsampleDue(max: number): Promise<void> {
    const tiers = [...(this.#db.opts.downsampling ?? DEFAULT_DOWNSAMPLING)]
      .sort((a, b) => a.afterMs - b.afterMs);
    if (tiers.length === 0) return;
    const now = this.#db.now();
    try {
      await this.#db.hist.downsample(tiers, now, (ref) => this.#db.index.labels(ref), max);
    } catch (e) {
      this.#db.counters.downsamplingFailures++;
      this.#db.log("error", "histogram downsampling failed", { error: String(e) });
    }
    let done = 0;
    for (const b of [...this.#db.blocks.values()].sort((x, y) => x.meta.seq - y.meta.seq)) {
      if (done >= max || this.#db.closed) return;
      if (!this.#db.blocks.has(b.meta.seq)) continue; // merged into a tier this round
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
    for (const x of this.#db.blocks.values()) {
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
    const seq = this.#db.nextSeq++;
    try {
      const metadata = this.#db.index.metadata();
      const counters: number[] = [];
      const refs = new Set<number>();
      for (const x of b.refs) refs.add(meta0.resolution ? Math.floor(x / 8) : x);
      for (const t of into) for (const x of t.refs) refs.add(Math.floor(x / 8));
      for (const ref of [...refs].sort((x, y) => x - y)) {
        const name = this.#db.index.labels(ref)?.find((l) => l.name === "__name__")?.value;
        if (isCounterLike(name, name ? metadata.get(name)?.type : undefined)) counters.push(ref);
      }
      const meta = await this.#db.writer.downsample(
        this.#db.blocksDir,
        seq,
        meta0.level,
        meta0.seq,
        resolution,
        new Uint32Array(counters),
        into.map((t) => t.meta.seq),
      );
      const r = await BlockReader.open(this.#db.blocksDir, seq);
      this.#db.blocks.set(seq, r);
      let op = this.#db.kv.atomic()
        .set(blockKey(seq), { minT: meta.minT, maxT: meta.maxT, level: meta.level })
        .delete(blockKey(meta0.seq));
      for (const t of into) op = op.delete(blockKey(t.meta.seq));
      for (const x of [meta0.seq, ...into.map((t) => t.meta.seq)]) op = op.set(replacedKey(x), seq);
      await op.commit();
      await this.#markDeleted(meta0.seq);
      for (const t of into) await this.#markDeleted(t.meta.seq);
      if (into.length === 0) this.#db.notifyOld(meta0.minT, meta0.maxT);
      else {
        // Merged windows may move their points anywhere inside the window.
        const lo = Math.floor(meta0.minT / resolution) * resolution;
        this.#db.notifyOld(lo, (Math.floor(meta0.maxT / resolution) + 1) * resolution - 1);
      }
      this.#db.counters.downsamplings++;
      this.#db.counters.blockBytesWritten += meta.bytes;
      this.#db.log("info", "block downsampled", {
        input: meta0.seq,
        output: seq,
        resolutionMs: resolution,
        bytes: [meta0.bytes, meta.bytes],
        ...(into.length ? { mergedInto: into.map((t) => t.meta.seq) } : {}),
      });
    } catch (e) {
      this.#db.counters.downsamplingFailures++;
      this.#db.log("error", "downsampling failed", {
        block: meta0.seq,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** Runs up to `max` histogram file compactions. */
  async #compactHistograms(max: number): Promise<void> {
    const horizon = this.#db.maxT - this.#db.flushDelay;
    try {
      for (let i = 0; i < max; i++) {
        if (!await this.#db.hist.compact(horizon, (ref) => this.#db.index.labels(ref))) break;
      }
    } catch (e) {
      this.#db.counters.compactionFailures++;
      this.#db.log("error", "histogram compaction failed", { error: String(e) });
    }
  }

  async #compactOnce(): Promise<void> {
    const metas = [...this.#db.blocks.values()].map((b) => b.meta).filter((m) => !m.resolution);
    const plan = planCompaction(metas, this.#db.range, this.#db.maxT - this.#db.flushDelay);
    if (!plan) return;
    const seq = this.#db.nextSeq++;
    try {
      const meta = await this.#db.writer.compact(this.#db.blocksDir, seq, plan.level, plan.inputs);
      const r = await BlockReader.open(this.#db.blocksDir, seq);
      let op = this.#db.kv.atomic().set(blockKey(seq), {
        minT: meta.minT,
        maxT: meta.maxT,
        level: meta.level,
      });
      for (const s of plan.inputs) op = op.delete(blockKey(s)).set(replacedKey(s), seq);
      this.#db.blocks.set(seq, r);
      await op.commit();
      for (const s of plan.inputs) await this.#markDeleted(s);
      this.#db.counters.compactions++;
      this.#db.counters.blockBytesWritten += meta.bytes;
      this.#db.log("info", "blocks compacted", {
        inputs: plan.inputs,
        output: seq,
        level: plan.level,
      });
    } catch (e) {
      this.#db.counters.compactionFailures++;
      this.#db.log("error", "compaction failed", {
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** Phase one of a delete: stop serving the block and rename it aside. */
  async #markDeleted(seq: number): Promise<void> {
    const r = this.#db.blocks.get(seq);
    if (!r) return;
    this.#db.blocks.delete(seq);
    await this.#db.kv.delete(blockKey(seq));
    const path = joinPath(this.#db.blocksDir, blockFileName(seq));
    await Deno.rename(path, path + DELETED_SUFFIX).catch(() => {});
    this.#pendingDeletes.push({ path: path + DELETED_SUFFIX, at: this.#db.now(), reader: r });
  }

  /** Phase two: remove files marked at least the grace period ago (all when `force`). */
  async purgeDeleted(force: boolean): Promise<void> {
    await this.#db.hist.purgeRetired(force);
    const grace = this.#db.opts.deleteGraceMs ?? 60_000;
    const now = this.#db.now();
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
    if (this.#db.retentionMs <= 0 && this.#db.maxBytes <= 0) return;
    await this.measureKv();
    // Histogram files are planned with the blocks, under negative ids.
    const hist = this.#db.hist.retentionItems();
    const items = [
      ...[...this.#db.blocks.values()].map((b) => b.meta),
      ...hist.map((h, i) => ({ seq: -1 - i, maxT: h.maxT, bytes: h.bytes })),
    ];
    const walBytes = await this.#db.wal.diskBytes();
    const drop = planRetention(items, {
      now: this.#db.now(),
      retentionMs: this.#db.retentionMs,
      maxBytes: this.#db.maxBytes,
      otherBytes: walBytes + this.#kvBytes,
    });
    const histDrop: string[] = [];
    for (const seq of drop) {
      if (seq < 0) {
        histDrop.push(hist[-1 - seq]!.name);
        continue;
      }
      const m = this.#db.blocks.get(seq)?.meta;
      await this.#markDeleted(seq);
      if (m) this.#db.notifyOld(m.minT, m.maxT);
      this.#db.counters.retentionDeletedBlocks++;
      this.#db.log("info", "retention deleted block", { block: blockFileName(seq) });
    }
    if (histDrop.length > 0) {
      await this.#db.hist.drop(histDrop);
      this.#db.log("info", "retention deleted histogram files", { files: histDrop });
    }
  }

  /** Runs one round of background work now: flush due windows (late ones too), compact, retention. */
  async runNow(): Promise<void> {
    await this.enqueue(async () => {
      await this.scrubAll();
      await this.flushDue(true);
      if (this.#db.opts.compaction ?? true) {
        for (let i = 0; i < 16; i++) {
          const before = this.#db.counters.compactions;
          await this.#compactOnce();
          if (this.#db.counters.compactions === before) break;
        }
        await this.#compactHistograms(16);
      }
      await this.#downsampleDue(Infinity);
      await this.#applyRetention();
      await this.purgeDeleted(false);
    });
  }

  /** Measures index.kv (with its -wal and -shm files) on disk. */
  async measureKv(): Promise<void> {
    if (!this.#db.kvPath) return;
    let total = 0;
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        total += (await Deno.stat(this.#db.kvPath + suffix)).size;
      } catch { /* absent */ }
    }
    this.#kvBytes = total;
  }

  /** Bytes on disk per part (WAL, blocks, KV). */
  async diskBytes(): Promise<DiskBytes> {
    await this.measureKv();
    const wal = await this.#db.wal.diskBytes();
    const blocks = this.#blockBytes();
    return { wal, blocks, kv: this.#kvBytes, total: wal + blocks + this.#kvBytes };
  }
}
