/**
 * Native histogram samples of the database: an in-memory head per series
 * (filled by appends and WAL replay) and one file per flushed block window,
 * `hist/<window>.hist`, holding every histogram series of that window as
 * histogram chunks with its labels (self-contained, CRC-checked). Layout:
 * FORMAT.md, "Histogram files".
 *
 * The database logs histogram samples in the WAL (type 5) and calls
 * {@linkcode HistogramStore.flushWindow} before it marks a window flushed,
 * so a window's histograms are on disk before its WAL may go. A late
 * histogram into a flushed window is merged into that window's file at the
 * next flush (newest write wins on equal timestamps).
 *
 * @module
 */
import type { Labels, NativeHistogram } from "../model/mod.ts";
import { crc32c } from "./crc32c.ts";
import {
  decodeHistogramChunk,
  encodeHistogramChunk,
  type HistogramSamples,
  MAX_HISTOGRAM_CHUNK_SAMPLES,
} from "./histogram_chunk.ts";
import { fsyncDir } from "./wal.ts";
import { ByteReader, ByteWriter, ShortReadError } from "./_byte_buf.ts";

/** Directory of histogram files under the data directory. */
export const HIST_DIR = "hist";
const MAGIC = [0x50, 0x48, 0x53, 0x54]; // "PHST"
/** Version byte of histogram files. */
export const HIST_FILE_VERSION = 1;

/** A histogram file that fails its checks. */
export class HistogramFileCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HistogramFileCorruptError";
  }
}

interface HeadSeries {
  t: number[];
  h: NativeHistogram[];
}

interface FileSeries {
  readonly labels: Labels;
  readonly chunks: readonly Uint8Array[];
  readonly minT: number;
  readonly maxT: number;
}

interface HistFile {
  readonly window: number;
  readonly series: Map<number, FileSeries>;
  readonly bytes: number;
}

/** Encodes a histogram file from its series (ascending refs). */
export function encodeHistogramFile(
  series: readonly { ref: number; labels: Labels; t: ArrayLike<number>; h: NativeHistogram[] }[],
): Uint8Array {
  const w = new ByteWriter(4096);
  for (const b of MAGIC) w.u8(b);
  w.u8(HIST_FILE_VERSION);
  w.u8(0), w.u8(0), w.u8(0);
  w.uvarint(series.length);
  for (const s of series) {
    w.uvarint(s.ref);
    w.uvarint(s.labels.length);
    for (const l of s.labels) {
      w.str(l.name);
      w.str(l.value);
    }
    const n = s.h.length;
    const c = Math.ceil(n / MAX_HISTOGRAM_CHUNK_SAMPLES);
    w.uvarint(c);
    for (let k = 0; k < c; k++) {
      const a = k * MAX_HISTOGRAM_CHUNK_SAMPLES, e = Math.min(n, a + MAX_HISTOGRAM_CHUNK_SAMPLES);
      const chunk = encodeHistogramChunk(
        Array.from({ length: e - a }, (_, i) => s.t[a + i]!),
        s.h.slice(a, e),
      );
      w.uvarint(chunk.length);
      w.bytes(chunk);
    }
  }
  w.u32(crc32c(w.view()));
  return w.copy();
}

/** Decodes a histogram file's table (chunks stay encoded). */
export function decodeHistogramFile(b: Uint8Array): Map<number, FileSeries> {
  if (b.length < 12 || MAGIC.some((m, i) => b[i] !== m)) {
    throw new HistogramFileCorruptError("not a histogram file (bad magic)");
  }
  const stored = (b[b.length - 4]! | (b[b.length - 3]! << 8) | (b[b.length - 2]! << 16) |
    (b[b.length - 1]! << 24)) >>> 0;
  if (crc32c(b, 0, 0, b.length - 4) !== stored) {
    throw new HistogramFileCorruptError("histogram file CRC mismatch");
  }
  if (b[4] !== HIST_FILE_VERSION) {
    throw new HistogramFileCorruptError(`unknown histogram file version ${b[4]}`);
  }
  const out = new Map<number, FileSeries>();
  try {
    const r = new ByteReader(b, 8, b.length - 4);
    const n = r.uvarint();
    for (let i = 0; i < n; i++) {
      const ref = r.uvarint();
      const k = r.uvarint();
      if (k > r.remaining) throw new ShortReadError("label count past the end");
      const labels: { name: string; value: string }[] = [];
      for (let j = 0; j < k; j++) labels.push({ name: r.str(), value: r.str() });
      const c = r.uvarint();
      if (c > r.remaining) throw new ShortReadError("chunk count past the end");
      const chunks: Uint8Array[] = [];
      let minT = Infinity, maxT = -Infinity;
      for (let j = 0; j < c; j++) {
        const chunk = r.bytes(r.uvarint());
        const d = decodeHistogramChunk(chunk);
        minT = Math.min(minT, d.t[0]!);
        maxT = Math.max(maxT, d.t[d.t.length - 1]!);
        chunks.push(chunk);
      }
      out.set(ref, { labels, chunks, minT, maxT });
    }
  } catch (e) {
    if (e instanceof ShortReadError) throw new HistogramFileCorruptError(e.message);
    if (e instanceof Error && e.name === "ChunkCorruptError") {
      throw new HistogramFileCorruptError(e.message);
    }
    throw e;
  }
  return out;
}

