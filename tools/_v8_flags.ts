/**
 * The V8 flags Perch ships with: `deno task start` (deno.json) and the
 * compiled binary (tools/compile.ts) run with them, and the benchmarks start
 * Perch with them by default, so what they measure is what users run. A
 * small young generation keeps RSS low under ingest without slowing it;
 * `--expose-gc` gives the reclaim after bursts its `gc()`
 * (core/selfmon/reclaim.ts). tests/hygiene_test.ts checks that deno.json agrees.
 *
 * @module
 */

/** Comma-separated, as `--v8-flags=` takes them. */
export const PERCH_V8_FLAGS = "--max-semi-space-size=1,--expose-gc";
