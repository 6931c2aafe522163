/**
 * Writing block files (layout in FORMAT.md, "Block file"; read by
 * `BlockReader` in block.ts). Writing is crash-safe: bytes go to
 * `<name>.tmp`, are fsynced, renamed, and the directory is fsynced.
 *
 * @module
 */
import { crc32c } from "./crc32c.ts";
import { encodeChunkView } from "./chunk.ts";
import { ByteWriter } from "./_byte_buf.ts";
import { blockFileName, joinPath, TMP_SUFFIX } from "./filenames.ts";
import { fsyncDir, writeAll } from "./wal.ts";
import { BLOCK_CHUNK_SAMPLES, BLOCK_MAGIC, BLOCK_VERSION, type BlockMeta } from "./block.ts";

/**
 * Labels of series, encoded for a block's labels table: entry i (series
 * `refs[i]`, ascending) is `data[off[i], off[i+1])` = k varint, then k ×
 * (name str, value str). Built on the main thread from the series index.
 */
export interface LabelsBlob {
  refs: Uint32Array;
  off: Uint32Array;
  data: Uint8Array;
}

/** Encodes `labelsOf(ref)` for each ref (ascending; refs without labels are left out). */
export function encodeLabelsBlob(
  refs: Iterable<number>,
  labelsOf: (ref: number) => readonly { name: string; value: string }[] | undefined,
): LabelsBlob {
  const w = new ByteWriter(1 << 12);
  const rs: number[] = [], off: number[] = [0];
  for (const ref of refs) {
    const labels = labelsOf(ref);
    if (!labels) continue;
    w.uvarint(labels.length);
    for (const l of labels) {
      w.str(l.name);
      w.str(l.value);
    }
    rs.push(ref);
    off.push(w.pos);
  }
  return { refs: new Uint32Array(rs), off: new Uint32Array(off), data: w.copy() };
}
/**
 * Writes one block file incrementally: series in ascending ref order, each
 * re-cut into chunks of up to {@linkcode BLOCK_CHUNK_SAMPLES}; data is
 * streamed to `<seq>.blk.tmp` with a running CRC, and {@linkcode finish}
 * adds the table and footer, fsyncs, renames and fsyncs the directory.
 */
export class BlockFileWriter {
  readonly #dir: string;
  readonly #seq: number;
  readonly #level: number;
  readonly #resolutionSec: number;
  readonly #chunkSamples: number;
  readonly #path: string;
  #file: Deno.FsFile;
  #buf = new ByteWriter(1 << 20);
  #crc = 0;
  #pos = 0;
  #prevRef = 0;
  // Table entries: per series ref and chunk count; per chunk len, count, minT, maxT.
  #sRef: number[] = [];
  #sChunks: number[] = [];
  #cLen: number[] = [];
  #cCount: number[] = [];
  #cMin: number[] = [];
  #cMax: number[] = [];
  #minT = Infinity;
  #maxT = -Infinity;
  #samples = 0;
  #labels: LabelsBlob | undefined;

