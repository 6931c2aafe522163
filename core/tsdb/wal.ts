/**
 * Write-ahead log: numbered segment files of CRC-32C-framed records (series
 * definitions and sample batches; layout in FORMAT.md, "WAL record").
 *
 * Durability: {@linkcode Wal.append} resolves only after the record is written
 * and, with `fsync: "always"` (the default), fsynced. Appends that arrive while
 * an fsync is running are written together by the next write and share its
 * fsync (group commit), so many concurrent writers cost one fsync each round.
 *
 * `fsync: "interval"` trades safety for flash wear: a record is acknowledged
 * once written to the OS page cache, and the segment is fsynced every
 * `fsyncIntervalMs`. A process crash loses nothing; a power cut or kernel
 * crash loses up to `fsyncIntervalMs` of acknowledged samples.
 *
 * A failed write (disk full) is undone by truncating the segment back to its
 * last good record, so records acknowledged before it stay readable; if even
 * that fails, the next write starts a new segment.
 *
 * With `fsync: "always"` a segment is preallocated: zeros are written ahead
 * of the records in steps of {@linkcode WAL_PREALLOC_BYTES}, so most
 * fdatasyncs only flush data and need not commit a new file size and
 * blocks (~20% less time per fdatasync on our ext4 VM). The zero tail ends
 * the records: replay stops there without counting damage, and a closed
 * segment is cut back to its records.
 *
 * @module
 */
import { isNoSpace } from "./_no_space.ts";
import { crc32c } from "./crc32c.ts";
import { ByteReader, ByteWriter } from "./_byte_buf.ts";
import { joinPath, parseWalSegmentName, walSegmentName } from "./filenames.ts";
import { REC_SAMPLES_SYNC, REC_SAMPLES_V2, SampleEncoder, type SampleSource } from "./wal_codec.ts";
import { REC_HISTOGRAMS } from "./wal_histogram.ts";
import type { Labels } from "../model/mod_light.ts";
import { type IdleMemoryHolder, keepsIdleMemory } from "../idle_memory.ts";

/** WAL segment format version (byte 4 of every segment). */
export const WAL_VERSION = 3;
/** Bytes of a segment header: magic "PWAL", version, 3 reserved. */
export const WAL_HEADER_BYTES = 8;
/** Bytes of a record frame before the record: u32 length, u32 CRC-32C. */
export const WAL_FRAME_BYTES = 8;
/** Record type: series definitions. */
export const REC_SERIES = 1;
/** Record type: a sample batch. */
export const REC_SAMPLES = 2;

/** Zeros written ahead of the records of a segment at a time (`fsync: "always"`). */
export const WAL_PREALLOC_BYTES = 1 << 20;

const MAGIC = [0x50, 0x57, 0x41, 0x4c]; // "PWAL"
/** Shared source of the zeros written ahead, a piece at a time; never written to. */
let zeros = new Uint8Array(0);
const ZEROS_PIECE = 64 << 10;

/** Writes `data` fully to `file`; the default {@linkcode WalOptions.write}. */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}

/** Fsyncs a directory so that renames and creations in it are durable. */
export async function fsyncDir(path: string): Promise<void> {
  let f: Deno.FsFile | undefined;
  try {
    f = await Deno.open(path, { read: true });
    await f.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  } finally {
    f?.close();
  }
}

/** Options of {@linkcode Wal.open}. */
export interface WalOptions {
  /** The WAL directory (created when missing). */
  dir: string;
  /** @default "always" */
  fsync?: "always" | "interval";
  /** Period of the background fsync in `interval` mode. @default 1000 */
  fsyncIntervalMs?: number;
  /** A segment is closed and a new one started past this size. @default 8 MiB */
  segmentBytes?: number;
  /** The write function; tests inject faults (a partial write, ENOSPC) here. */
  write?: (file: Deno.FsFile, data: Uint8Array) => Promise<void>;
}

interface Pending {
  rec: Uint8Array | undefined;
  src: SampleSource | undefined;
  onDurable: ((segment: number) => void) | undefined;
  resolve: (segment: number) => void;
  reject: (e: unknown) => void;
}

/** A group buffer larger than this is dropped after its write rather than kept for reuse. */
const KEEP_BUFFER_BYTES = 1 << 20;
/** The group buffer's starting size. */
const WAL_BUF_BYTES = 64 << 10;

