/**
 * Paired before/after of the remote write ingest: Perch from another
 * checkout (`--base`, e.g. a `git worktree add --detach` of the commit
 * before a change) and this checkout, one at a time on fresh data, the
 * order alternating by round, so a busy machine slows both alike and the
 * system fed first has no edge:
 *
 *   deno run -A tools/ingest_ab.ts --base=DIR [--rounds=8] [--workload=edge|wide]
 *
 * Per round and system: server CPU for the ingest (whole process and its
 * main thread alone: the worker's block encoding and V8's helper threads
 * vary with when flushes land), CPU up to the end of an admin flush after
 * it (all block encoding included), samples/s and peak RSS (VmHWM reset
 * before the ingest). Medians and the median of the per-round ratios are
 * printed at the end. Workloads as in tools/footprint_bench.ts.
 *
 * @module
 */
import { mainThreadCpuSeconds, procCpuSeconds, procMem, resetPeakRss } from "../tests/_perch.ts";
import { pushConcurrently } from "../tests/_remote_write.ts";
import { spawnBenchPerch } from "./_bench_perch.ts";
import { edgeBodies } from "./_queries.ts";
import { PERCH_V8_FLAGS } from "./_v8_flags.ts";
import { arg } from "./_args.ts";

const base = arg("base", "");
if (base === "") throw new Error("--base=DIR (a checkout of the commit to compare with) is needed");
const rounds = Number(arg("rounds", "8"));
const wide = arg("workload", "edge") === "wide";
const w = wide ? edgeBodies(1000, 1) : edgeBodies(100, 6);

interface Runs {
  cpu: number[];
  main: number[];
  flush: number[];
  rate: number[];
  peak: number[];
}
const runs = (): Runs => ({ cpu: [], main: [], flush: [], rate: [], peak: [] });
const res = { base: runs(), new: runs() };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function feed(which: "base" | "new"): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "perch-ingest-ab-" });
  const opts = {
    env: { PERCH_STORAGE__RETENTION: "0" },
    runArgs: [`--v8-flags=${PERCH_V8_FLAGS}`],
  };
  const p = await spawnBenchPerch(
    dir,
    which === "base" ? { ...opts, script: `${base}/main.ts`, cwd: base } : opts,
  );
  try {
    await new Promise((ok) => setTimeout(ok, 2000));
    const pid = p.process.pid;
    resetPeakRss(pid);
    const c0 = procCpuSeconds(pid), m0 = mainThreadCpuSeconds(pid);
    const secs = await pushConcurrently(p.url, w.bodies);
    const c1 = procCpuSeconds(pid), m1 = mainThreadCpuSeconds(pid);
    const peak = procMem(pid).VmHWM!;
    const r = await fetch(`${p.url}/api/v1/admin/tsdb/flush`, { method: "POST" });
    await r.body?.cancel();
    const x = res[which];
    x.cpu.push(c1 - c0);
    x.main.push(m1 - m0);
    x.flush.push(procCpuSeconds(pid) - c0);
    x.rate.push(w.samples / secs / 1e6);
    x.peak.push(peak);
  } finally {
    await p.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const row = (x: Runs, i: number) =>
  `cpu ${x.cpu[i]!.toFixed(2)} s (main ${x.main[i]!.toFixed(2)}), +flush ${
    x.flush[i]!.toFixed(2)
  } s, ${x.rate[i]!.toFixed(2)} M/s, peak ${x.peak[i]} MiB`;
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? ["base", "new"] as const : ["new", "base"] as const;
  for (const which of order) await feed(which);
  console.log(`round ${r} (${order[0]} first): base ${row(res.base, r)} | new ${row(res.new, r)}`);
}
const line = (x: Runs) =>
  `cpu ${median(x.cpu).toFixed(2)} s (main ${median(x.main).toFixed(2)}), +flush ${
    median(x.flush).toFixed(2)
  } s, ${median(x.rate).toFixed(2)} M/s, peak ${median(x.peak)} MiB`;
const ratio = (f: (x: Runs) => number[]) =>
  median(f(res.new).map((v, i) => v / f(res.base)[i]!)).toFixed(3);
console.log(`${wide ? "wide" : "edge"}, medians of ${rounds} rounds:`);
console.log(`  base ${line(res.base)}`);
console.log(`  new  ${line(res.new)}`);
console.log(
  `  new/base per round (median): cpu ${ratio((x) => x.cpu)}, main thread ${
    ratio((x) => x.main)
  }, +flush ${ratio((x) => x.flush)}, samples/s ${ratio((x) => x.rate)}, peak ${
    ratio((x) => x.peak)
  }`,
);
