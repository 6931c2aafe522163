/**
 * Finds what SQLite's recovery would drop without a word from a KV file's
 * write-ahead log (`<file>-wal`). SQLite applies WAL frames in order up to
 * the first one that fails its checksum and ignores everything after it,
 * and ignores the whole log when its header fails: a flipped byte or a
 * zeroed page early in `state.kv-wal` silently loses every dashboard,
 * silence and alert change committed after it. This reads the log as
 * SQLite's recovery does (the format: https://www.sqlite.org/fileformat.html,
 * "The WAL File Format") and then looks past the break for intact commit
 * frames of the same log generation: committed transactions the recovery
 * will not apply.
 *
 * Frames past the break are checked against the checksum stored in the
 * frame before them (the chain is cumulative), so one damaged frame does not
 * hide the intact ones after it. A log shorter than SQLite's wal-index says
 * is damage too; a write interrupted by a kill or a full disk is not (see
 * {@linkcode SqliteWalCheck.damaged}).
 *
 * @module
 */

const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;
const HEADER = 32;
const FRAME_HEADER = 24;

/** What {@linkcode checkSqliteWal} found. */
export interface SqliteWalCheck {
  /** Frames SQLite's recovery applies (up to and including the last good commit). */
  readonly applied: number;
  /**
   * Byte offset where recovery stops at a frame of this log that fails its
   * checksum (or 0 for a damaged header), or -1. Frames of an older log after
   * this one's end are its normal end, not a break.
   */
  readonly brokenAt: number;
  /**
   * Whether recovery will lose something that was committed: intact commits
   * past the break, or fewer frames than SQLite's wal-index (`-shm`) says
   * were committed (a log cut short). A failing or cut-short last frame
   * alone is what a write interrupted by a kill or refused by a full disk
   * leaves; its transaction never committed, so it is not damage.
   */
  readonly damaged: boolean;
  /** Whether the header itself fails (recovery then ignores the whole log). */
  readonly headerDamaged: boolean;
  /** Intact commit frames after the break: committed transactions recovery drops. */
  readonly lostCommits: number;
}

const u32 = (b: Uint8Array, at: number) =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * SQLite's WAL checksum over `b[from, to)` (a multiple of 8 bytes) continuing
 * from `s` (two u32), in the byte order the log's magic names.
 */
function checksum(b: Uint8Array, from: number, to: number, s: [number, number], be: boolean) {
  let s0 = s[0], s1 = s[1];
  if (!be && (b.byteOffset + from) % 4 === 0) {
    // Little-endian words (as x86 and ARM write them): read them whole.
    const w = new Int32Array(b.buffer, b.byteOffset + from, (to - from) >> 2);
    for (let i = 0; i < w.length; i += 2) {
      s0 = (s0 + w[i]! + s1) | 0;
      s1 = (s1 + w[i + 1]! + s0) | 0;
    }
  } else {
    for (let i = from; i < to; i += 8) {
      const x = be ? u32(b, i) : (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
      const y = be
        ? u32(b, i + 4)
        : (b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24));
      s0 = (s0 + x + s1) | 0;
      s1 = (s1 + y + s0) | 0;
    }
  }
  s[0] = s0 >>> 0, s[1] = s1 >>> 0;
}

/**
 * The number of committed frames SQLite's wal-index (`-shm`) records for the
 * log `wal` (its `mxFrame`), or undefined when the index is not to be
 * trusted: its two header copies differ, it is not initialised, or it is of
 * another generation of the log (other salts). Written in the machine's
 * byte order (little-endian here).
 */
export function walIndexFrames(shm: Uint8Array, wal: Uint8Array): number | undefined {
  if (shm.length < 96 || wal.length < HEADER) return undefined;
  for (let i = 0; i < 48; i++) if (shm[i] !== shm[48 + i]) return undefined;
  const v = new DataView(shm.buffer, shm.byteOffset, 48);
  if (v.getUint32(0, true) !== 3007000 || shm[12] !== 1) return undefined;
  for (let i = 0; i < 8; i++) if (shm[32 + i] !== wal[16 + i]) return undefined;
  return v.getUint32(16, true);
}

/**
 * Checks a SQLite WAL file's bytes, with its wal-index (`-shm`) when there
 * is one; see the module doc.
 */
export function checkSqliteWal(b: Uint8Array, shm?: Uint8Array): SqliteWalCheck {
  if (b.length < HEADER) {
    return { applied: 0, brokenAt: -1, headerDamaged: false, lostCommits: 0, damaged: false };
  }
  const magic = u32(b, 0);
  const be = magic === MAGIC_BE;
  const stated = u32(b, 8);
  const pageSize = stated === 1
    ? 65_536
    : stated >= 512 && stated <= 65_536 && (stated & (stated - 1)) === 0
    ? stated
    : 4096;
  const sum: [number, number] = [0, 0];
  checksum(b, 0, 24, sum, be);
  const headerDamaged = (magic !== MAGIC_LE && !be) || u32(b, 4) !== 3007000 ||
    sum[0] !== u32(b, 24) || sum[1] !== u32(b, 28) || stated !== pageSize && stated !== 1;
  const frameSize = FRAME_HEADER + pageSize;
  // The generation's salts: the header's, or the first frame's when the header is damaged.
  const saltAt = headerDamaged && b.length >= HEADER + frameSize ? HEADER + 8 : 16;
  const salt1 = u32(b, saltAt), salt2 = u32(b, saltAt + 4);
  let lastCommit = 0, brokenAt = headerDamaged ? 0 : -1, lostCommits = 0;
  /** Where recovery stops: the break, or the first frame of an older generation (the normal end). */
  let stopAt = brokenAt;
  let at = HEADER;
  for (let i = 0; at + frameSize <= b.length; at += frameSize, i++) {
    const sameGeneration = u32(b, at + 8) === salt1 && u32(b, at + 12) === salt2;
    // Past the stop, each frame is checked against the sum stored before it.
    const s: [number, number] = stopAt < 0
      ? sum
      : at === HEADER
      ? [u32(b, 24), u32(b, 28)]
      : [u32(b, at - frameSize + 16), u32(b, at - frameSize + 20)];
    checksum(b, at, at + 8, s, be);
    checksum(b, at + FRAME_HEADER, at + frameSize, s, be);
    const ok = sameGeneration && s[0] === u32(b, at + 16) && s[1] === u32(b, at + 20);
    const commit = u32(b, at + 4) !== 0;
    if (stopAt >= 0) {
      if (ok && commit) lostCommits++;
    } else if (ok) {
      if (commit) lastCommit = i + 1;
    } else {
      stopAt = at;
      if (sameGeneration) brokenAt = at;
    }
  }
  if (brokenAt < 0 && lostCommits > 0) brokenAt = stopAt; // a damaged salt looked like the end
  const committed = shm && !headerDamaged ? walIndexFrames(shm, b) : undefined;
  const cut = committed !== undefined && committed > lastCommit;
  return {
    applied: lastCommit,
    brokenAt: brokenAt < 0 && cut ? (stopAt < 0 ? at : stopAt) : brokenAt,
    headerDamaged,
    lostCommits,
    damaged: lostCommits > 0 || cut,
  };
}