  private constructor(
    dir: string,
    seq: number,
    level: number,
    chunkSamples: number,
    file: Deno.FsFile,
    resolutionMs: number,
  ) {
    this.#dir = dir;
    this.#seq = seq;
    this.#level = level;
    this.#resolutionSec = Math.round(resolutionMs / 1000);
    if (this.#resolutionSec > 0xffff) throw new RangeError("Block resolution above 65535 s");
    this.#chunkSamples = chunkSamples;
    this.#path = joinPath(dir, blockFileName(seq));
    this.#file = file;
    this.#buf.bytes(new Uint8Array([...BLOCK_MAGIC, BLOCK_VERSION, 0, 0, 0]));
  }

  /** Starts block `seq` in `dir`. */
  static async create(
    dir: string,
    seq: number,
    level: number,
    chunkSamples = BLOCK_CHUNK_SAMPLES,
    resolutionMs = 0,
  ): Promise<BlockFileWriter> {
    const tmp = joinPath(dir, blockFileName(seq)) + TMP_SUFFIX;
    const f = await Deno.open(tmp, { create: true, write: true, truncate: true });
    return new BlockFileWriter(dir, seq, level, chunkSamples, f, resolutionMs);
  }

  /**
   * Sets the labels written to the block's labels table, for each series
   * added (a downsampled block's pseudo-refs map to ref / 8).
   */
  setLabels(labels: LabelsBlob): void {
    this.#labels = labels;
  }

  /** Adds series `ref` (greater than the previous one) with samples [start, end), ascending. */
  async add(
    ref: number,
    t: Float64Array,
    v: Float64Array,
    start = 0,
    end = t.length,
  ): Promise<void> {
    if (end <= start) return;
    if (ref <= this.#prevRef) throw new Error("BUG: BlockFileWriter refs not ascending");
    this.#prevRef = ref;
    this.#sRef.push(ref);
    let nc = 0;
    for (let i = start; i < end; i += this.#chunkSamples) {
      const e = Math.min(end, i + this.#chunkSamples);
      const c = encodeChunkView(t, v, i, e);
      this.#buf.bytes(c);
      this.#cLen.push(c.length);
      this.#cCount.push(e - i);
      this.#cMin.push(Math.floor(t[i]));
      this.#cMax.push(Math.ceil(t[e - 1]));
      nc++;
    }
    this.#sChunks.push(nc);
    if (t[start] < this.#minT) this.#minT = t[start];
    if (t[end - 1] > this.#maxT) this.#maxT = t[end - 1];
    this.#samples += end - start;
    if (this.#buf.pos >= 1 << 20) await this.#drain();
  }

  async #drain(): Promise<void> {
    const b = this.#buf.view();
    this.#crc = crc32c(b, this.#crc);
    await writeAll(this.#file, b);
    this.#pos += b.length;
    this.#buf.reset();
  }

  /** Writes table and footer, makes the file durable under its final name. */
  async finish(): Promise<BlockMeta> {
    try {
      if (this.#sRef.length === 0) this.#minT = this.#maxT = 0;
      const tableOffset = this.#pos + this.#buf.pos;
      const w = this.#buf;
      const tableStart = w.pos;
      w.uvarint(this.#sRef.length);
      const base = Math.floor(this.#minT);
      let prev = 0, c = 0;
      for (let i = 0; i < this.#sRef.length; i++) {
        w.uvarint(this.#sRef[i] - prev);
        prev = this.#sRef[i];
        const nc = this.#sChunks[i];
        w.uvarint(nc);
        for (let j = 0; j < nc; j++, c++) {
          w.uvarint(this.#cLen[c]);
          w.uvarint(this.#cCount[c]);
          w.uvarint(this.#cMin[c] - base);
          w.uvarint(this.#cMax[c] - this.#cMin[c]);
        }
      }
      const tableLen = w.pos - tableStart;
      // Labels table: the series' labels, so the block reads without index.kv.
      const labelsStart = w.pos;
      this.#writeLabels(w);
      const labelsLen = w.pos - labelsStart;
      w.f64(this.#minT);
      w.f64(this.#maxT);
      w.f64(this.#samples);
      w.u32(tableOffset);
      w.u32(tableLen);
      w.u32(tableOffset + tableLen);
      w.u32(labelsLen);
      w.u8(this.#level);
      w.u8(BLOCK_VERSION);
      w.u8(this.#resolutionSec & 0xff);
      w.u8(this.#resolutionSec >>> 8);
      // The tables' own CRC: when chunks are damaged, intact ones can still be trusted.
      w.u32(crc32c(w.buf, 0, tableStart, w.pos));
      const crc = crc32c(w.view(), this.#crc);
      w.u32(crc);
      w.bytes(new Uint8Array(BLOCK_MAGIC));
      await writeAll(this.#file, w.view());
      const bytes = this.#pos + w.pos;
      await this.#file.sync();
      this.#file.close();
      await Deno.rename(this.#path + TMP_SUFFIX, this.#path);
      await fsyncDir(this.#dir);
      return {
        seq: this.#seq,
        minT: this.#minT,
        maxT: this.#maxT,
        samples: this.#samples,
        series: this.#sRef.length,
        level: this.#level,
        bytes,
        resolution: this.#resolutionSec * 1000,
      };
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  #writeLabels(w: ByteWriter): void {
    const lb = this.#labels;
    const div = this.#resolutionSec > 0 ? 8 : 1;
    const want: number[] = [];
    for (const x of this.#sRef) {
      const ref = Math.floor(x / div);
      if (want.length === 0 || want[want.length - 1] !== ref) want.push(ref);
    }
    const idx: number[] = [];
    if (lb) {
      let j = 0;
      for (const ref of want) {
        while (j < lb.refs.length && lb.refs[j] < ref) j++;
        if (j < lb.refs.length && lb.refs[j] === ref) idx.push(j);
      }
    }
    w.uvarint(idx.length);
    let prev = 0;
    for (const j of idx) {
      w.uvarint(lb!.refs[j] - prev);
      prev = lb!.refs[j];
      w.bytes(lb!.data.subarray(lb!.off[j], lb!.off[j + 1]));
    }
  }

  /** Drops the temporary file. */
  async abort(): Promise<void> {
    try {
      this.#file.close();
    } catch { /* already closed */ }
    await Deno.remove(this.#path + TMP_SUFFIX).catch(() => {});
  }
}
