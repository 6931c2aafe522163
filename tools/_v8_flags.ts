/**
 * The V8 flags Perch ships with: `deno task start` (deno.json) and the
 * compiled binary (tools/compile.ts) run with them, and the benchmarks start
 * Perch with them by default, so what they measure is what users run.
 *
 * - `--max-semi-space-size=1`: a small young generation keeps RSS low under
 *   ingest without slowing it.
 * - `--heap-growing-percent=30`: after each full collection the old
 *   generation may grow by 30 % before the next one. V8 picks that factor
 *   itself (1.1 to 4) and caps it by the heap's maximum size, which it
 *   derives from the host's RAM: on a 1 GB box the cap is 1.3–1.4, on the
 *   2-core 24 GiB machines we measure on it is 4, and there the garbage of
 *   a query round (20,000 series) stayed resident up to ~2× the live heap.
 *   Fixed at the small box's figure, Perch behaves everywhere as on the box
 *   it is built for (tools/footprint_bench.ts, same-run pairs: wide peak RSS
 *   ~230 → ~190 MiB, right after the query round ~255 → ~170 MiB; ingest
 *   CPU +2–15 %).
 * - `--expose-gc` gives the reclaim after bursts its `gc()`
 *   (core/selfmon/reclaim.ts).
 *
 * tests/hygiene_test.ts checks that deno.json agrees.
 *
 * @module
 */

/** Comma-separated, as `--v8-flags=` takes them. */
export const PERCH_V8_FLAGS = "--max-semi-space-size=1,--heap-growing-percent=30,--expose-gc";
