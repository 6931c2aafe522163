/**
 * Issue 19's whole-process table, Perch beside VictoriaMetrics and
 * Prometheus in one run, so the ratios hold on a noisy machine:
 *
 *   deno run -A tools/footprint_bench.ts [--quick] [--workloads=edge,wide]
 *     [--systems=perch,vm,prom] [--idle=45000] [--runs=20]
 *     [--v8=FLAGS (default: tools/_v8_flags.ts)] [--perch-run-args=--cpu-prof,--cpu-prof-dir=DIR]
 *     [--perch-log=FILE] [--base=DIR] [--base-v8=FLAGS] [--bundled[=perch|base]]
 *
 * `--bundled` runs each Perch (or only `perch` or `base`; `--base=.
 * --bundled=base` compares the two ways of running the same code) bundled
 * into one file with its block worker beside it (tools/_bench_perch.ts
 * `bundlePerch`), the closest to the compiled binary that runs offline:
 * `deno run main.ts` also holds every module's inline source map in the JS
 * heap, which the binary keeps apart.
 * `--base=DIR` adds system `base` to the default systems: Perch from
 * another checkout (its main.ts, run in DIR) beside this one, for
 * before/after numbers in one run (`--base-v8`: its V8 flags, default
 * those of `--v8`; `--base=.` compares flags alone).
 * Workloads (remote write over two connections, each owning half of the
 * series, data ending just before now so every system takes it in order):
 * - `edge`: core/tsdb/edge_workload.ts, 100 hosts × 20 metrics = 2,000
 *   series, 6 h at 10 s = 4.32 M samples, ~10,000 samples per request;
 * - `wide`: the same generator with 1,000 hosts = 20,000 series, 1 h =
 *   7.2 M samples, each request one sample for each of 10,000 series (the
 *   shape Prometheus and vmagent send).
 * `--quick` takes 1 h / 15 min and a 5 s idle.
 *
 * Per workload all systems are started, then fed one after the other
 * (server CPU seconds from /proc/<pid>/stat, peak RSS as VmHWM reset just
 * before the ingest), flushed (Perch: admin flush; VictoriaMetrics:
 * /internal/force_flush; Prometheus keeps its head), left idle together,
 * queried (the four queries of tools/query_bench.ts, uncached then cached,
 * medians, the systems taking turns request by request, plus each server's
 * CPU per uncached run; Perch uncached by giving each run its own phase of
 * the step grid, VictoriaMetrics with nocache=1, Prometheus has no cache), measured
 * on disk, then restarted: restart-to-ready is the time from spawn until an
 * instant query returns every series of one metric. Each RSS reading after
 * the ingest also gives its file-backed part (`RssFile`: the executable's
 * and libraries' pages, which the kernel can drop and read again; Deno's
 * executable is most of Perch's). Ratios are against VictoriaMetrics.
 *
 * @module
 */
import { procCpuSeconds as cpuSeconds, procMem, resetPeakRss } from "../tests/_perch.ts";
import {
  PROM_BIN,
  prometheusArgs,
  startPrometheus,
  startVM,
  VM_BIN,
} from "../tests/remote/_peers.ts";
import { requireBinary } from "../tests/_require.ts";
import { type BundledPerch, bundledPerchAt, bundlePerch, spawnBenchPerch } from "./_bench_perch.ts";
import { edgeBodies, QUERIES, queryRangeUrl } from "./_queries.ts";
import { pushConcurrently } from "../tests/_remote_write.ts";
import { PERCH_V8_FLAGS } from "./_v8_flags.ts";
import { arg } from "./_args.ts";

const quick = Deno.args.includes("--quick");
const idleMs = Number(arg("idle", quick ? "5000" : "45000"));
const runs = Number(arg("runs", quick ? "5" : "20"));
const v8Flags = arg("v8", PERCH_V8_FLAGS);
/** V8 flags of the `base` system (default: those of `--v8`). */
const baseV8Flags = arg("base-v8", v8Flags);
/** Extra `deno run` arguments for Perch, comma-separated (e.g. `--cpu-prof,--cpu-prof-dir=/tmp/p`). */
const perchRunArgs = arg("perch-run-args", "").split(",").filter((x) => x !== "");
/** Appends Perch's output (logs, V8 traces) to this file when it stops. */
const perchLog = arg("perch-log", "");
const workloads = arg("workloads", "edge,wide").split(",");
const base = arg("base", "");
/** Which Perch systems run bundled, as close to the compiled binary as runs offline. */
const bundled = Deno.args.includes("--bundled") ? ["perch", "base"] : arg("bundled", "").split(",");
const systems = arg("systems", base ? "base,perch,vm,prom" : "perch,vm,prom").split(",");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function duBytes(path: string): number {
  let n = 0;
  const walk = (p: string) => {
    for (const e of Deno.readDirSync(p)) {
      const q = `${p}/${e.name}`;
      if (e.isDirectory) walk(q);
      else if (e.isFile) n += Deno.statSync(q).size;
    }
  };
  walk(path);
  return n;
}