/** Merges two ascending runs; on equal timestamps `b` (the newer write) wins. */
function mergeRuns(a: HistogramSamples, b: HistogramSamples): HistogramSamples {
  if (a.t.length === 0) return b;
  if (b.t.length === 0) return a;
  const t: number[] = [], h: NativeHistogram[] = [];
  let i = 0, j = 0;
  while (i < a.t.length || j < b.t.length) {
    if (j >= b.t.length || (i < a.t.length && a.t[i]! < b.t[j]!)) {
      t.push(a.t[i]!), h.push(a.h[i++]!);
    } else {
      if (i < a.t.length && a.t[i] === b.t[j]) i++;
      t.push(b.t[j]!), h.push(b.h[j++]!);
    }
  }
  return { t: new Float64Array(t), h };
}

function clipRun(s: HistogramSamples, minT: number, maxT: number): HistogramSamples {
  const t: number[] = [], h: NativeHistogram[] = [];
  for (let i = 0; i < s.t.length; i++) {
    if (s.t[i]! >= minT && s.t[i]! <= maxT) t.push(s.t[i]!), h.push(s.h[i]!);
  }
  return t.length === s.t.length ? s : { t: new Float64Array(t), h };
}

function fileName(window: number): string {
  return `${window}.hist`;
}

/** See the module doc. */
export class HistogramStore {
  readonly #dir: string;
  readonly #range: number;
  readonly #head = new Map<number, HeadSeries>();
  readonly #files = new Map<number, HistFile>();
  #headSamples = 0;

  private constructor(dir: string, range: number) {
    this.#dir = dir;
    this.#range = range;
  }