/** Counters of one WAL, as plain numbers. */
export interface WalStats {
  segments: number;
  currentSegment: number;
  bytesWritten: number;
  fsyncs: number;
  fsyncSecondsSum: number;
  records: number;
  writeErrors: number;
}

/** The header that starts every segment this version writes. */
function segmentHeader(): Uint8Array {
  const hdr = new Uint8Array(WAL_HEADER_BYTES);
  hdr.set(MAGIC);
  hdr[4] = WAL_VERSION;
  return hdr;
}

/** An open WAL accepting appends to its newest segment. */
export class Wal implements IdleMemoryHolder {
  readonly #dir: string;
  readonly #fsync: "always" | "interval";
  readonly #segmentBytes: number;
  readonly #write: (file: Deno.FsFile, data: Uint8Array) => Promise<void>;
  #file!: Deno.FsFile;
  /** False after a rotation closed the old segment but could not open the next. */
  #fileOpen = false;
  #seg = 0;
  /** End of the records in the current segment. */
  #size = 0;
  /** End of the file: `#size` plus the zeros written ahead. */
  #allocated = 0;
  /** The file offset the next write goes to (-1: unknown). */
  #filePos = 0;
  /** Zeros are written ahead (`fsync: "always"`, until the disk is full). */
  #preallocate = false;
  #segments = new Set<number>();
  #pending: Pending[] = [];
  /**
   * The group being written is encoded here; reused while small, and made
   * small again by the reclaim after bursts (see {@linkcode releaseIdle}).
   */
  #buf = new ByteWriter(WAL_BUF_BYTES);
  /** Per-segment state of compressed samples records. */
  #enc = new SampleEncoder();
  #scheduled = false;
  /**
   * A group written and fsynced whose appends are not settled yet: with the
   * next group waiting, its samples go to the head (`onDurable`) while that
   * group's write and fsync run, rather than before they start.
   */
  #durable: { group: Pending[]; segment: number } | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #dirty = false;
  #needRotate = false;
  #closed = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly stats: WalStats = {
    segments: 0,
    currentSegment: 0,
    bytesWritten: 0,
    fsyncs: 0,
    fsyncSecondsSum: 0,
    records: 0,
    writeErrors: 0,
  };

  private constructor(opts: WalOptions) {
    this.#dir = opts.dir;
    this.#fsync = opts.fsync ?? "always";
    this.#segmentBytes = opts.segmentBytes ?? 8 << 20;
    this.#write = opts.write ?? writeAll;
    keepsIdleMemory(this);
  }

  /**
   * Gives back a write buffer grown by large groups (wide remote write
   * requests grow it to 1 MiB), unless a group is encoded in it.
   */
  releaseIdle(): void {
    if (this.#buf.pos === 0 && this.#buf.buf.length > WAL_BUF_BYTES) {
      this.#buf = new ByteWriter(WAL_BUF_BYTES);
    }
  }

  /**
   * Opens the WAL for appending in a new segment after every existing one,
   * or in the newest segment when it holds nothing but its header (a process
   * killed before it wrote a record), so restarts do not pile up empty
   * segments that each later start reads again. Replay existing segments
   * with {@linkcode replayWal} first.
   */
  static async open(opts: WalOptions): Promise<Wal> {
    const wal = new Wal(opts);
    await Deno.mkdir(opts.dir, { recursive: true });
    let max = 0;
    for await (const e of Deno.readDir(opts.dir)) {
      const n = parseWalSegmentName(e.name);
      if (n !== undefined) {
        wal.#segments.add(n);
        if (n > max) max = n;
      }
    }
    try {
      if (!(max > 0 && await wal.#reuseEmptySegment(max))) await wal.#openSegment(max + 1);
    } catch (e) {
      // A full disk must not stop start-up: appends fail (507) until the segment can be made.
      if (!isNoSpace(e)) throw e;
      wal.#seg = max;
      wal.#needRotate = true;
    }
    if (wal.#fsync === "interval") {
      const timer = setInterval(() => {
        if (wal.#dirty && !wal.#closed) wal.#enqueue(() => wal.#sync()).catch(() => {});
      }, opts.fsyncIntervalMs ?? 1000);
      Deno.unrefTimer(timer as unknown as number);
      wal.#timer = timer;
    }
    return wal;
  }

  /** Number of the segment now being written. */
  get currentSegment(): number {
    return this.#seg;
  }

  /** Numbers of all segments on disk, ascending. */
  segments(): number[] {
    return [...this.#segments].sort((a, b) => a - b);
  }

  /** Bytes of the segment being written. */
  get currentSize(): number {
    return this.#size;
  }

  /**
   * Appends one record (type byte + payload, see {@linkcode encodeSamples}).
   * Resolves with the segment number once durable per the fsync policy;
   * `onDurable` runs first, synchronously, in WAL order (the head applies
   * samples there, so head order equals WAL order). Rejects when the write
   * fails; then the record is not in the WAL.
   */
  append(rec: Uint8Array, onDurable?: (segment: number) => void): Promise<number> {
    return this.#push(rec, undefined, onDurable);
  }

  /**
   * Appends a compressed samples record (type 3) of `src`, encoded when the
   * group is written, so `src` must stay unchanged until this resolves or
   * rejects. Otherwise as {@linkcode append}.
   */
  appendSamples(src: SampleSource, onDurable?: (segment: number) => void): Promise<number> {
    return this.#push(undefined, src, onDurable);
  }

  #push(
    rec: Uint8Array | undefined,
    src: SampleSource | undefined,
    onDurable: ((segment: number) => void) | undefined,
  ): Promise<number> {
    if (this.#closed) return Promise.reject(new Error("Cannot append: the WAL is closed"));
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ rec, src, onDurable, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#enqueue(() => this.#writeGroup(), false).catch(() => {});
      }
    });
  }

  /** Closes the current segment and starts the next; resolves with the new number. */
  rotate(): Promise<number> {
    return this.#enqueue(async () => {
      await this.#rotateNow();
      return this.#seg;
    });
  }

  /** Fsyncs the current segment now (a no-op when nothing is unsynced). */
  sync(): Promise<void> {
    return this.#enqueue(() => this.#sync());
  }

  /** Deletes closed segments for which `canDelete(n)` is true; returns how many. */
  removeSegments(canDelete: (segment: number) => boolean): Promise<number> {
    return this.#enqueue(async () => {
      let removed = 0;
      for (const n of this.segments()) {
        if (n === this.#seg || !canDelete(n)) continue;
        await Deno.remove(joinPath(this.#dir, walSegmentName(n))).catch(() => {});
        this.#segments.delete(n);
        removed++;
      }
      this.stats.segments = this.#segments.size;
      return removed;
    });
  }

  /** Total bytes of all segments on disk. */
  async diskBytes(): Promise<number> {
    let total = 0;
    for (const n of this.segments()) {
      try {
        total += (await Deno.stat(joinPath(this.#dir, walSegmentName(n)))).size;
      } catch { /* removed meanwhile */ }
    }
    return total;
  }

  /** Writes what is pending, fsyncs and closes; later appends reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#enqueue(() => this.#sync());
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#chain;
    if (this.#fileOpen) {
      await this.#cutZeros();
      this.#file.close();
    }
    this.#fileOpen = false;
  }

  /**
   * Runs `op` after every operation before it. A durable group not yet
   * settled is settled first, unless `op` is the next group's write, which
   * settles it once its own write is under way.
   */
  #enqueue<T>(op: () => Promise<T>, settleFirst = true): Promise<T> {
    const p = this.#chain.then(() => {
      if (settleFirst) this.#settleDurable();
      return op();
    });
    this.#chain = p.catch(() => {});
    return p;
  }

  /**
   * Runs `onDurable` and resolves each append of the durable group that
   * waits for it, in WAL order. An `onDurable` that throws rejects its append.
   */
  #settleDurable(): void {
    const d = this.#durable;
    if (d === undefined) return;
    this.#durable = undefined;
    for (const g of d.group) {
      try {
        g.onDurable?.(d.segment);
      } catch (e) {
        g.reject(e);
        continue;
      }
      g.resolve(d.segment);
    }
  }

  async #openSegment(n: number): Promise<void> {
    const path = joinPath(this.#dir, walSegmentName(n));
    const file = await Deno.open(path, { create: true, write: true });
    try {
      await file.truncate(0);
      await writeAll(file, segmentHeader());
      await file.syncData();
      await fsyncDir(this.#dir);
    } catch (e) {
      // No space for even a header: leave no half-made segment; the next write tries again.
      file.close();
      await Deno.remove(path).catch(() => {});
      throw e;
    }
    this.#segments.add(n);
    this.#use(file, n, WAL_HEADER_BYTES);
    this.stats.bytesWritten += WAL_HEADER_BYTES;
  }

  /** Makes `file`, segment `n` holding just its header, the one written; its position is `pos`. */
  #use(file: Deno.FsFile, n: number, pos: number): void {
    this.#file = file;
    this.#fileOpen = true;
    this.#seg = n;
    this.#enc.reset();
    this.#size = this.#allocated = WAL_HEADER_BYTES;
    this.#filePos = pos;
    this.#preallocate = this.#fsync === "always";
    this.#dirty = false;
    this.stats.segments = this.#segments.size;
    this.stats.currentSegment = n;
  }

  /**
   * Appends to segment `n` when it is exactly a header of the current
   * version; false otherwise. The directory is fsynced again, in case the
   * process that made the segment died before it did.
   */
  async #reuseEmptySegment(n: number): Promise<boolean> {
    const path = joinPath(this.#dir, walSegmentName(n));
    if ((await Deno.stat(path)).size !== WAL_HEADER_BYTES) return false;
    const hdr = await Deno.readFile(path);
    if (segmentHeader().some((b, i) => hdr[i] !== b)) return false;
    await fsyncDir(this.#dir);
    this.#use(await Deno.open(path, { write: true }), n, 0);
    return true;
  }

  async #rotateNow(): Promise<void> {
    if (this.#fileOpen) {
      await this.#sync().catch(() => {});
      await this.#cutZeros();
      this.#file.close();
      this.#fileOpen = false;
    }
    this.#dirty = false;
    await this.#openSegment(this.#seg + 1);
    this.#needRotate = false;
  }

  async #sync(): Promise<void> {
    if (!this.#dirty || !this.#fileOpen) return;
    const t0 = performance.now();
    await this.#file.syncData();
    this.stats.fsyncs++;
    this.stats.fsyncSecondsSum += (performance.now() - t0) / 1000;
    this.#dirty = false;
  }

  /**
   * Writes zeros after the records, which end at `end`, up to the next
   * multiple of {@linkcode WAL_PREALLOC_BYTES} (at most to the segment
   * size). Best effort: when the disk is full the zeros are cut off again
   * and the segment goes on without them.
   */
  async #writeAhead(end: number): Promise<void> {
    const step = WAL_PREALLOC_BYTES;
    const to = Math.min(this.#segmentBytes, (Math.floor(end / step) + 1) * step);
    if (zeros.length === 0) zeros = new Uint8Array(ZEROS_PIECE);
    try {
      for (let at = end; at < to; at += ZEROS_PIECE) {
        await this.#write(this.#file, zeros.subarray(0, Math.min(ZEROS_PIECE, to - at)));
      }
      this.#allocated = this.#filePos = Math.max(end, to);
    } catch {
      this.#preallocate = false;
      this.#filePos = -1;
      await this.#file.truncate(end).catch(() => {});
      this.#allocated = end;
    }
  }

  /** Cuts the zeros written ahead off the segment being closed (replay would skip them too). */
  async #cutZeros(): Promise<void> {
    if (this.#allocated > this.#size) {
      await this.#file.truncate(this.#size).catch(() => {});
      this.#allocated = this.#size;
    }
  }

  /** Frames every record of `group` into the write buffer; returns its bytes. */
  #encodeGroup(group: Pending[]): Uint8Array {
    const w = this.#buf;
    w.reset();
    for (const g of group) {
      const at = w.pos;
      w.ensure(WAL_FRAME_BYTES);
      w.pos += WAL_FRAME_BYTES;
      if (g.rec) w.bytes(g.rec);
      else this.#enc.encode(w, g.src!);
      const len = w.pos - at - WAL_FRAME_BYTES;
      const b = w.buf;
      b[at] = len & 0xff;
      b[at + 1] = (len >>> 8) & 0xff;
      b[at + 2] = (len >>> 16) & 0xff;
      b[at + 3] = (len >>> 24) & 0xff;
      const crc = crc32c(b, 0, at + WAL_FRAME_BYTES, w.pos);
      b[at + 4] = crc & 0xff;
      b[at + 5] = (crc >>> 8) & 0xff;
      b[at + 6] = (crc >>> 16) & 0xff;
      b[at + 7] = (crc >>> 24) & 0xff;
    }
    return w.view();
  }

  async #writeGroup(): Promise<void> {
    this.#scheduled = false;
    const group = this.#pending;
    this.#pending = [];
    if (group.length === 0) return this.#settleDurable();
    let total = 0;
    try {
      if (this.#needRotate) await this.#rotateNow();
      let buf = this.#encodeGroup(group);
      if (this.#size > WAL_HEADER_BYTES && this.#size + buf.length > this.#segmentBytes) {
        // Start the next segment and encode again against its fresh state.
        await this.#rotateNow();
        buf = this.#encodeGroup(group);
      }
      total = buf.length;
    } catch (e) {
      this.stats.writeErrors++;
      this.#enc.reset();
      this.#needRotate = true;
      this.#settleDurable();
      for (const g of group) g.reject(e);
      return;
    }
    const before = this.#size;
    const io = this.#writeOut(before, total);
    // The group before this one settles (its samples go to the head) while this one's
    // write and fsync run.
    this.#settleDurable();
    try {
      await io;
    } catch (e) {
      this.stats.writeErrors++;
      if (this.#size === before) {
        // Undo a partial write so the segment ends at its last good record.
        await this.#file.truncate(this.#size).catch(() => {});
        this.#allocated = this.#size;
        this.#filePos = -1;
      }
      // The samples encoder counted this group as written: continue in a new segment.
      this.#needRotate = true;
      this.#releaseBuf();
      for (const g of group) g.reject(e);
      return;
    }
    this.#releaseBuf();
    this.stats.bytesWritten += total;
    this.stats.records += group.length;
    this.#durable = { group, segment: this.#seg };
    // Settled now unless the next group's write is queued and can run beside it.
    if (this.#fsync !== "always" || this.#pending.length === 0) this.#settleDurable();
  }

  /** Writes the encoded group (`total` bytes) at `before`, and fsyncs it with `fsync: "always"`. */
  async #writeOut(before: number, total: number): Promise<void> {
    if (this.#filePos !== before) {
      await this.#file.seek(before, Deno.SeekMode.Start);
      this.#filePos = before;
    }
    await this.#write(this.#file, this.#buf.view());
    this.#filePos += total;
    if (before + total > this.#allocated) {
      this.#allocated = before + total;
      // Past the zeros written ahead: write the next step with these records.
      if (this.#preallocate) await this.#writeAhead(before + total);
    }
    this.#size += total;
    this.#dirty = true;
    if (this.#fsync === "always") await this.#sync();
  }

  #releaseBuf(): void {
    if (this.#buf.buf.length > KEEP_BUFFER_BYTES) this.#buf = new ByteWriter(WAL_BUF_BYTES);
    else this.#buf.reset();
  }
}

/** A series definition as logged: numeric ref and labels. */
export interface SeriesDef {
  readonly ref: number;
  readonly labels: Labels;
}

/** Encodes a series-definitions record (type byte included). */
export function encodeSeries(defs: readonly SeriesDef[]): Uint8Array {
  const w = new ByteWriter(64 * defs.length + 8);
  w.u8(REC_SERIES);
  w.uvarint(defs.length);
  for (const d of defs) {
    w.uvarint(d.ref);
    w.labels(d.labels);
  }
  return w.copy();
}

/** Decodes the payload of a series record (after the type byte). */
export function decodeSeries(r: ByteReader): SeriesDef[] {
  const n = r.uvarint();
  const out: SeriesDef[] = [];
  for (let i = 0; i < n; i++) {
    const ref = r.uvarint();
    out.push({ ref, labels: r.labels() });
  }
  return out;
}

/**
 * Encodes a samples record (type byte included) from columns [0, n):
 * timestamps as zig-zag varint deltas from the first one when they are
 * integers, else raw float64; values as raw float64 (bits kept).
 */
export function encodeSamples(
  refs: Uint32Array | Int32Array | number[],
  t: Float64Array,
  v: Float64Array,
  n: number,
): Uint8Array {
  const w = new ByteWriter(16 + n * 12);
  const base = n > 0 ? t[0] : 0;
  let raw = !Number.isInteger(base);
  for (let i = 0; i < n && !raw; i++) {
    const d = t[i] - base;
    if (!Number.isInteger(t[i]) || Math.abs(d) >= 2 ** 51) raw = true;
  }
  w.u8(REC_SAMPLES);
  w.u8(raw ? 1 : 0);
  w.uvarint(n);
  w.f64(base);
  for (let i = 0; i < n; i++) {
    w.uvarint(refs[i]);
    if (raw) w.f64(t[i]);
    else w.varint(t[i] - base);
    w.f64(v[i]);
  }
  return w.copy();
}

/** Decoded columns of a samples record. */
export interface SamplesColumns {
  n: number;
  refs: Uint32Array;
  t: Float64Array;
  v: Float64Array;
}

/** Decodes the payload of a samples record (after the type byte). */
export function decodeSamples(r: ByteReader): SamplesColumns {
  const raw = r.u8() === 1;
  const n = r.uvarint();
  const base = r.f64();
  const refs = new Uint32Array(n), t = new Float64Array(n), v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    refs[i] = r.uvarint();
    t[i] = raw ? r.f64() : base + r.varint();
    v[i] = r.f64();
  }
  return { n, refs, t, v };
}

