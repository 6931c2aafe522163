/**
 * Block files: immutable, one per time window, holding every series' chunks,
 * a series table (refs, chunk offsets and time bounds) and a footer with
 * version and CRC-32C (layout in FORMAT.md, "Block file").
 *
 * Written by `BlockFileWriter` (block_file_writer.ts). Reading verifies the
 * checksum of the whole file on open, or (`check: "tables"`, version 2) only
 * the tables' own checksum, leaving the chunk bytes to
 * {@linkcode BlockReader.scrub}; chunks carry their own checksums, verified
 * on decode either way.
 *
 * @module
 */
import { crc32c } from "./crc32c.ts";
import { chunkMeta } from "./chunk.ts";
import { ByteReader } from "./_byte_buf.ts";
import { blockFileName, joinPath } from "./filenames.ts";
import type { Samples } from "./head.ts";
import type { Labels } from "../model/mod_light.ts";
import { SampleBuf } from "./_sample_buf.ts";
import { FileRanges } from "./_file_ranges.ts";

/**
 * Wanted chunks closer than this are read with one read (bytes in between are
 * skipped). Small: a query for 100 of 2,000 series would otherwise read whole
 * blocks (5 MiB instead of 270 KiB for 6 h of the edge workload).
 */
const READ_GAP_BYTES = 16 << 10;
/**
 * Gaps up to this are always read through; longer ones (up to
 * READ_GAP_BYTES) only while a read holds at least as many wanted bytes as
 * skipped ones: one metric of 1,000 hosts × 20 metrics (1 KiB chunks 19 KiB
 * apart) would otherwise read the whole block, 20 times what it needs.
 */
const READ_GAP_FREE_BYTES = 4 << 10;

/** Block format version (header byte 4 and footer); 2 adds the labels table. */
export const BLOCK_VERSION = 2;
/** Block versions readers accept. */
const READ_VERSIONS = [1, 2];
/** Chunks inside blocks hold up to this many samples: fewer headers than head chunks. */
export const BLOCK_CHUNK_SAMPLES = 1024;
const HEADER_BYTES = 8;
const FOOTER_BYTES_V1 = 44;
const FOOTER_BYTES = 56;

/** First and last four bytes of a block file: "PBLK". */
export const BLOCK_MAGIC = [0x50, 0x42, 0x4c, 0x4b];

/** Thrown when a block file fails its checks. */
export class BlockCorruptError extends Error {
  constructor(readonly path: string, message: string) {
    super(`Block ${path} is corrupt: ${message}`);
    this.name = "BlockCorruptError";
  }
}

/** What a block holds, from its footer. */
export interface BlockMeta {
  seq: number;
  minT: number;
  maxT: number;
  samples: number;
  series: number;
  /** 0 for a head flush; +1 per compaction. */
  level: number;
  bytes: number;
  /** Downsampling resolution in ms (whole seconds); 0 = raw samples. */
  resolution?: number;
  /** Format version; 1 has no labels table (its series need index.kv). */
  version?: number;
  /** File offset and length of the labels table (version 2); 0 when absent. */
  labelsOffset?: number;
  labelsLen?: number;
  /**
   * Set when the file failed its checksum but its tables passed theirs: the
   * damaged chunks found (never served) and what they held.
   */
  damaged?: { chunks: number; samples: number; series: number };
}

/** Options of {@linkcode BlockReader.open}. */
export interface BlockOpenOptions {
  /**
   * What is checked before the block is used: `"full"` (default) reads every
   * byte against the file checksum; `"tables"` reads only the footer and
   * tables and checks them against their own checksum (version 2; version 1
   * blocks and tables that fail it get the full check), leaving the chunk
   * bytes to {@linkcode BlockReader.scrub}. Chunks are checked at their first
   * decode either way, so a damaged one is never served.
   * @default {"full"}
   */
  check?: "full" | "tables";
}

