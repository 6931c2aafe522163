/**
 * Perch as the benchmarks start it beside VictoriaMetrics and Prometheus,
 * shared by tools/footprint_bench.ts, tools/query_bench.ts and
 * tools/rss_whole.ts.
 *
 * @module
 */
import { type PerchProcess, type SpawnOptions, spawnWithConfig } from "../tests/_perch.ts";

/**
 * Starts Perch with the config `<dir>/perch.yml` and its data in
 * `<dir>/data` (kept when `dir` holds them already: a restart), set up as
 * the peers run: raw samples only (no downsampling levels; a list cannot
 * come from the environment) and no host collector (the peers do not
 * collect the host; it adds ~420 series and ~10 MiB to Perch's side).
 */
export function spawnBenchPerch(dir: string, opts: SpawnOptions = {}): Promise<PerchProcess> {
  return spawnWithConfig(
    "storage:\n  downsampling: []\nhost_metrics:\n  enabled: false\n",
    { ...opts, dir },
  );
}
