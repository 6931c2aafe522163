/**
 * The two system calls the host collector needs that no file in /proc or
 * /sys answers, `adjtimex(2)` and `statfs(2)`, called through libc with
 * Deno's FFI: no subprocess, and no `node:fs` (loading it costs about
 * 3 MiB of resident memory). libc is opened once; without FFI permission or
 * off 64-bit Linux {@linkcode openLibc} returns undefined and callers fall
 * back (statfs through `node:fs`, timex series left out).
 *
 * Structure layouts are those of LP64 Linux (x86_64 and aarch64, the only
 * Linux targets Deno ships): `long` fields are 8 bytes.
 *
 * @module
 */

const SYMBOLS = {
  adjtimex: { parameters: ["buffer"], result: "i32" },
  getpagesize: { parameters: [], result: "i32" },
  // statfs(const char *path, struct statfs *buf) on a worker thread: a hung
  // network mount must not block the event loop.
  statfs: { parameters: ["buffer", "buffer"], result: "i32", nonblocking: true },
} as const;

/** The opened symbols. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let opened: Libc | null | undefined;

/** libc's symbols, or undefined when FFI is unavailable here. */
export function openLibc(): Libc | undefined {
  if (opened === undefined) {
    opened = null;
    if (
      Deno.build.os === "linux" && (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64")
    ) {
      try {
        opened = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
      } catch {
        // No --allow-ffi, or no glibc.
      }
    }
  }
  return opened ?? undefined;
}

/** `sizeof(struct statfs)` on LP64 Linux. */
const STATFS_SIZE = 120;

/** The statfs fields the filesystem collector reads. */
export interface StatFsResult {
  readonly bsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
}

/** Decodes `struct statfs`: f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, ... */
export function decodeStatfs(buf: Uint8Array): StatFsResult {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u = (off: number) => Number(dv.getBigUint64(off, true));
  return {
    bsize: u(8),
    blocks: u(16),
    bfree: u(24),
    bavail: u(32),
    files: u(40),
    ffree: u(48),
  };
}

/** statfs(2) through libc; rejects with the errno's name on failure. */
export async function libcStatfs(libc: Libc, path: string): Promise<StatFsResult> {
  const cpath = new TextEncoder().encode(`${path}\0`);
  const buf = new Uint8Array(STATFS_SIZE);
  const r = await libc.statfs(cpath, buf);
  if (r !== 0) throw new Error(`statfs ${path} failed`);
  return decodeStatfs(buf);
}