/** An open, verified block: the series table in memory, chunk bytes read on demand. */
export class BlockReader {
  readonly meta: BlockMeta;
  readonly path: string;
  #ranges!: FileRanges;
  #refs: Uint32Array;
  #first: Uint32Array; // index of each series' first chunk; length series+1
  #off: Float64Array;
  #len: Uint32Array;
  #count: Uint32Array;
  #cMin: Float64Array;
  #cMax: Float64Array;
  // 1 once a chunk's CRC was verified at a read since open.
  #verified: Uint8Array;
  #scrubbed: boolean;
  #scrubbing: Promise<void> | undefined;

  private constructor(path: string, meta: BlockMeta, table: ParsedTable, scrubbed: boolean) {
    this.#scrubbed = scrubbed;
    this.path = path;
    this.meta = meta;
    this.#refs = table.refs;
    this.#first = table.first;
    this.#off = table.off;
    this.#len = table.len;
    this.#count = table.count;
    this.#cMin = table.cMin;
    this.#cMax = table.cMax;
    this.#verified = new Uint8Array(table.len.length);
  }

  /**
   * Opens `<dir>/<seq>.blk`, verifying its checksum; throws {@linkcode BlockCorruptError}.
   * With `check: "tables"` a version 2 block whose tables pass their own
   * checksum opens without reading its chunk bytes (see {@linkcode scrub}).
   */
  static async open(dir: string, seq: number, o: BlockOpenOptions = {}): Promise<BlockReader> {
    const path = joinPath(dir, blockFileName(seq));
    const f = await Deno.open(path, { read: true });
    try {
      const lazy = o.check === "tables" ? await parseTables(path, f, seq) : undefined;
      const { meta, table } = lazy ?? await verifyAndParse(path, f, seq);
      const r = new BlockReader(path, meta, table, lazy === undefined);
      r.#ranges = new FileRanges(
        path,
        f,
        () => new BlockCorruptError(path, "file shorter than its table"),
      );
      return r;
    } catch (e) {
      f.close();
      throw e;
    }
  }

  /** True once every byte was checked against the file checksum (at open or by {@linkcode scrub}). */
  get scrubbed(): boolean {
    return this.#scrubbed;
  }

  /**
   * Checks the whole file against its checksum (once; a no-op for a block
   * opened with the full check). When it fails, every chunk is checked and
   * the damaged ones are left out from then on, as a full check at open
   * does: their time bounds become NaN and `meta.damaged` counts them.
   * Reads go through the same queue as queries, a piece at a time.
   */
  scrub(): Promise<void> {
    if (this.#scrubbed) return Promise.resolve();
    return this.#scrubbing ??= (async () => {
      const size = this.meta.bytes;
      const crcAt = size - 8;
      let crc = 0;
      for (let pos = 0; pos < crcAt; pos += VERIFY_PIECE) {
        crc = crc32c(await this.#readRange(pos, Math.min(VERIFY_PIECE, crcAt - pos)), crc);
      }
      const want = new ByteReader(await this.#readRange(crcAt, 4)).u32();
      if (crc !== want) {
        await salvageChunks(
          { meta: this.meta, table: this.#table() },
          (pos, n) => this.#readRange(pos, n),
        );
      }
      this.#scrubbed = true;
    })();
  }

  #table(): ParsedTable {
    return {
      refs: this.#refs,
      first: this.#first,
      off: this.#off,
      len: this.#len,
      count: this.#count,
      cMin: this.#cMin,
      cMax: this.#cMax,
    };
  }

  /** Refs of the series in this block, ascending. */
  get refs(): Uint32Array {
    return this.#refs;
  }

  /** True when the block holds series `ref`. */
  has(ref: number): boolean {
    const i = this.#index(ref);
    return i >= 0;
  }

  /** True when series `ref` has a chunk overlapping [minT, maxT] (from the table, no IO). */
  hasData(ref: number, minT: number, maxT: number): boolean {
    if (maxT < this.meta.minT || minT > this.meta.maxT) return false;
    const i = this.#index(ref);
    if (i < 0) return false;
    for (let c = this.#first[i]; c < this.#first[i + 1]; c++) {
      if (this.#cMax[c] >= minT && this.#cMin[c] <= maxT) return true;
    }
    return false;
  }

  #index(ref: number): number {
    let lo = 0, hi = this.#refs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#refs[mid] < ref) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#refs.length && this.#refs[lo] === ref ? lo : -1;
  }

  /**
   * Reads samples of each ref in [minT, maxT]; refs not in the block are
   * absent from the result. Throws ChunkCorruptError for a bad chunk.
   */
  async read(refs: readonly number[], minT: number, maxT: number): Promise<Map<number, Samples>> {
    const out = new Map<number, Samples>();
    const slice = await this.load(refs, minT, maxT);
    if (!slice) return out;
    const buf = new SampleBuf();
    buf.newQuery();
    for (let i = 0; i < refs.length; i++) {
      buf.reset();
      slice.decodeInto(i, buf);
      const s = buf.finish(minT, maxT);
      if (s) out.set(refs[i], s);
    }
    return out;
  }

  /**
   * Reads the chunks of `refs` overlapping [minT, maxT] for decoding with
   * {@linkcode BlockSlice.decodeInto} (by index into `refs`): one read per
   * run of nearby chunks, all into one buffer (from `take` when given: the
   * caller owns it and may reuse it once done decoding), no decoding yet.
   * Undefined when nothing overlaps.
   */
  async load(
    refs: readonly number[],
    minT: number,
    maxT: number,
    take?: (bytes: number) => Uint8Array,
  ): Promise<BlockSlice | undefined> {
    if (maxT < this.meta.minT || minT > this.meta.maxT) return undefined;
    const first = new Int32Array(refs.length + 1);
    const want: number[] = [];
    const br = this.#refs, nb = br.length;
    let j = 0, prev = -1;
    for (let i = 0; i < refs.length; i++) {
      first[i] = want.length;
      const ref = refs[i];
      if (ref < prev) j = 0; // Not ascending: restart the merge walk.
      prev = ref;
      while (j < nb && br[j] < ref) j++;
      if (j >= nb || br[j] !== ref) continue;
      for (let c = this.#first[j]; c < this.#first[j + 1]; c++) {
        if (this.#cMax[c] >= minT && this.#cMin[c] <= maxT) want.push(c);
      }
    }
    first[refs.length] = want.length;
    if (want.length === 0) return undefined;
    // Coalesce chunks into reads, in file order.
    const order = Int32Array.from(want.keys());
    let sorted = true;
    for (let x = 1; x < want.length && sorted; x++) sorted = want[x] > want[x - 1];
    if (!sorted) order.sort((a, b) => this.#off[want[a]] - this.#off[want[b]]);
    const bufOf = new Int32Array(want.length);
    const bases: number[] = [], ends: number[] = [];
    let k = 0, total = 0;
    while (k < order.length) {
      const start = this.#off[want[order[k]]];
      let end = start + this.#len[want[order[k]]];
      let used = end - start;
      const k0 = k++;
      while (k < order.length) {
        const c = want[order[k]];
        const gap = this.#off[c] - end;
        if (gap > READ_GAP_BYTES) break;
        if (gap > READ_GAP_FREE_BYTES && used < end - start - used + gap) break;
        end = Math.max(end, this.#off[c] + this.#len[c]);
        used += this.#len[c];
        k++;
      }
      for (let x = k0; x < k; x++) bufOf[order[x]] = bases.length;
      bases.push(start);
      ends.push(end);
      total += end - start;
    }
    const all = take ? take(total) : new Uint8Array(total);
    const bufs: Uint8Array[] = [];
    for (let r = 0, at = 0; r < bases.length; r++) {
      const n = ends[r] - bases[r];
      bufs.push(await this.#ranges.read(bases[r], n, all.subarray(at, at + n)));
      at += n;
    }
    return new BlockSlice(this, first, Int32Array.from(want), bufOf, bufs, bases);
  }

  /** @internal Decodes chunk `c` from `buf` (at file offset `base`) into `out`. */
  _decode(c: number, buf: Uint8Array, base: number, out: SampleBuf): void {
    const o = this.#off[c] - base;
    out.decode(buf.subarray(o, o + this.#len[c]), this.#count[c], this.#verified[c] === 0);
    this.#verified[c] = 1;
  }

  /**
   * The labels table: labels of every series in the block, by ref (a
   * downsampled block lists real refs). Empty for a version 1 block.
   * Throws {@linkcode BlockCorruptError} when the table is malformed.
   */
  async labels(): Promise<Map<number, Labels>> {
    const out = new Map<number, Labels>();
    const len = this.meta.labelsLen ?? 0;
    if (len === 0) return out;
    const buf = await this.#readRange(this.meta.labelsOffset!, len);
    try {
      const r = new ByteReader(buf);
      const n = r.uvarint();
      let ref = 0;
      for (let i = 0; i < n; i++) {
        ref += r.uvarint();
        const k = r.uvarint();
        const labels = [];
        for (let j = 0; j < k; j++) labels.push({ name: r.str(), value: r.str() });
        out.set(ref, labels);
      }
      if (r.pos !== len) throw new Error("trailing bytes");
    } catch (e) {
      throw new BlockCorruptError(
        this.path,
        `bad labels table: ${e instanceof Error ? e.message : e}`,
      );
    }
    return out;
  }

  /** Every sample of every series (for compaction). */
  readAll(): Promise<Map<number, Samples>> {
    return this.read([...this.#refs], -Infinity, Infinity);
  }

  #readRange(pos: number, n: number): Promise<Uint8Array> {
    return this.#ranges.read(pos, n);
  }

  /** Closes the file handle (after pending reads). */
  close(): Promise<void> {
    return this.#ranges.close();
  }
}

/** Chunks of some series of one block, read for one query. */
export class BlockSlice {
  constructor(
    readonly block: BlockReader,
    readonly first: Int32Array,
    readonly want: Int32Array,
    readonly bufOf: Int32Array,
    readonly bufs: Uint8Array[],
    readonly bases: number[],
  ) {}

  /**
   * Appends the chunks of `refs[i]` (the refs given to `load`) to `out`,
   * ascending; throws ChunkCorruptError for a damaged chunk.
   */
  decodeInto(i: number, out: SampleBuf): void {
    for (let k = this.first[i], e = this.first[i + 1]; k < e; k++) {
      const b = this.bufOf[k];
      this.block._decode(this.want[k], this.bufs[b], this.bases[b], out);
    }
  }
}

interface ParsedTable {
  refs: Uint32Array;
  first: Uint32Array;
  off: Float64Array;
  len: Uint32Array;
  count: Uint32Array;
  cMin: Float64Array;
  cMax: Float64Array;
}

const VERIFY_PIECE = 256 << 10;
let verifyBuf: Uint8Array | undefined;

async function readFully(f: Deno.FsFile, buf: Uint8Array, path: string): Promise<void> {
  let got = 0;
  while (got < buf.length) {
    const n = await f.read(buf.subarray(got));
    if (n === null) throw new BlockCorruptError(path, "file shorter than expected");
    got += n;
  }
}

/**
 * Verifies a block file's magic, versions and CRC-32C by streaming it through
 * one small buffer, then reads and parses only its footer and series table.
 */
async function verifyAndParse(
  path: string,
  f: Deno.FsFile,
  seq: number,
): Promise<{ meta: BlockMeta; table: ParsedTable }> {
  const fail = (m: string) => new BlockCorruptError(path, m);
  const size = (await f.stat()).size;
  if (size < HEADER_BYTES + FOOTER_BYTES_V1) throw fail("too short");
  const buf = verifyBuf ??= new Uint8Array(VERIFY_PIECE);
  const crcAt = size - 8;
  let crc = 0, pos = 0, version = 0;
  await f.seek(0, Deno.SeekMode.Start);
  while (pos < crcAt) {
    const piece = buf.subarray(0, Math.min(buf.length, crcAt - pos));
    await readFully(f, piece, path);
    if (pos === 0) {
      for (let i = 0; i < 4; i++) if (piece[i] !== BLOCK_MAGIC[i]) throw fail("bad magic");
      version = piece[4];
      if (!READ_VERSIONS.includes(version)) throw fail(`unknown version ${version}`);
    }
    crc = crc32c(piece, crc);
    pos += piece.length;
  }
  const footBytes = version === 1 ? FOOTER_BYTES_V1 : FOOTER_BYTES;
  if (size < HEADER_BYTES + footBytes) throw fail("too short");
  // Footer plus table, read separately (the table is small against the chunks).
  const foot = new Uint8Array(footBytes);
  await f.seek(size - footBytes, Deno.SeekMode.Start);
  await readFully(f, foot, path);
  for (let i = 0; i < 4; i++) {
    if (foot[footBytes - 4 + i] !== BLOCK_MAGIC[i]) throw fail("bad magic");
  }
  const fileOk = crc === new ByteReader(foot, footBytes - 8).u32();
  if (!fileOk && version < 2) throw fail("checksum mismatch");
  const tableOffset = new ByteReader(foot, 24).u32(), tableLen = new ByteReader(foot, 28).u32();
  if (tableOffset + tableLen > size - footBytes) throw fail("table out of range");
  const tail = new Uint8Array(size - tableOffset);
  await f.seek(tableOffset, Deno.SeekMode.Start);
  await readFully(f, tail, path);
  if (fileOk) return parseTail(path, tail, tableOffset, seq, version);
  // The file fails its checksum. When its tables pass their own, the damage is in chunk
  // bytes: every chunk is checked and only the intact ones are served.
  const tablesCrc = new ByteReader(tail, tail.length - 12).u32();
  if (crc32c(tail, 0, 0, tail.length - 12) !== tablesCrc) throw fail("checksum mismatch");
  const parsed = parseTail(path, tail, tableOffset, seq, version);
  await salvageChunks(parsed, async (pos, n) => {
    const buf = new Uint8Array(n);
    await f.seek(pos, Deno.SeekMode.Start);
    await readFully(f, buf, path);
    return buf;
  });
  return parsed;
}

/**
 * Reads and parses a version 2 block's footer and tables, checked against
 * the tables' own checksum only; undefined when the block is version 1 or
 * anything fails (the full check then decides).
 */
async function parseTables(
  path: string,
  f: Deno.FsFile,
  seq: number,
): Promise<{ meta: BlockMeta; table: ParsedTable } | undefined> {
  try {
    const size = (await f.stat()).size;
    if (size < HEADER_BYTES + FOOTER_BYTES) return undefined;
    const head = new Uint8Array(HEADER_BYTES);
    await f.seek(0, Deno.SeekMode.Start);
    await readFully(f, head, path);
    for (let i = 0; i < 4; i++) if (head[i] !== BLOCK_MAGIC[i]) return undefined;
    if (head[4] < 2 || !READ_VERSIONS.includes(head[4])) return undefined;
    const foot = new Uint8Array(FOOTER_BYTES);
    await f.seek(size - FOOTER_BYTES, Deno.SeekMode.Start);
    await readFully(f, foot, path);
    for (let i = 0; i < 4; i++) if (foot[FOOTER_BYTES - 4 + i] !== BLOCK_MAGIC[i]) return undefined;
    const tableOffset = new ByteReader(foot, 24).u32();
    if (tableOffset < HEADER_BYTES || tableOffset > size - FOOTER_BYTES) return undefined;
    const tail = new Uint8Array(size - tableOffset);
    await f.seek(tableOffset, Deno.SeekMode.Start);
    await readFully(f, tail, path);
    const tablesCrc = new ByteReader(tail, tail.length - 12).u32();
    if (crc32c(tail, 0, 0, tail.length - 12) !== tablesCrc) return undefined;
    return parseTail(path, tail, tableOffset, seq, head[4]);
  } catch {
    return undefined;
  }
}

/**
 * Checks every chunk of a block whose file checksum failed; damaged chunks
 * get NaN time bounds (never read) and are counted in `meta.damaged`.
 */
async function salvageChunks(
  p: { meta: BlockMeta; table: ParsedTable },
  read: (pos: number, n: number) => Promise<Uint8Array>,
): Promise<void> {
  const t = p.table;
  const damaged = { chunks: 0, samples: 0, series: 0 };
  let series = -1;
  for (let i = 0; i < t.refs.length; i++) {
    for (let c = t.first[i]; c < t.first[i + 1]; c++) {
      const buf = await read(t.off[c], t.len[c]);
      try {
        chunkMeta(buf);
      } catch {
        damaged.chunks++;
        damaged.samples += t.count[c];
        if (series !== i) damaged.series++;
        series = i;
        // NaN bounds overlap no range, not even (-Infinity, Infinity).
        t.cMin[c] = NaN;
        t.cMax[c] = NaN;
      }
    }
  }
  if (damaged.chunks === 0) {
    // Every chunk is intact: the damage is elsewhere (padding no one reads).
    damaged.series = 0;
  }
  p.meta.damaged = damaged;
}

/**
 * Parses footer and table from `data`, the file's bytes from `dataOffset` to
 * its end (checksum already verified).
 */
function parseTail(
  path: string,
  data: Uint8Array,
  dataOffset: number,
  seq: number,
  headerVersion: number,
): { meta: BlockMeta; table: ParsedTable } {
  const fail = (m: string) => new BlockCorruptError(path, m);
  const fileSize = dataOffset + data.length;
  const footBytes = headerVersion === 1 ? FOOTER_BYTES_V1 : FOOTER_BYTES;
  const f = new ByteReader(data, data.length - footBytes);
  const minT = f.f64(), maxT = f.f64(), samples = f.f64();
  const tableOffset = f.u32(), tableLen = f.u32();
  let labelsOffset = 0, labelsLen = 0;
  if (headerVersion >= 2) {
    labelsOffset = f.u32();
    labelsLen = f.u32();
  }
  const level = f.u8(), version = f.u8();
  const resolution = (f.u8() | (f.u8() << 8)) * 1000;
  if (version !== headerVersion) throw fail(`footer version ${version} is not ${headerVersion}`);
  if (tableOffset < dataOffset || tableOffset + tableLen > fileSize - footBytes) {
    throw fail("table out of range");
  }
  if (
    labelsLen > 0 && (labelsOffset < dataOffset || labelsOffset + labelsLen > fileSize - footBytes)
  ) {
    throw fail("labels table out of range");
  }
  try {
    const t = new ByteReader(data, tableOffset - dataOffset, tableOffset - dataOffset + tableLen);
    const nSeries = t.uvarint();
    const refs = new Uint32Array(nSeries), first = new Uint32Array(nSeries + 1);
    const off: number[] = [], len: number[] = [], count: number[] = [];
    const cMin: number[] = [], cMax: number[] = [];
    let ref = 0, pos = HEADER_BYTES;
    const base = Math.floor(minT);
    for (let i = 0; i < nSeries; i++) {
      ref += t.uvarint();
      refs[i] = ref;
      first[i] = off.length;
      const nc = t.uvarint();
      for (let c = 0; c < nc; c++) {
        const l = t.uvarint();
        off.push(pos);
        len.push(l);
        pos += l;
        count.push(t.uvarint());
        const lo = base + t.uvarint();
        cMin.push(lo);
        cMax.push(lo + t.uvarint());
      }
    }
    first[nSeries] = off.length;
    if (pos !== tableOffset) throw fail("chunk lengths do not add up to the table offset");
    return {
      meta: {
        seq,
        minT,
        maxT,
        samples,
        series: nSeries,
        level,
        bytes: fileSize,
        resolution,
        version,
        labelsOffset,
        labelsLen,
      },
      table: {
        refs,
        first,
        off: new Float64Array(off),
        len: new Uint32Array(len),
        count: new Uint32Array(count),
        cMin: new Float64Array(cMin),
        cMax: new Float64Array(cMax),
      },
    };
  } catch (e) {
    if (e instanceof BlockCorruptError) throw e;
    throw fail(`bad series table: ${e instanceof Error ? e.message : String(e)}`);
  }
}
