/**
 * Histogram files: the native histogram chunks of every series of a time
 * range, with their labels (self-contained), one CRC over the file. Layout:
 * FORMAT.md, "Histogram files". {@linkcode encodeHistogramFile} writes one;
 * {@linkcode HistFileReader} verifies it at open, keeps only its table
 * (chunk offsets and time bounds) in memory and reads chunks on demand.
 *
 * @module
 */
import { type Labels, labelsEqual } from "../model/mod.ts";
import { ChunkCorruptError } from "./chunk.ts";
import { crc32c } from "./crc32c.ts";
import type { HistFileId } from "./filenames.ts";
import {
  decodeHistogramChunk,
  histogramChunkMeta,
  type HistogramSamples,
} from "./histogram_chunk.ts";
import { clipRun, concatRuns } from "./histogram_runs.ts";
import { FileRanges } from "./_file_ranges.ts";
import { ByteReader, ByteWriter, ShortReadError } from "./_byte_buf.ts";

const MAGIC = [0x50, 0x48, 0x53, 0x54]; // "PHST"
/** Version byte written. */
export const HIST_FILE_VERSION = 2;

/** A histogram file that fails its checks. */
export class HistogramFileCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HistogramFileCorruptError";
  }
}

/** What a histogram file's header says (version 1 files: taken from the name). */
export interface HistFileMeta extends HistFileId {
  /** Write sequence: a higher number is a later write and wins on equal timestamps. */
  readonly seq: number;
}

/** One series of a file to write: its chunks ascending and disjoint. */
export interface HistFileSeries {
  readonly ref: number;
  readonly labels: Labels;
  readonly chunks: readonly Uint8Array[];
}

/** Encodes a histogram file (format version 2) from its series, ascending by ref. */
export function encodeHistogramFile(
  meta: HistFileMeta,
  series: readonly HistFileSeries[],
): Uint8Array {
  const w = new ByteWriter(4096);
  for (const b of MAGIC) w.u8(b);
  w.u8(HIST_FILE_VERSION);
  w.u8(0), w.u8(0), w.u8(0);
  w.varint(meta.lo);
  w.varint(meta.hi);
  w.uvarint(meta.resolution);
  w.uvarint(meta.seq);
  w.uvarint(series.length);
  for (const s of series) {
    w.uvarint(s.ref);
    w.labels(s.labels);
    w.uvarint(s.chunks.length);
    for (const c of s.chunks) {
      w.uvarint(c.length);
      w.bytes(c);
    }
  }
  w.u32(crc32c(w.view()));
  return w.copy();
}

interface Table {
  meta: HistFileMeta;
  refs: number[];
  first: number[];
  off: number[];
  len: number[];
  count: number[];
  cMin: number[];
  cMax: number[];
  labels: Map<number, Labels> | undefined;
}

/**
 * Checks a file (magic, version, CRC, every chunk) and parses its table.
 * `v1` gives the identity of a version 1 file (from its name).
 */
function parseFile(b: Uint8Array, v1: HistFileId | undefined, withLabels: boolean): Table {
  if (b.length < 12 || MAGIC.some((m, i) => b[i] !== m)) {
    throw new HistogramFileCorruptError("not a histogram file (bad magic)");
  }
  const stored = (b[b.length - 4]! | (b[b.length - 3]! << 8) | (b[b.length - 2]! << 16) |
    (b[b.length - 1]! << 24)) >>> 0;
  if (crc32c(b, 0, 0, b.length - 4) !== stored) {
    throw new HistogramFileCorruptError("histogram file CRC mismatch");
  }
  const version = b[4];
  if (version !== 1 && version !== 2) {
    throw new HistogramFileCorruptError(`unknown histogram file version ${version}`);
  }
  const t: Table = {
    meta: { lo: 0, hi: 0, resolution: 0, seq: 0 },
    refs: [],
    first: [],
    off: [],
    len: [],
    count: [],
    cMin: [],
    cMax: [],
    labels: withLabels ? new Map() : undefined,
  };
  try {
    const r = new ByteReader(b, 8, b.length - 4);
    if (version === 2) {
      t.meta = { lo: r.varint(), hi: r.varint(), resolution: r.uvarint(), seq: r.uvarint() };
    } else if (v1) t.meta = { ...v1, seq: 0 };
    else throw new HistogramFileCorruptError("a version 1 histogram file under another name");
    const n = r.uvarint();
    for (let i = 0; i < n; i++) {
      const ref = r.uvarint();
      if (i > 0 && ref <= t.refs[i - 1]!) throw new ShortReadError("series not ascending by ref");
      t.refs.push(ref);
      const labels = r.labels();
      t.labels?.set(ref, labels);
      const c = r.uvarint();
      if (c > r.remaining) throw new ShortReadError("chunk count past the end");
      t.first.push(t.off.length);
      for (let j = 0; j < c; j++) {
        const len = r.uvarint();
        const off = r.pos;
        const m = histogramChunkMeta(r.bytes(len));
        if (j > 0 && m.minT <= t.cMax[t.cMax.length - 1]!) {
          throw new ShortReadError("chunks of a series overlap");
        }
        t.off.push(off), t.len.push(len), t.count.push(m.count);
        t.cMin.push(m.minT), t.cMax.push(m.maxT);
      }
    }
    t.first.push(t.off.length);
    if (r.remaining !== 0) throw new ShortReadError("trailing bytes");
  } catch (e) {
    if (e instanceof ShortReadError || e instanceof ChunkCorruptError) {
      throw new HistogramFileCorruptError(e.message);
    }
    throw e;
  }
  return t;
}