  /**
   * Opens the store in `dir` (created when missing). A damaged file is
   * renamed to `<name>.corrupt` (never served) and reported through
   * `onCorrupt`.
   */
  static async open(
    dir: string,
    range: number,
    onCorrupt: (file: string, e: Error) => void,
  ): Promise<HistogramStore> {
    await Deno.mkdir(dir, { recursive: true });
    const s = new HistogramStore(dir, range);
    for await (const e of Deno.readDir(dir)) {
      if (e.name.endsWith(".tmp")) {
        await Deno.remove(`${dir}/${e.name}`).catch(() => {});
        continue;
      }
      const m = /^(-?\d+)\.hist$/.exec(e.name);
      if (!m) continue;
      const path = `${dir}/${e.name}`;
      try {
        const bytes = await Deno.readFile(path);
        s.#files.set(Number(m[1]), {
          window: Number(m[1]),
          series: decodeHistogramFile(bytes),
          bytes: bytes.length,
        });
      } catch (err) {
        if (!(err instanceof HistogramFileCorruptError)) throw err;
        await Deno.rename(path, path + ".corrupt");
        onCorrupt(e.name, err);
      }
    }
    return s;
  }

  /** Labels of every series in the files (to restore a rebuilt index). */
  *fileSeries(): Iterable<[number, Labels]> {
    for (const f of this.#files.values()) for (const [ref, s] of f.series) yield [ref, s.labels];
  }

  /** Samples held in memory. */
  get headSamples(): number {
    return this.#headSamples;
  }

  /** Bytes of the histogram files. */
  get diskBytes(): number {
    let n = 0;
    for (const f of this.#files.values()) n += f.bytes;
    return n;
  }

  /** Adds a sample to the head; a sample at a stored timestamp replaces it. */
  append(ref: number, t: number, h: NativeHistogram): void {
    let s = this.#head.get(ref);
    if (!s) this.#head.set(ref, s = { t: [], h: [] });
    const n = s.t.length;
    if (n === 0 || t > s.t[n - 1]!) {
      s.t.push(t), s.h.push(h);
      this.#headSamples++;
      return;
    }
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s.t[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    if (s.t[lo] === t) s.h[lo] = h;
    else {
      s.t.splice(lo, 0, t), s.h.splice(lo, 0, h);
      this.#headSamples++;
    }
  }

  /** Block windows the head holds samples of, ascending. */
  windows(): number[] {
    const ws = new Set<number>();
    for (const s of this.#head.values()) {
      for (const t of s.t) ws.add(Math.floor(t / this.#range));
    }
    return [...ws].sort((a, b) => a - b);
  }

  /**
   * Writes the head's samples of `window` to its file (merged with what the
   * file holds), then drops them from the head. On failure the head keeps
   * them and the error is thrown.
   */
  async flushWindow(window: number, labelsOf: (ref: number) => Labels | undefined): Promise<void> {
    const lo = window * this.#range, hi = lo + this.#range;
    const taken = new Map<number, HistogramSamples>();
    for (const [ref, s] of this.#head) {
      const t: number[] = [], h: NativeHistogram[] = [];
      for (let i = 0; i < s.t.length; i++) {
        if (s.t[i]! >= lo && s.t[i]! < hi) t.push(s.t[i]!), h.push(s.h[i]!);
      }
      if (t.length > 0) taken.set(ref, { t: new Float64Array(t), h });
    }
    if (taken.size === 0) return;
    const old = this.#files.get(window);
    const refs = new Set([...taken.keys(), ...(old?.series.keys() ?? [])]);
    const series = [];
    for (const ref of [...refs].sort((a, b) => a - b)) {
      const before = old?.series.get(ref);
      const labels = labelsOf(ref) ?? before?.labels;
      if (!labels) continue; // a series whose definition was lost: nothing to name it by
      let run: HistogramSamples = { t: new Float64Array(0), h: [] };
      for (const c of before?.chunks ?? []) run = mergeRuns(run, decodeHistogramChunk(c));
      run = mergeRuns(run, taken.get(ref) ?? { t: new Float64Array(0), h: [] });
      series.push({ ref, labels, t: run.t, h: run.h });
    }
    const bytes = encodeHistogramFile(series);
    const path = `${this.#dir}/${fileName(window)}`;
    const tmp = path + ".tmp";
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
    await fsyncDir(this.#dir);
    this.#files.set(window, { window, series: decodeHistogramFile(bytes), bytes: bytes.length });
    // Drop exactly the samples written: appends during the write stay in the head.
    for (const [ref, got] of taken) {
      const s = this.#head.get(ref);
      if (!s) continue;
      const written = new Set(got.h);
      const keepT: number[] = [], keepH: NativeHistogram[] = [];
      for (let i = 0; i < s.t.length; i++) {
        const t = s.t[i]!;
        if (!(written.has(s.h[i]!) && t >= lo && t < hi)) keepT.push(t), keepH.push(s.h[i]!);
      }
      this.#headSamples -= s.t.length - keepT.length;
      if (keepT.length === 0) this.#head.delete(ref);
      else this.#head.set(ref, { t: keepT, h: keepH });
    }
  }

  /** Refs among `refs` with histogram samples in [minT, maxT]. */
  withData(refs: readonly number[], minT: number, maxT: number): number[] {
    const files = [...this.#files.values()].filter((f) => {
      const lo = f.window * this.#range;
      return lo <= maxT && lo + this.#range - 1 >= minT;
    });
    return refs.filter((ref) => {
      const s = this.#head.get(ref);
      if (s && s.t.some((t) => t >= minT && t <= maxT)) return true;
      for (const f of files) {
        const fs = f.series.get(ref);
        if (fs && fs.minT <= maxT && fs.maxT >= minT) return true;
      }
      return false;
    });
  }

  /** False when no histogram is held at all (the common case: skip every lookup). */
  get empty(): boolean {
    return this.#head.size === 0 && this.#files.size === 0;
  }

  /** Histogram samples of `refs` in [minT, maxT], files first, then the head (newest wins). */
  read(refs: readonly number[], minT: number, maxT: number): Map<number, HistogramSamples> {
    const out = new Map<number, HistogramSamples>();
    if (this.empty) return out;
    const files = [...this.#files.values()]
      .filter((f) => {
        const lo = f.window * this.#range;
        return lo <= maxT && lo + this.#range - 1 >= minT;
      })
      .sort((a, b) => a.window - b.window);
    for (const ref of refs) {
      let run: HistogramSamples = { t: new Float64Array(0), h: [] };
      for (const f of files) {
        const fs = f.series.get(ref);
        if (!fs || fs.minT > maxT || fs.maxT < minT) continue;
        for (const c of fs.chunks) run = mergeRuns(run, decodeHistogramChunk(c));
      }
      const s = this.#head.get(ref);
      if (s) run = mergeRuns(run, { t: new Float64Array(s.t), h: s.h.slice() });
      run = clipRun(run, minT, maxT);
      if (run.t.length > 0) out.set(ref, run);
    }
    return out;
  }

  /** Oldest histogram timestamp held, or null. */
  minTime(): number | null {
    let m = Infinity;
    for (const s of this.#head.values()) if (s.t.length > 0) m = Math.min(m, s.t[0]!);
    for (const f of this.#files.values()) {
      for (const s of f.series.values()) m = Math.min(m, s.minT);
    }
    return m === Infinity ? null : m;
  }

  /** Deletes the files of windows that end at or before `cutoff` (retention). */
  async dropBefore(cutoff: number): Promise<number> {
    let n = 0;
    for (const [w] of this.#files) {
      if ((w + 1) * this.#range > cutoff) continue;
      await Deno.remove(`${this.#dir}/${fileName(w)}`).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
      this.#files.delete(w);
      n++;
    }
    return n;
  }
}
