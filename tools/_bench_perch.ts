/**
 * Perch as the benchmarks start it beside VictoriaMetrics and Prometheus,
 * shared by tools/footprint_bench.ts, tools/query_bench.ts,
 * tools/restart_bench.ts and tools/rss_whole.ts.
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

/** How to run a checkout's Perch bundled ({@linkcode bundlePerch}). */
export interface BundledPerch {
  /** The bundle of main.ts. */
  readonly script: string;
  /** `deno run` flags before the script (V8 flags not included). */
  readonly runArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Bundles a checkout's `main.ts` into `<into>/perch.js` (`deno bundle`) and
 * its block worker beside it, where the block writer looks for it
 * (`./block_worker.ts` next to the module that starts it, here the bundle).
 * This is the closest to the compiled binary that runs offline: `deno
 * compile` keeps each module's source map apart from the source V8 holds,
 * while `deno run main.ts` hands V8 every transpiled module with its source
 * map inline (~7.5 MB of the JS heap for Perch's own modules). The bundle
 * runs as tests/bundle_test.ts runs it, with no config file or package.json
 * in reach; its V8 code cache lives in a Deno dir of its own under `into`
 * (a shared one gained an entry per bundle and run, its path new each time).
 */
export async function bundlePerch(main: string, into: string): Promise<BundledPerch> {
  const cwd = new URL(".", `file://${main}`).pathname;
  const bundle = async (entry: string, out: string) => {
    const b = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform=deno", "-o", out, entry],
      cwd,
      stderr: "piped",
    }).output();
    if (!b.success) {
      throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(b.stderr)}`);
    }
  };
  await bundle(main, `${into}/perch.js`);
  await bundle(`${cwd}core/tsdb/block_worker.ts`, `${into}/block_worker.ts`);
  return bundledPerchAt(into);
}

/** How to run the bundle {@linkcode bundlePerch} made in `into` (again). */
export function bundledPerchAt(into: string): BundledPerch {
  return {
    script: `${into}/perch.js`,
    runArgs: ["--no-config", "--no-lock", "--unstable-kv"],
    env: { DENO_NO_PACKAGE_JSON: "1", DENO_DIR: `${into}/deno_dir` },
  };
}
