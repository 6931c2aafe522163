/**
 * Every on-disk name of the storage engine, in one place (as VictoriaMetrics'
 * `lib/storage/filenames.go`). See FORMAT.md for what each file holds.
 *
 * ```
 * <dir>/
 *   wal/00000001.wal        WAL segments, numbered from 1, replayed in order
 *   blocks/000001.blk       immutable block files, numbered by a sequence that never repeats
 *   blocks/000001.blk.tmp   a block being written (dropped on open)
 *   blocks/000001.blk.del   a block marked for deletion (removed after the grace period)
 *   hist/<lo>_<hi>.hist     native histograms of [lo, hi) ms (a block window or a compacted one)
 *   hist/<lo>_<hi>_<res>.hist  the same, downsampled to one histogram per <res> ms (plus resets)
 *   hist/<window>.hist      a histogram file of format version 1 (one block window)
 *   quarantine/000001.blk   a block that failed its checksum, moved aside, never served
 *   quarantine/hist/<name>  a histogram file that failed its checks, moved aside, never served
 *   quarantine/index.kv.<time>  a damaged KV file (or incidents.json) moved aside at open
 *   index.kv                the Deno KV database (series index, metadata, block list)
 *   incidents.json          what recovery skipped, quarantined or rebuilt, until acknowledged
 * ```
 *
 * @module
 */

/** Directory of WAL segments. */
export const WAL_DIR = "wal";
/** Directory of block files. */
export const BLOCKS_DIR = "blocks";
/** Directory where corrupt blocks are moved. */
export const QUARANTINE_DIR = "quarantine";
/** The Deno KV database file when no KV is passed in. */
export const KV_FILE = "index.kv";
/** Storage incidents not yet acknowledged (recovery.ts). */
export const INCIDENTS_FILE = "incidents.json";
/** Suffix of a file being written; such files are dropped on open. */
export const TMP_SUFFIX = ".tmp";
/** Suffix of a block marked for deletion (phase one of the two-phase delete). */
export const DELETED_SUFFIX = ".del";
/** Suffix of WAL segment files. */
export const WAL_SUFFIX = ".wal";
/** Suffix of block files. */
export const BLOCK_SUFFIX = ".blk";

/** Directory of native histogram files. */
export const HIST_DIR = "hist";
/** Suffix of native histogram files. */
export const HIST_SUFFIX = ".hist";

/** Top-level key prefix of everything the storage engine keeps in Deno KV. */
export const KV_PREFIX = "tsdb";

/** File name of WAL segment `n` (n >= 1). */
export function walSegmentName(n: number): string {
  return String(n).padStart(8, "0") + WAL_SUFFIX;
}

/** Segment number of a WAL file name, or undefined when it is not one. */
export function parseWalSegmentName(name: string): number | undefined {
  const m = /^(\d{8,})\.wal$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** File name of block `seq`. */
export function blockFileName(seq: number): string {
  return String(seq).padStart(6, "0") + BLOCK_SUFFIX;
}

/** Sequence number of a block file name, or undefined when it is not one. */
export function parseBlockFileName(name: string): number | undefined {
  const m = /^(\d{6,})\.blk$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Identity of a histogram file of format version 2: its time range [lo, hi) and resolution. */
export interface HistFileId {
  /** Inclusive start, ms. */
  readonly lo: number;
  /** Exclusive end, ms. */
  readonly hi: number;
  /** Downsampling resolution in ms; 0 = raw samples. */
  readonly resolution: number;
}

/** File name of the histogram file of [lo, hi) at `resolution` (0 = raw). */
export function histFileName(id: HistFileId): string {
  return `${id.lo}_${id.hi}${id.resolution > 0 ? `_${id.resolution}` : ""}${HIST_SUFFIX}`;
}

/**
 * What a histogram file name says: a version 2 identity, or the block window
 * of a version 1 file (`<window>.hist`); undefined when it is neither.
 */
export function parseHistFileName(name: string): HistFileId | { window: number } | undefined {
  let m = /^(-?\d+)_(-?\d+)(?:_(\d+))?\.hist$/.exec(name);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]), resolution: Number(m[3] ?? 0) };
  m = /^(-?\d+)\.hist$/.exec(name);
  return m ? { window: Number(m[1]) } : undefined;
}

/** Joins path parts with "/" (Deno accepts "/" on every platform). */
export function joinPath(...parts: string[]): string {
  return parts.join("/");
}