/** What {@linkcode salvageHistogramFile} recovered from a damaged file. */
export interface HistFileSalvage {
  /** Series that can be trusted, ascending by ref, with their intact chunks. */
  readonly series: HistFileSeries[];
  /** Histogram samples in the recovered chunks. */
  readonly samples: number;
  /** Chunks left out: failing their own CRC, outside the file's range, or of a series left out. */
  readonly chunksLost: number;
  /** Series left out: labels or ref not those of the series index. */
  readonly seriesLost: number;
  /** Offset where the framing broke and reading stopped; undefined when it read to the end. */
  readonly stoppedAt: number | undefined;
}

/**
 * Recovers what can be trusted from a version 2 file that failed its
 * checks, for the range `id` its name gives (the header is not trusted).
 * Series are read in order until the framing breaks. A series is kept only
 * when its ref and labels are those the series index has (`labelsOf`), so
 * damaged bytes never put samples under a wrong series; of its chunks, those
 * that pass their own CRC and lie in [lo, hi), ascending, are kept.
 */
export function salvageHistogramFile(
  b: Uint8Array,
  id: HistFileId,
  labelsOf: (ref: number) => Labels | undefined,
): HistFileSalvage {
  const series: HistFileSeries[] = [];
  let samples = 0, chunksLost = 0, seriesLost = 0, stoppedAt: number | undefined;
  if (b.length < 12 || MAGIC.some((m, i) => b[i] !== m) || b[4] !== 2) {
    return { series, samples, chunksLost, seriesLost, stoppedAt: 0 };
  }
  const r = new ByteReader(b, 8, b.length - 4);
  try {
    r.varint(), r.varint(), r.uvarint(), r.uvarint(); // lo, hi, res, seq
    const n = r.uvarint();
    for (let i = 0; i < n && r.remaining > 0; i++) {
      const ref = r.uvarint();
      const labels = r.labels();
      const c = r.uvarint();
      if (c > r.remaining) throw new ShortReadError("chunk count past the end");
      const chunks: Uint8Array[] = [];
      let maxT = -Infinity, count = 0;
      for (let j = 0; j < c; j++) {
        const chunk = r.bytes(r.uvarint());
        try {
          const m = histogramChunkMeta(chunk);
          if (m.minT > maxT && m.minT >= id.lo && m.maxT < id.hi) {
            chunks.push(chunk);
            maxT = m.maxT;
            count += m.count;
            continue;
          }
        } catch (e) {
          if (!(e instanceof ChunkCorruptError)) throw e;
        }
        chunksLost++;
      }
      const known = labelsOf(ref);
      const last = series.length > 0 ? series[series.length - 1]!.ref : -1;
      if (known && ref > last && labelsEqual(known, labels) && chunks.length > 0) {
        series.push({ ref, labels: known, chunks });
        samples += count;
      } else {
        seriesLost++;
        chunksLost += chunks.length;
      }
    }
  } catch {
    // Damaged framing (a bad length, count or string): nothing after it can be placed.
    stoppedAt = r.pos;
  }
  return { series, samples, chunksLost, seriesLost, stoppedAt };
}

/** An open histogram file; see the module doc. */
export class HistFileReader {
  readonly meta: HistFileMeta;
  /** File name in its directory. */
  readonly name: string;
  /** Size on disk. */
  readonly bytes: number;
  /** Histogram samples in the file. */
  readonly samples: number;
  /** Oldest and newest sample (Infinity/-Infinity when empty). */
  readonly minT: number;
  readonly maxT: number;
  readonly #ranges: FileRanges;
  readonly #refs: Float64Array;
  readonly #first: Uint32Array;
  readonly #off: Float64Array;
  readonly #len: Uint32Array;
  readonly #cMin: Float64Array;
  readonly #cMax: Float64Array;