/** Cuts the file at `path` to `size` bytes, durably. */
async function truncateFile(path: string, size: number): Promise<void> {
  const w = await Deno.open(path, { write: true });
  try {
    await w.truncate(size);
    await w.syncData();
  } finally {
    w.close();
  }
}

/** Segment versions replay accepts. */
const READ_VERSIONS = [1, 2, WAL_VERSION];
/** Replay reads segments in pieces of this size (plus any record that is larger). */
const READ_PIECE = 256 << 10;

/**
 * Reads a file front to back through one reusable buffer, so replay holds
 * one piece of a segment rather than the whole file.
 */
class SegmentReader {
  #buf = new Uint8Array(READ_PIECE);
  #start = 0;
  #end = 0;
  #eof = false;
  #file: Deno.FsFile | undefined;

  start(f: Deno.FsFile): void {
    this.#file = f;
    this.#start = this.#end = 0;
    this.#eof = false;
    if (this.#buf.length > 4 * READ_PIECE) this.#buf = new Uint8Array(READ_PIECE);
  }

  get available(): number {
    return this.#end - this.#start;
  }

  /** The next `n` bytes (a view valid until the next call), or undefined at end of file. */
  async need(n: number): Promise<Uint8Array | undefined> {
    while (this.#end - this.#start < n && !this.#eof) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (this.#buf.length < n) {
        const b = new Uint8Array(Math.max(n, this.#buf.length * 2));
        b.set(this.#buf.subarray(0, this.#end));
        this.#buf = b;
      }
      const got = await this.#file!.read(this.#buf.subarray(this.#end));
      if (got === null) this.#eof = true;
      else this.#end += got;
    }
    if (this.#end - this.#start < n) return undefined;
    return this.#buf.subarray(this.#start, this.#start + n);
  }

  consume(n: number): void {
    this.#start += n;
  }
}

/**
 * Offset just past the last nonzero byte of `f` (`size` bytes): a segment's
 * records end at or before it, and from there on it holds only the zeros
 * written ahead. Leaves the file position at 0.
 */
async function endOfData(f: Deno.FsFile, size: number): Promise<number> {
  // A segment without zeros written ahead ends in its last record: a small read finds it.
  let end = size, piece = 4096;
  try {
    while (end > 0) {
      const from = Math.max(0, end - piece);
      piece = READ_PIECE;
      await f.seek(from, Deno.SeekMode.Start);
      const part = new Uint8Array(end - from);
      for (let got = 0; got < part.length;) {
        const k = await f.read(part.subarray(got));
        if (k === null) return end; // Shorter than stat said: read it as it is.
        got += k;
      }
      for (let i = part.length - 1; i >= 0; i--) if (part[i] !== 0) return from + i + 1;
      end = from;
    }
    return 0;
  } finally {
    await f.seek(0, Deno.SeekMode.Start);
  }
}

/** A damaged stretch of a segment that replay skipped. */
export interface WalDamage {
  segment: number;
  /** Byte offset of the first unreadable byte. */
  offset: number;
  /** Unreadable bytes skipped (frames that failed their length or CRC check). */
  bytes: number;
  /**
   * Intact records skipped after the damage because they are coded against
   * state the damaged bytes held (until the next sync point).
   */
  records: number;
  /** Samples in those intact records: known losses (the damaged bytes held more). */
  samples: number;
  /** The damage ran to the end of the newest segment, which was cut there (a torn write). */
  tail: boolean;
}

/** What {@linkcode replayWal} found. */
export interface ReplayResult {
  segments: number;
  records: number;
  /** Bytes cut from the end of the last segment (a torn write). */
  truncatedBytes: number;
  /** Segments with damage before their end (reading went on after it). */
  corruptSegments: number[];
  /** Every damaged stretch, in WAL order. */
  damage: WalDamage[];
}

/** Record types replay knows; anything else with a good CRC is treated as damage. */
const KNOWN_TYPES = new Set([
  REC_SERIES,
  REC_SAMPLES,
  REC_SAMPLES_V2,
  REC_SAMPLES_SYNC,
  REC_HISTOGRAMS,
]);

/** Number of samples a samples record says it holds (its first varint), or 0. */
function samplesIn(rec: Uint8Array): number {
  const type = rec[WAL_FRAME_BYTES];
  try {
    if (type === REC_SAMPLES_V2 || type === REC_SAMPLES_SYNC) {
      return new ByteReader(rec, WAL_FRAME_BYTES + 1).uvarint();
    }
    if (type === REC_SAMPLES || type === REC_HISTOGRAMS) {
      // A flags byte, then the count.
      const r = new ByteReader(rec, WAL_FRAME_BYTES + 2);
      return r.uvarint();
    }
  } catch { /* unreadable count */ }
  return 0;
}

/**
 * Reads every segment in order and calls `onRecord(type, reader, segment)`
 * per good record.
 *
 * Damage is skipped, not fatal: a frame whose length or CRC-32C is wrong
 * starts a damaged stretch, and reading resumes at the next offset where a
 * whole frame with a known type checks out. Compressed samples records
 * (type 3) after damage depend on state the damaged bytes may have changed,
 * so they are skipped (and counted) until the next sync point (type 4, or a
 * self-contained type 2 record); series definitions are always applied. A
 * stretch that runs to the end of the newest segment is a torn write: the
 * file is cut there. `onRecord` errors count as damage at that record.
 * Zeros after the records (written ahead by {@linkcode Wal}) end a segment
 * cleanly and are cut off; damage followed only by zeros is a torn write.
 */
export async function replayWal(
  dir: string,
  onRecord: (type: number, r: ByteReader, segment: number) => void,
  log?: (msg: string, fields: Record<string, unknown>) => void,
): Promise<ReplayResult> {
  const res: ReplayResult = {
    segments: 0,
    records: 0,
    truncatedBytes: 0,
    corruptSegments: [],
    damage: [],
  };
  const nums: number[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const n = parseWalSegmentName(e.name);
      if (n !== undefined) nums.push(n);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return res;
    throw e;
  }
  nums.sort((a, b) => a - b);
  const reader = new SegmentReader();
  for (let si = 0; si < nums.length; si++) {
    const seg = nums[si];
    const path = joinPath(dir, walSegmentName(seg));
    res.segments++;
    const last = si === nums.length - 1;
    const f = await Deno.open(path, { read: true });
    let pos = 0, size = 0, dataEnd = 0;
    let cutAt = -1;
    /** Where the zeros written ahead start (-1: none), cut off quietly. */
    let zerosAt = -1;
    const found: WalDamage[] = [];
    let cur: WalDamage | undefined;
    let needSync = false;
    /** Starts (or extends) a damaged stretch at `pos` and scans for the next good frame. */
    const skipDamage = async (): Promise<boolean> => {
      found.push(
        cur = { segment: seg, offset: pos, bytes: 0, records: 0, samples: 0, tail: false },
      );
      needSync = true;
      for (;;) {
        reader.consume(1);
        pos++;
        cur.bytes++;
        if (pos >= dataEnd) return false; // Only zeros written ahead follow.
        const fr = await reader.need(WAL_FRAME_BYTES + 1);
        if (fr === undefined) {
          cur.bytes += reader.available;
          return false;
        }
        const len = fr[0] | (fr[1] << 8) | (fr[2] << 16) | (fr[3] * 2 ** 24);
        if (len === 0 || pos + WAL_FRAME_BYTES + len > size || !KNOWN_TYPES.has(fr[8])) continue;
        const rec = await reader.need(WAL_FRAME_BYTES + len);
        const crc = (fr[4] | (fr[5] << 8) | (fr[6] << 16) | (fr[7] << 24)) >>> 0;
        if (rec !== undefined && crc32c(rec, 0, WAL_FRAME_BYTES) === crc) return true;
      }
    };
    try {
      size = (await f.stat()).size;
      dataEnd = await endOfData(f, size);
      reader.start(f);
      const hdr = await reader.need(WAL_HEADER_BYTES);
      if (hdr === undefined) {
        cutAt = 0;
      } else {
        if (MAGIC.some((b, i) => hdr[i] !== b) || !READ_VERSIONS.includes(hdr[4])) {
          // A damaged header: the records after it may still be good.
          found.push({
            segment: seg,
            offset: 0,
            bytes: WAL_HEADER_BYTES,
            records: 0,
            samples: 0,
            tail: false,
          });
        }
        pos = WAL_HEADER_BYTES;
        reader.consume(WAL_HEADER_BYTES);
      }
      while (cutAt < 0) {
        if (pos >= dataEnd && pos < size) {
          zerosAt = pos; // The records end here; the rest was written ahead.
          break;
        }
        const frame = await reader.need(WAL_FRAME_BYTES);
        if (frame === undefined) {
          if (reader.available > 0) {
            if (!(await skipDamage())) {
              cutAt = cur!.offset;
              break;
            }
            continue;
          }
          break;
        }
        const len = frame[0] | (frame[1] << 8) | (frame[2] << 16) | (frame[3] * 2 ** 24);
        const crc = (frame[4] | (frame[5] << 8) | (frame[6] << 16) | (frame[7] << 24)) >>> 0;
        let rec: Uint8Array | undefined;
        if (len !== 0 && pos + WAL_FRAME_BYTES + len <= size) {
          rec = await reader.need(WAL_FRAME_BYTES + len);
          if (rec !== undefined && crc32c(rec, 0, WAL_FRAME_BYTES) !== crc) rec = undefined;
        }
        if (rec === undefined || !KNOWN_TYPES.has(rec[WAL_FRAME_BYTES])) {
          if (!(await skipDamage())) {
            cutAt = cur!.offset;
            break;
          }
          continue;
        }
        const type = rec[WAL_FRAME_BYTES];
        if (type === REC_SAMPLES_SYNC || type === REC_SAMPLES) {
          needSync = false;
          cur = undefined;
        }
        if (needSync && type === REC_SAMPLES_V2) {
          cur!.records++;
          cur!.samples += samplesIn(rec);
        } else {
          try {
            onRecord(type, new ByteReader(rec, WAL_FRAME_BYTES + 1), seg);
            res.records++;
          } catch (e) {
            log?.("WAL record cannot be applied", { segment: seg, offset: pos, error: String(e) });
            found.push(
              cur = {
                segment: seg,
                offset: pos,
                bytes: WAL_FRAME_BYTES + len,
                records: 0,
                samples: samplesIn(rec),
                tail: false,
              },
            );
            if (type === REC_SAMPLES_V2 || type === REC_SAMPLES_SYNC) needSync = true;
          }
        }
        reader.consume(WAL_FRAME_BYTES + len);
        pos += WAL_FRAME_BYTES + len;
      }
    } finally {
      f.close();
    }
    if (cutAt >= 0 && last) {
      const d = found[found.length - 1];
      if (d && d.offset === cutAt) d.tail = true;
      res.truncatedBytes += size - cutAt;
      log?.("WAL torn tail truncated", { segment: seg, offset: cutAt, bytes: size - cutAt });
      await truncateFile(path, cutAt);
    } else if (zerosAt >= 0) {
      await truncateFile(path, zerosAt);
    }
    for (const d of found) {
      res.damage.push(d);
      if (!d.tail) {
        log?.("WAL damage skipped", { ...d });
      }
    }
    if (found.some((d) => !d.tail)) res.corruptSegments.push(seg);
  }
  return res;
}
