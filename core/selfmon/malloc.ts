/**
 * Gives freed native memory back to the system. Deno allocates
 * ArrayBuffer backing stores and its own buffers with glibc malloc. Two
 * glibc habits kept freed memory resident under ingest (the 20,000-series
 * remote write workload of tools/footprint_bench.ts: about 120 MiB of the
 * peak): the mmap threshold rises to the largest block freed so far, so
 * per-request buffers of a few hundred KiB land in the main heap between
 * long-lived small blocks; and free memory inside the heap is only returned
 * when it is at the top. So at start the mmap threshold is fixed at
 * 128 KiB (large buffers are mapped and unmapped on their own), and every
 * {@linkcode TRIM_INTERVAL_MS} `malloc_trim(0)` runs on a worker thread
 * (returning free pages anywhere in the heap; it does not block the event
 * loop).
 *
 * Through Deno's FFI; without FFI permission or off glibc Linux it does
 * nothing.
 *
 * @module
 */

/** glibc's `M_MMAP_THRESHOLD` parameter of `mallopt`. */
const M_MMAP_THRESHOLD = -3;
const MMAP_THRESHOLD = 128 << 10;
/** How often free heap pages are returned. */
export const TRIM_INTERVAL_MS = 10_000;

const SYMBOLS = {
  mallopt: { parameters: ["i32", "i32"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32", nonblocking: true },
} as const;

/** A started trimmer; {@linkcode stop} ends its timer. */
export interface MallocTrimmer {
  /** Returns free heap pages now (resolves when done). */
  trim(): Promise<void>;
  stop(): void;
}

/** Fixes the mmap threshold and trims every `intervalMs`; undefined where unavailable. */
export function startMallocTrimmer(intervalMs = TRIM_INTERVAL_MS): MallocTrimmer | undefined {
  if (Deno.build.os !== "linux") return undefined;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
  } catch {
    return undefined; // No --allow-ffi, or no glibc.
  }
  lib.symbols.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
  let running: Promise<void> | undefined;
  const trim = () =>
    running ??= lib.symbols.malloc_trim(0n).then(() => {}, () => {}).finally(() => {
      running = undefined;
    });
  const timer = setInterval(() => void trim(), intervalMs);
  Deno.unrefTimer(timer);
  return {
    trim,
    stop() {
      clearInterval(timer);
    },
  };
}
