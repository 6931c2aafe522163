/**
 * The kernel clock discipline state (`adjtimex(2)` in read-only mode), which
 * node_exporter's timex collector reports and the "clock not synchronised"
 * alert needs. No file in /proc or /sys carries it, so it is read through
 * libc with Deno's FFI: one call, no subprocess. Without FFI permission or on
 * another platform the reader returns undefined and the timex series are
 * left out.
 *
 * @module
 */
import { openLibc } from "./libc.ts";

/** The fields of `struct timex` node_exporter reports, raw. */
export interface TimexReading {
  /** adjtimex's return value, the clock state (5 = TIME_ERROR: not synchronised). */
  readonly state: number;
  readonly offset: number;
  readonly freq: number;
  readonly maxerror: number;
  readonly esterror: number;
  readonly status: number;
  readonly constant: number;
  readonly tick: number;
  readonly ppsfreq: number;
  readonly jitter: number;
  readonly shift: number;
  readonly stabil: number;
  readonly jitcnt: number;
  readonly calcnt: number;
  readonly errcnt: number;
  readonly stbcnt: number;
  readonly tai: number;
}

/** A function returning the current reading, or undefined when unavailable. */
export type TimexReader = () => TimexReading | undefined;

/** `sizeof(struct timex)` on LP64 Linux (x86_64, aarch64), with room to spare. */
const TIMEX_SIZE = 256;

/**
 * Decodes `struct timex` as laid out on LP64 Linux: `long` fields are 8 bytes
 * and `int` fields 4, padded to 8 (see <sys/timex.h>).
 */
export function decodeTimex(buf: Uint8Array, state: number): TimexReading {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const long = (off: number) => Number(dv.getBigInt64(off, true));
  const int = (off: number) => dv.getInt32(off, true);
  return {
    state,
    offset: long(8),
    freq: long(16),
    maxerror: long(24),
    esterror: long(32),
    status: int(40),
    constant: long(48),
    // precision @56, tolerance @64, time (timeval) @72..88
    tick: long(88),
    ppsfreq: long(96),
    jitter: long(104),
    shift: int(112),
    stabil: long(120),
    jitcnt: long(128),
    calcnt: long(136),
    errcnt: long(144),
    stbcnt: long(152),
    tai: int(160),
  };
}

/**
 * A reader over libc's adjtimex; undefined when FFI is not permitted, libc
 * cannot be opened or the platform is not 64-bit Linux.
 */
export function openTimexReader(): TimexReader | undefined {
  const libc = openLibc();
  if (libc === undefined) return undefined;
  const buf = new Uint8Array(TIMEX_SIZE);
  return () => {
    buf.fill(0); // modes = 0: read only.
    const state = libc.adjtimex(buf);
    if (state < 0) return undefined;
    return decodeTimex(buf, state);
  };
}