  private constructor(name: string, bytes: number, t: Table, ranges: FileRanges) {
    this.name = name;
    this.bytes = bytes;
    this.meta = t.meta;
    this.#ranges = ranges;
    this.#refs = Float64Array.from(t.refs);
    this.#first = Uint32Array.from(t.first);
    this.#off = Float64Array.from(t.off);
    this.#len = Uint32Array.from(t.len);
    this.#cMin = Float64Array.from(t.cMin);
    this.#cMax = Float64Array.from(t.cMax);
    let samples = 0, minT = Infinity, maxT = -Infinity;
    for (let c = 0; c < t.count.length; c++) {
      samples += t.count[c]!;
      minT = Math.min(minT, t.cMin[c]!);
      maxT = Math.max(maxT, t.cMax[c]!);
    }
    this.samples = samples;
    this.minT = minT;
    this.maxT = maxT;
  }

  /**
   * Opens `<dir>/<name>`, checking magic, version, CRC and every chunk;
   * throws {@linkcode HistogramFileCorruptError}. `v1` is the identity of a
   * version 1 file.
   */
  static async open(dir: string, name: string, v1?: HistFileId): Promise<HistFileReader> {
    const path = `${dir}/${name}`;
    const f = await Deno.open(path, { read: true });
    try {
      const size = (await f.stat()).size;
      const b = new Uint8Array(size);
      let got = 0;
      while (got < size) {
        const n = await f.read(b.subarray(got));
        if (n === null) throw new HistogramFileCorruptError("file shorter than its size");
        got += n;
      }
      const t = parseFile(b, v1, false);
      const short = () => new HistogramFileCorruptError(`${path} is shorter than its table`);
      return new HistFileReader(name, size, t, new FileRanges(path, f, short));
    } catch (e) {
      f.close();
      throw e;
    }
  }

  /** Refs of the series in the file, ascending. */
  get refs(): Float64Array {
    return this.#refs;
  }

  #index(ref: number): number {
    let lo = 0, hi = this.#refs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#refs[mid]! < ref) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#refs.length && this.#refs[lo] === ref ? lo : -1;
  }

  /** True when series `ref` has a chunk overlapping [minT, maxT] (no IO). */
  hasData(ref: number, minT: number, maxT: number): boolean {
    if (maxT < this.minT || minT > this.maxT) return false;
    const i = this.#index(ref);
    if (i < 0) return false;
    for (let c = this.#first[i]!; c < this.#first[i + 1]!; c++) {
      if (this.#cMax[c]! >= minT && this.#cMin[c]! <= maxT) return true;
    }
    return false;
  }

  /** Oldest sample of series `ref`, or undefined when the file lacks it. */
  seriesMinT(ref: number): number | undefined {
    const i = this.#index(ref);
    return i < 0 ? undefined : this.#cMin[this.#first[i]!];
  }

  /**
   * The encoded chunks of series `ref` (CRC-checked), ascending; empty when
   * the file lacks it. Throws {@linkcode ChunkCorruptError} on damage.
   */
  async chunks(ref: number): Promise<Uint8Array[]> {
    const i = this.#index(ref);
    if (i < 0) return [];
    const a = this.#first[i]!, e = this.#first[i + 1]!;
    if (a === e) return [];
    const base = this.#off[a]!;
    const buf = await this.#ranges.read(base, this.#off[e - 1]! + this.#len[e - 1]! - base);
    const out: Uint8Array[] = [];
    for (let c = a; c < e; c++) {
      const o = this.#off[c]! - base;
      const chunk = buf.subarray(o, o + this.#len[c]!);
      histogramChunkMeta(chunk); // checks the CRC
      out.push(chunk);
    }
    return out;
  }

  /**
   * Samples of series `ref` in [minT, maxT]; undefined when there are none.
   * Throws {@linkcode ChunkCorruptError} on damage.
   */
  async read(ref: number, minT: number, maxT: number): Promise<HistogramSamples | undefined> {
    if (!this.hasData(ref, minT, maxT)) return undefined;
    const runs: HistogramSamples[] = [];
    const i = this.#index(ref);
    const chunks = await this.chunks(ref);
    for (let k = 0; k < chunks.length; k++) {
      const c = this.#first[i]! + k;
      if (this.#cMax[c]! >= minT && this.#cMin[c]! <= maxT) {
        runs.push(decodeHistogramChunk(chunks[k]!));
      }
    }
    const run = clipRun(concatRuns(runs), minT, maxT);
    return run.t.length > 0 ? run : undefined;
  }

  /** Labels of every series in the file (read again from disk). */
  async labels(): Promise<Map<number, Labels>> {
    const b = await this.#ranges.read(0, this.bytes);
    return parseFile(b, this.meta, true).labels!;
  }

  /** Closes the file handle (after pending reads). */
  close(): Promise<void> {
    return this.#ranges.close();
  }
}
