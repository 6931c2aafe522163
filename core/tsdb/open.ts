/**
 * Opening a data directory, which is recovery: KV is checked (a damaged
 * index.kv is quarantined and started afresh), temp files and half-deleted
 * blocks are dropped, blocks are opened with their tables checked (a block
 * failing its checks is quarantined, a block already merged into another is
 * removed, a block KV lost is adopted), series the index lacks are restored
 * from the blocks' labels tables, and the WAL is replayed into the head
 * from the flush marks on (damage skipped to the next sync point). Each
 * loss is an incident (recovery.ts). Never refuses to start for damaged
 * data.
 *
 * @module
 */
import type { NativeHistogram } from "../model/mod.ts";
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
import { IncidentLog, openCheckedKv } from "./recovery.ts";
import { BlockReader } from "./block.ts";
import { encodeLabelsBlob } from "./block_file_writer.ts";
import { BlockWriter } from "./block_writer.ts";
import { HistogramStore } from "./histogram_store.ts";
import { decodeHistogramRecord, REC_HISTOGRAMS } from "./wal_histogram.ts";
import { blockKey, type DbState, isoRange, type KvBlockEntry, replacedKey } from "./db_state.ts";

/** Opens and recovers one database's files into its {@linkcode DbState}. */
export class DbOpener {
  readonly #db: DbState;
  /** index.kv was replaced by a fresh one: series come back from blocks and the WAL. */
  #rebuildIndex = false;

  constructor(db: DbState) {
    this.#db = db;
  }