interface Workload {
  name: string;
  bodies: Uint8Array[][];
  samples: number;
  series: number;
  end: number;
  /** Series of one metric (readiness check). */
  perMetric: number;
}

function buildWorkload(name: string): Workload {
  const wide = name === "wide";
  const hosts = wide ? 1000 : 100;
  const hours = wide ? (quick ? 0.25 : 1) : (quick ? 1 : 6);
  return { name, ...edgeBodies(hosts, hours), perMetric: hosts };
}

/** A system under test: start (fresh or on its data), flush, data path. */
interface System {
  name: string;
  url: string;
  pid: number;
  dataPath: string;
  flush(): Promise<void>;
  /** Query-string suffix that bypasses the result cache for run `i`, and start shift in ms. */
  uncached(i: number): { extra: string; shiftMs: number };
  /** WAL fsyncs so far and the seconds they took (Perch only). */
  fsyncs?(): Promise<{ n: number; s: number }>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

async function startPerch(dir?: string, checkout?: string): Promise<System> {
  const root = dir ?? await Deno.makeTempDir({ prefix: "perch-footprint-" });
  const v8 = checkout ? baseV8Flags : v8Flags;
  const main = checkout
    ? Deno.realPathSync(`${checkout}/main.ts`) // `--base=.` too
    : new URL("../main.ts", import.meta.url).pathname;
  const b = bundled.includes(checkout ? "base" : "perch")
    ? await bundleOnce(main, `${root}/bundle`)
    : undefined;
  const p = await spawnBenchPerch(root, {
    env: { PERCH_STORAGE__RETENTION: "0", ...b?.env },
    runArgs: [...b?.runArgs ?? [], ...(v8 === "" ? [] : [`--v8-flags=${v8}`]), ...perchRunArgs],
    ...(b
      ? { script: b.script, cwd: `${root}/bundle` }
      : checkout
      ? { script: main, cwd: checkout }
      : {}),
  });
  const sys: System = {
    name: (checkout ? "Perch (base)" : "Perch") + (b ? " bundled" : ""),
    url: p.url,
    pid: p.process.pid,
    dataPath: `${root}/data`,
    async flush() {
      const r = await fetch(`${p.url}/api/v1/admin/tsdb/flush`, { method: "POST" });
      await r.body?.cancel();
      if (r.status >= 300) throw new Error(`flush: ${r.status}`);
    },
    uncached: (i) => ({ extra: "", shiftMs: i + 1 }),
    async fsyncs() {
      const text = await (await fetch(`${sys.url}/metrics`)).text();
      const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
      return {
        n: num("perch_tsdb_wal_fsyncs_total"),
        s: num("perch_tsdb_wal_fsync_duration_seconds_total"),
      };
    },
    stop: async () => {
      await p.stop();
      if (perchLog !== "") {
        await Deno.writeTextFile(perchLog, p.logs.join("\n") + "\n", { append: true });
      }
    },
    async restart() {
      const q = await startPerch(root, checkout);
      Object.assign(sys, { url: q.url, pid: q.pid, stop: q.stop });
    },
    cleanup: () => Deno.remove(root, { recursive: true }).catch(() => {}),
  };
  return sys;
}

/** The bundle of `main` in `into`, made at the first start and reused by restarts. */
async function bundleOnce(main: string, into: string): Promise<BundledPerch> {
  if (await Deno.stat(`${into}/perch.js`).then(() => true, () => false)) {
    return bundledPerchAt(into);
  }
  await Deno.mkdir(into, { recursive: true });
  return await bundlePerch(main, into);
}

async function startVictoria(dataDir?: string, port?: number): Promise<System> {
  const vm = await startVM({ dataDir, port });
  const sys: System = {
    name: "VictoriaMetrics",
    url: vm.url,
    pid: vm.pid,
    dataPath: vm.dataDir,
    async flush() {
      const r = await fetch(`${vm.url}/internal/force_flush`);
      await r.body?.cancel();
    },
    uncached: () => ({ extra: "&nocache=1", shiftMs: 0 }),
    stop: vm.stop,
    async restart() {
      const q = await startVictoria(vm.dataDir, vm.port);
      Object.assign(sys, { url: q.url, pid: q.pid, stop: q.stop });
    },
    cleanup: () => Deno.remove(vm.dataDir, { recursive: true }).catch(() => {}),
  };
  return sys;
}

async function startProm(): Promise<System> {
  const prom = await startPrometheus();
  const sys: System = {
    name: "Prometheus",
    url: prom.url,
    pid: prom.pid,
    dataPath: `${prom.dataDir}/data`,
    flush: async () => {},
    uncached: () => ({ extra: "", shiftMs: 0 }),
    stop: prom.stop,
    restart() {
      // startPrometheus makes a fresh dir: start the binary on the old one.
      const port = prom.port;
      const proc = new Deno.Command(PROM_BIN, {
        args: prometheusArgs(prom.dataDir, port),
        stdout: "null",
        stderr: "null",
      }).spawn();
      Object.assign(sys, {
        pid: proc.pid,
        stop: async () => {
          proc.kill("SIGTERM");
          await proc.status;
        },
      });
      return Promise.resolve();
    },
    cleanup: () => Deno.remove(prom.dataDir, { recursive: true }).catch(() => {}),
  };
  return sys;
}

/**
 * Median ms per query and system, uncached (every run misses the cache) and
 * cached (same request again), plus the server's mean CPU ms per uncached
 * run. Systems take turns request by request, so a busy machine slows them
 * alike.
 */
async function timeQueries(
  sys: System[],
  end: number,
): Promise<{ cold: number[]; warm: number[]; cpu: number[] }[]> {
  const out = sys.map(() => ({ cold: [] as number[], warm: [] as number[], cpu: [] as number[] }));
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  for (const [, q, range, step] of QUERIES) {
    const url = (s: System, shiftMs: number, extra: string) =>
      queryRangeUrl(s.url, q, range, step, end, shiftMs, extra);
    const once = async (s: System, u: string) => {
      const t0 = performance.now();
      const r = await fetch(u);
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${s.name} ${q}: ${r.status} ${text.slice(0, 300)}`);
      return performance.now() - t0;
    };
    const cold = sys.map((): number[] => []), warm = sys.map((): number[] => []);
    const cpu = sys.map(() => 0);
    for (let i = 0; i <= runs; i++) {
      for (const [k, s] of sys.entries()) {
        const { extra, shiftMs } = s.uncached(i);
        const c0 = cpuSeconds(s.pid);
        const ms = await once(s, url(s, shiftMs, extra));
        if (i > 0) { // The first run warms code paths.
          cold[k]!.push(ms);
          cpu[k]! += cpuSeconds(s.pid) - c0;
        }
      }
    }
    for (let i = 0; i <= runs; i++) {
      for (const [k, s] of sys.entries()) {
        const ms = await once(s, url(s, 0, ""));
        if (i > 0) warm[k]!.push(ms);
      }
    }
    sys.forEach((_, k) => {
      out[k]!.cold.push(med(cold[k]!));
      out[k]!.warm.push(med(warm[k]!));
      out[k]!.cpu.push(cpu[k]! * 1000 / runs);
    });
  }
  return out;
}

/** Polls an instant query until it returns `n` series; ms since `t0`. */
async function readyMs(s: System, t0: number, end: number, n: number): Promise<number> {
  const q = `count(cpu_usage_percent)`;
  for (let i = 0; i < 6000; i++) {
    try {
      const r = await fetch(
        `${s.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${end / 1000}`,
      );
      const text = await r.text();
      if (r.status === 200) {
        const v = JSON.parse(text).data.result[0]?.value?.[1];
        if (Number(v) === n) return performance.now() - t0;
      }
    } catch { /* not listening yet */ }
    await sleep(10);
  }
  throw new Error(`${s.name} not ready with the data after restart`);
}

interface Row {
  name: string;
  samplesPerSec: number;
  cpuS: number;
  peakRss: number;
  idleRss: number;
  queryRss: number;
  /** RSS 3 s after the query round (memory given back once queries are quiet). */
  laterRss: number;
  /**
   * The file-backed part of each RSS reading after the ingest (after idle,
   * right after the round, 3 s after): pages of the executable and of
   * libraries mapped from the page cache, which the kernel can drop and
   * read again under pressure, unlike the anonymous rest.
   */
  fileRss: [number, number, number];
  bytesPerSample: number;
  restartMs: number;
  cold: number[];
  warm: number[];
  cpu: number[];
}

async function runWorkload(w: Workload): Promise<Row[]> {
  const starters: Record<string, () => Promise<System>> = {
    perch: () => startPerch(),
    base: () => startPerch(undefined, base),
    vm: () => startVictoria(),
    prom: () => startProm(),
  };
  const sys: System[] = [];
  for (const k of systems) {
    if (k === "vm") requireBinary(VM_BIN, "victoria-metrics");
    if (k === "prom") requireBinary(PROM_BIN, "prometheus");
    sys.push(await starters[k]!());
  }
  const rows: Row[] = [];
  try {
    await sleep(2000);
    for (const s of sys) {
      resetPeakRss(s.pid);
      const sync0 = await s.fsyncs?.();
      const cpu0 = cpuSeconds(s.pid);
      const secs = await pushConcurrently(s.url, w.bodies);
      const cpuS = cpuSeconds(s.pid) - cpu0;
      const sync1 = await s.fsyncs?.();
      const peakRss = procMem(s.pid).VmHWM!;
      await s.flush();
      rows.push({
        name: s.name,
        samplesPerSec: w.samples / secs,
        cpuS,
        peakRss,
        idleRss: 0,
        queryRss: 0,
        laterRss: 0,
        fileRss: [0, 0, 0],
        bytesPerSample: 0,
        restartMs: 0,
        cold: [],
        warm: [],
        cpu: [],
      });
      const syncs = sync0 && sync1
        ? `, ${sync1.n - sync0.n} WAL fsyncs taking ${(sync1.s - sync0.s).toFixed(1)} s`
        : "";
      console.error(
        `${w.name} ${s.name}: ingest ${secs.toFixed(1)} s, cpu ${cpuS.toFixed(1)} s${syncs}`,
      );
    }
    /** Reads every system's RSS and its file-backed part into reading `k` of `fileRss`. */
    const read = (field: "idleRss" | "queryRss" | "laterRss", k: number) =>
      sys.forEach((s, i) => {
        const m = procMem(s.pid);
        rows[i]![field] = m.VmRSS!;
        rows[i]!.fileRss[k] = m.RssFile!;
      });
    await sleep(idleMs);
    read("idleRss", 0);
    const times = await timeQueries(sys, w.end);
    read("queryRss", 1);
    sys.forEach((_, i) => Object.assign(rows[i]!, times[i]!));
    await sleep(3000);
    read("laterRss", 2);
    for (const [i, s] of sys.entries()) {
      await s.stop();
      rows[i]!.bytesPerSample = duBytes(s.dataPath) / w.samples;
      const t0 = performance.now();
      await s.restart();
      rows[i]!.restartMs = await readyMs(s, t0, w.end, w.perMetric);
      await s.stop();
    }
  } finally {
    for (const s of sys) {
      await s.stop().catch(() => {});
      await s.cleanup();
    }
  }
  return rows;
}

function print(w: Workload, rows: Row[]) {
  const vm = rows.find((r) => r.name === "VictoriaMetrics");
  const ratio = (r: Row, f: (r: Row) => number) => vm ? ` (${(f(r) / f(vm)).toFixed(2)}×)` : "";
  const lines: [string, (r: Row) => number, (x: number) => string][] = [
    ["ingest, samples/s", (r) => r.samplesPerSec, (x) => `${(x / 1e6).toFixed(2)} M`],
    ["server CPU for the ingest", (r) => r.cpuS, (x) => `${x.toFixed(1)} s`],
    ["peak RSS during ingest", (r) => r.peakRss, (x) => `${x.toFixed(0)} MiB`],
    ["RSS after ingest + idle", (r) => r.idleRss, (x) => `${x.toFixed(0)} MiB`],
    ["RSS after the query round", (r) => r.queryRss, (x) => `${x.toFixed(0)} MiB`],
    ["RSS 3 s after the query round", (r) => r.laterRss, (x) => `${x.toFixed(0)} MiB`],
    ...(["after idle", "right after the round", "3 s after the round"] as const).map((
      when,
      k,
    ): [string, (r: Row) => number, (x: number) => string] => [
      `of which file-backed (executable, libraries), ${when}`,
      (r) => r.fileRss[k]!,
      (x) => `${x.toFixed(0)} MiB`,
    ]),
    ["disk, bytes/sample", (r) => r.bytesPerSample, (x) => x.toFixed(2)],
    ["restart to ready", (r) => r.restartMs, (x) => `${(x / 1000).toFixed(2)} s`],
    ...QUERIES.flatMap(([name], i): [string, (r: Row) => number, (x: number) => string][] => [
      [`${name}, uncached`, (r) => r.cold[i]!, (x) => `${x.toFixed(1)} ms`],
      [`${name}, server CPU per uncached run`, (r) => r.cpu[i]!, (x) => `${x.toFixed(1)} ms`],
      [`${name}, cached`, (r) => r.warm[i]!, (x) => `${x.toFixed(1)} ms`],
    ]),
  ];
  console.log(
    `\n${w.name}: ${w.series} series, ${w.samples} samples, ` +
      `${w.bodies[0]!.length + w.bodies[1]!.length} requests; idle ${idleMs} ms; ${runs} runs`,
  );
  console.log(`| | ${rows.map((r) => r.name).join(" | ")} |`);
  console.log(`|---|${rows.map(() => "---").join("|")}|`);
  for (const [label, f, fmt] of lines) {
    console.log(`| ${label} | ${rows.map((r) => fmt(f(r)) + ratio(r, f)).join(" | ")} |`);
  }
}

for (const name of workloads) {
  const w = buildWorkload(name);
  print(w, await runWorkload(w));
}
