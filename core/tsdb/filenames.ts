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
 *   quarantine/000001.blk   a block that failed its checksum, moved aside, never served
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

/** Top-level key prefix of everything the storage engine keeps in Deno KV. */
export const KV_PREFIX = "tsdb";

/** File name of WAL segment `n` (n ≥ 1). */
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

/** Joins path parts with "/" (Deno accepts "/" on every platform). */
export function joinPath(...parts: string[]): string {
  return parts.join("/");
}