  /**
   * Opens the files of `db.dir` into `db`: KV (checked; a damaged index.kv
   * is quarantined and rebuilt), blocks, the series index, histogram files,
   * the WAL (replayed into the head) and the block writer. `kv` is an open
   * KV the caller owns, if any.
   */
  async open(kv: Deno.Kv | undefined): Promise<void> {
    await Deno.mkdir(this.#db.blocksDir, { recursive: true });
    await Deno.mkdir(this.#db.walDir, { recursive: true });
    this.#db.incidents = this.#db.opts.incidents ??
      await IncidentLog.open(this.#db.dir, this.#db.now);
    if (kv) {
      this.#db.kv = kv;
      this.#db.index = await SeriesIndex.load(this.#db.kv);
    } else {
      // A damaged index.kv is quarantined and rebuilt from blocks and the WAL.
      const path = this.#db.kvPath!;
      const cut = path.lastIndexOf("/");
      let index: SeriesIndex | undefined;
      const opened = await openCheckedKv(cut < 0 ? "." : path.slice(0, cut), path.slice(cut + 1), {
        incidents: this.#db.incidents,
        now: this.#db.now,
        consequence: "The series index is rebuilt from the blocks' series tables and the WAL; " +
          "metric metadata (type, help, unit) is re-learned as it is pushed or scraped again.",
        // Everything of the storage engine is read here or just below (blocks, flush marks).
        verify: async (k) => {
          index = await SeriesIndex.load(k);
          for await (const _ of k.list({ prefix: [KV_PREFIX, "block"] })) { /* readable */ }
        },
        log: (level, msg, fields) => this.#db.log(level, msg, fields),
      });
      this.#db.kv = opened.kv;
      this.#db.ownKv = true;
      this.#db.index = index ?? await SeriesIndex.load(this.#db.kv);
      this.#rebuildIndex = opened.fresh;
    }
    for (const ref of this.#db.index.select([])) this.#db.logged.add(ref);
    await this.#recoverBlocks();
    const fromBlocks = await this.#repairIndexFromBlocks();
    for await (const e of this.#db.kv.list<number>({ prefix: [KV_PREFIX, "flushed"] })) {
      this.#db.flushedMarks.set(e.key[2] as number, e.value);
    }
    this.#db.hist = await HistogramStore.open({
      dataDir: this.#db.dir,
      range: this.#db.range,
      incidents: this.#db.incidents,
      log: this.#db.log,
      now: this.#db.now,
      onChange: (minT, maxT) => this.#db.notifyOld(minT, maxT),
      graceMs: this.#db.opts.deleteGraceMs,
      labelsOf: (ref) => this.#db.index.labels(ref),
    });
    await this.#db.hist.restoreIndex(
      (ref) => this.#db.index.labels(ref),
      (ref, labels) => this.#db.index.restore(ref, labels),
    );
    const known = this.#db.index.size;
    await this.#replay();
    const v1 = fromBlocks.unindexed;
    if (this.#rebuildIndex || fromBlocks.series > 0 || v1.length > 0) {
      const what = this.#rebuildIndex
        ? `the series index was rebuilt: ${fromBlocks.series} series from the labels ` +
          `tables of ${fromBlocks.blocks} blocks, ${this.#db.index.size - known} more from the WAL`
        : `the series index lacked series that blocks hold: ${fromBlocks.series} restored ` +
          `from the labels tables of ${fromBlocks.blocks} blocks`;
      this.#db.incidents.add({
        id: `index_rebuilt:${this.#db.now()}`,
        kind: "index_rebuilt",
        file: KV_FILE,
        message: what +
          (v1.length > 0
            ? `; ${v1.length} blocks of format version 1 carry no labels and some of their ` +
              `series cannot be found (${v1.map(blockFileName).join(", ")})`
            : ""),
      });
    }
    this.#db.wal = await Wal.open({
      dir: this.#db.walDir,
      fsync: this.#db.fsync,
      fsyncIntervalMs: this.#db.opts.fsyncIntervalMs,
      segmentBytes: this.#db.opts.walSegmentBytes,
      write: this.#db.opts.walWrite,
    });
    // On a full disk KV writes fail: start anyway (the series are in the WAL; saved later).
    await this.#db.index.save().catch((e) =>
      this.#db.log("error", "saving series to KV failed", { error: String(e) })
    );
    this.#db.writer = new BlockWriter({
      labels: (refs) =>
        encodeLabelsBlob(refs ?? this.#db.index.select([]), (ref) => this.#db.index.labels(ref)),
      useWorker: this.#db.opts.useWorker ?? true,
      workerUrl: this.#db.opts.blockWorkerUrl,
      idleMs: this.#db.opts.blockWorkerIdleMs,
      log: (level, msg, fields) => this.#db.log(level, msg, fields),
    });
  }

  async #recoverBlocks(): Promise<void> {
    const known = new Map<number, KvBlockEntry>();
    for await (const e of this.#db.kv.list<KvBlockEntry>({ prefix: [KV_PREFIX, "block"] })) {
      known.set(e.key[2] as number, e.value);
    }
    const onDisk: number[] = [];
    for await (const e of Deno.readDir(this.#db.blocksDir)) {
      const path = joinPath(this.#db.blocksDir, e.name);
      if (e.name.endsWith(TMP_SUFFIX) || e.name.endsWith(DELETED_SUFFIX)) {
        await Deno.remove(path).catch(() => {});
        this.#db.log("info", "removed leftover file", { path });
        continue;
      }
      const seq = parseBlockFileName(e.name);
      if (seq !== undefined) onDisk.push(seq);
    }
    try {
      for await (const e of Deno.readDir(this.#db.quarantineDir)) {
        const seq = parseBlockFileName(e.name);
        if (seq !== undefined && seq >= this.#db.nextSeq) this.#db.nextSeq = seq + 1;
      }
    } catch { /* no quarantine yet */ }
    onDisk.sort((a, b) => a - b);
    // Inputs of a compaction or tier rewrite that a crash left behind after
    // the output was recorded: serving them again would count their data twice.
    const replaced = new Map<number, number>();
    for await (const e of this.#db.kv.list<number>({ prefix: [KV_PREFIX, "replaced"] })) {
      replaced.set(e.key[2] as number, e.value);
    }
    const present = new Set(onDisk);
    const stale: Deno.KvKey[] = [];
    for (const [seq] of replaced) if (!present.has(seq)) stale.push(replacedKey(seq));
    if (stale.length) await commitBatched(this.#db.kv, stale.map((key) => ({ key, size: 64 })));
    const adopt: Deno.AtomicOperation = this.#db.kv.atomic();
    let adopted = 0;
    for (const seq of onDisk) {
      if (seq >= this.#db.nextSeq) this.#db.nextSeq = seq + 1;
      const by = replaced.get(seq);
      if (!known.has(seq) && by !== undefined && (known.has(by) || present.has(by))) {
        await Deno.remove(joinPath(this.#db.blocksDir, blockFileName(seq))).catch(() => {});
        this.#db.log("info", "removed a block already merged into another", {
          block: blockFileName(seq),
          into: blockFileName(by),
        });
        continue;
      }
      try {
        const r = await BlockReader.open(this.#db.blocksDir, seq, { check: "tables" });
        this.#db.blocks.set(seq, r);
        if (r.meta.maxT > this.#db.maxT) this.#db.maxT = r.meta.maxT;
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
        this.#db.log("error", "recording adopted blocks in KV failed", { error: String(e) })
      );
    }
    for (const [seq, entry] of known) {
      if (seq >= this.#db.nextSeq) this.#db.nextSeq = seq + 1;
      this.#db.counters.missingBlocks++;
      this.#db.log("error", "block file missing", { block: blockFileName(seq) });
      this.#db.incidents.add({
        id: `block_missing:${seq}`,
        kind: "block_missing",
        file: `${BLOCKS_DIR}/${blockFileName(seq)}`,
        message: `block ${blockFileName(seq)} (${isoRange(entry.minT, entry.maxT)}) is missing; ` +
          "its samples are lost",
      });
      await this.#db.kv.delete(blockKey(seq));
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
    const before = this.#db.index.size;
    for (const [seq, b] of [...this.#db.blocks].sort((x, y) => x[0] - y[0])) {
      const div = b.meta.resolution ? 8 : 1;
      let lacking = false;
      for (const x of b.refs) {
        if (this.#db.index.labels(Math.floor(x / div)) === undefined) {
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
        for (const [ref, labels] of await b.labels()) this.#db.index.restore(ref, labels);
        blocks++;
      } catch (e) {
        await this.#db.dropCorrupt(seq, b, e);
      }
    }
    const series = this.#db.index.size - before;
    if (series > 0) {
      await this.#db.index.save().catch((e) =>
        this.#db.log("error", "saving series to KV failed", { error: String(e) })
      );
      for (const ref of this.#db.index.select([])) this.#db.logged.add(ref);
      this.#db.log("warn", "series restored into the index from blocks", { series, blocks });
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
      set = this.#db.segWindows.get(seg);
      if (!set) this.#db.segWindows.set(seg, set = new Set());
    };
    // The block window of a replayed sample, or undefined when it is skipped
    // (its window was flushed after this segment, or its series is unknown).
    const admit = (seg: number, ref: number, t: number): number | undefined => {
      const w = Math.floor(t / this.#db.range);
      const mark = this.#db.flushedMarks.get(w);
      if (mark !== undefined && mark > seg) return undefined;
      if (this.#db.index.labels(ref) === undefined) {
        orphans.set(seg, (orphans.get(seg) ?? 0) + 1);
        return undefined;
      }
      if (t > this.#db.maxT) this.#db.maxT = t;
      if (this.#db.oooWindow !== Infinity) this.#db.noteSeriesMaxT(ref, t);
      return w;
    };
    const apply = (seg: number, ref: number, t: number, v: number) => {
      const w = admit(seg, ref, t);
      if (w === undefined) return;
      this.#db.head.append(ref, t, v);
      if (w !== lastW) {
        set!.add(w);
        lastW = w;
      }
    };
    const applyH = (seg: number, ref: number, t: number, h: NativeHistogram) => {
      const w = admit(seg, ref, t);
      if (w === undefined) return;
      this.#db.hist.append(ref, t, h);
      set!.add(w);
    };
    const res = await replayWal(this.#db.walDir, (type, r, seg) => {
      if (type === REC_SERIES) {
        for (const d of decodeSeries(r)) {
          this.#db.index.restore(d.ref, d.labels);
          this.#db.logged.add(d.ref);
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
    }, (msg, fields) => this.#db.log("warn", msg, fields));
    this.#db.counters.walTruncatedBytes += res.truncatedBytes;
    this.#db.counters.walCorruptSegments += res.corruptSegments.length;
    for (const d of res.damage) {
      const file = `${WAL_DIR}/${walSegmentName(d.segment)}`;
      this.#db.counters.walSkippedBytes += d.bytes;
      this.#db.counters.walSkippedRecords += d.records;
      this.#db.counters.walLostSamples += d.samples;
      const lost = d.records > 0
        ? `; ${d.records} intact records after it (${d.samples} samples) could not be decoded ` +
          "without it and were skipped up to the next sync point"
        : "";
      this.#db.incidents.add({
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
      this.#db.counters.walLostSamples += n;
      this.#db.incidents.add({
        id: `wal_orphans:${seg}`,
        kind: "wal_unknown_series",
        file,
        message: `${n} samples in ${file} belong to series whose definition was lost; dropped`,
        samples: n,
      });
    }
    this.#db.log("info", "WAL replayed", {
      segments: res.segments,
      records: res.records,
      headSamples: this.#db.head.stats().samples,
    });
  }
}
