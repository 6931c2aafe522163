/**
 * Restart benchmark: time from starting Perch until it is ready (`/health`
 * answers 200 and a query over the stored data is answered), on a data dir
 * holding the 6 h edge workload (2,000 series, 10 s; flushed into blocks)
 * plus a few minutes of WAL, after a SIGKILL; and the cold start on an empty
 * data dir. Prometheus gets the same workload by remote write and is
 * restarted the same way in the same run.
 *
 *   deno run --allow-all tools/restart_bench.ts [--runs=9] [--cold-runs=5]
 *     [--wal-minutes=5] [--hours=6] [--dir=PATH] [--no-prometheus]
 *     [--main=PATH/main.ts ...] [--no-bundle] [--no-config-file] [--rt]
 *
 * Perch starts with a small config file, as a deployment does (parsing it
 * loads the YAML library); `--no-config-file` starts it on the defaults.
 * Each `--main` is another Perch checkout to time against this one (for
 * before/after); runs of all of them are interleaved so a busy machine
 * affects each alike. Each checkout is timed twice: as `deno run main.ts`
 * (what `deno task start` runs; Deno loads some 400 modules and syncs
 * `node_modules` first) and bundled into one file by `deno bundle`, run with
 * the V8 flags of the compiled binary (`tools/compile.ts`): the closest to
 * the `deno task compile` executable users run, which loads no module graph
 * from disk. `--no-bundle` leaves the bundled runs out.
 * Reported per system: wall time to ready (median, p90),
 * the process's CPU time (user + system, all threads) and, for Perch, the
 * main thread's CPU time (less sensitive than wall time to other work on the
 * machine).
 * `--rt` runs each timed server start under `chrt -f 10` (SCHED_FIFO; needs
 * root), so other work on a shared machine does not stretch wall times: what
 * a dedicated box would see. The data dir's WAL grows by a few records per restart (self-monitoring
 * samples); it is rebuilt when `--dir` is not given.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SampleBatch } from "../core/model/mod.ts";
import { generateEdgeWorkload } from "../core/tsdb/edge_workload.ts";
import { openDB } from "../core/tsdb/mod.ts";
import { encodeRemoteWriteBody, type WriteSeries } from "../core/ingest/mod.ts";
import { forEachLine, freePort, mainThreadCpuSeconds, procCpuSeconds } from "../tests/_perch.ts";
import { postRemoteWrite } from "../tests/_remote_write.ts";
import { PROM_BIN, prometheusArgs, startPrometheus } from "../tests/remote/_peers.ts";
import { requireBinary } from "../tests/_require.ts";
import { PERCH_V8_FLAGS } from "./_v8_flags.ts";
import { bundlePerch } from "./_bench_perch.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "9" },
    "cold-runs": { type: "string", default: "5" },
    "wal-minutes": { type: "string", default: "5" },
    hours: { type: "string", default: "6" },
    dir: { type: "string" },
    "no-prometheus": { type: "boolean", default: false },
    main: { type: "string", multiple: true },
    "no-bundle": { type: "boolean", default: false },
    "no-config-file": { type: "boolean", default: false },
    rt: { type: "boolean", default: false },
  },
});
const ROOT = new URL("../", import.meta.url).pathname;
const runs = Number(a.runs);
const coldRuns = Number(a["cold-runs"]);
const walMinutes = Number(a["wal-minutes"]);
const hours = Number(a.hours);
const QUERY = "count(last_over_time(node_load1[2h]))";

/** The workload's time span: ends a minute ago, the last `walMinutes` stay in the WAL. */
function workload() {
  const end = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
  const walMs = walMinutes * 60_000;
  const start = end - hours * 3_600_000 - walMs;
  const series = [
    ...generateEdgeWorkload({ durationMs: hours * 3_600_000 + walMs, startMs: start }),
  ];
  return { series, walStart: series[0].t.length - Math.round(walMs / 10_000) };
}

async function buildPerch(dir: string): Promise<void> {
  const { series, walStart } = workload();
  const db = await openDB({ dir, backgroundIntervalMs: 0, useWorker: false, downsampling: [] });
  const append = async (from: number, to: number) => {
    for (let i = from; i < to; i += 6) {
      const b = new SampleBatch(series.length * 6);
      const ids = series.map((s, k) => b.addSeries(s.labels, String(k)));
      for (let j = i; j < Math.min(to, i + 6); j++) {
        for (let k = 0; k < series.length; k++) b.add(ids[k], series[k].t[j], series[k].v[j]);
      }
      await db.append(b);
    }
  };
  await append(0, walStart);
  await db.flush();
  await append(walStart, series[0].t.length); // stays in the WAL
  await db.close();
}

async function ready(url: string, health: string, data: boolean): Promise<boolean> {
  try {
    const h = await fetch(`${url}${health}`);
    await h.body?.cancel();
    if (h.status !== 200) return false;
    // Over the last 2 h, so a data dir kept with --dir still answers a while after it was built.
    const q = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(QUERY)}`);
    const j = await q.json();
    return j.status === "success" && (!data || j.data.result.length === 1);
  } catch {
    return false;
  }
}

/** CPU time (ms) of a process's main thread, from its scheduler statistics (NaN elsewhere). */
function mainThreadCpuMs(pid: number): number {
  try {
    return mainThreadCpuSeconds(pid) * 1000;
  } catch {
    return NaN;
  }
}

interface Run {
  ms: number;
  cpu: number;
  mainCpu: number;
  log: string[];
}

/** Starts a server, waits until it is ready, SIGKILLs it; throws when it is not ready in time. */
async function timeStart(
  cmd: string,
  args: string[],
  url: string,
  health: string,
  data: boolean,
  env: Record<string, string> = {},
): Promise<Run> {
  const t0 = performance.now();
  const child = new Deno.Command(a.rt ? "chrt" : cmd, {
    args: a.rt ? ["-f", "10", cmd, ...args] : args,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const onLine = (line: string) => log.push(line);
  const pumped = Promise.all([
    forEachLine(child.stdout, onLine),
    forEachLine(child.stderr, onLine),
  ]);
  try {
    for (let i = 0; i < 6000; i++) {
      if (await ready(url, health, data)) {
        return {
          ms: performance.now() - t0,
          cpu: procCpuSeconds(child.pid) * 1000,
          mainCpu: mainThreadCpuMs(child.pid),
          log,
        };
      }
      await new Promise((r) => setTimeout(r, 4));
    }
    throw new Error(`${cmd} was not ready within the time limit:\n${log.slice(-30).join("\n")}`);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await pumped;
  }
}

/** One way of running Perch: a checkout's main.ts, or its bundle. */
interface Variant {
  label: string;
  script: string;
  /** `deno run` flags before the script. */
  runArgs: string[];
  env?: Record<string, string>;
}

/** The bundle of a checkout's main.ts, run with the V8 flags `tools/compile.ts` gives the binary. */
async function bundled(main: string, label: string, into: string): Promise<Variant> {
  const b = await bundlePerch(main, into);
  return {
    label: `${label} (bundled)`,
    script: b.script,
    runArgs: [...b.runArgs, `--v8-flags=${PERCH_V8_FLAGS}`],
    env: b.env,
  };
}

/** A small edge box's config file: what `--config` gives Perch unless `--no-config-file`. */
const CONFIG_YAML = `# A small edge box.
log:
  level: info
storage:
  retention: 28d
  fsync: always
scrape_configs:
  - job_name: node
    scrape_interval: 10s
    static_configs:
      - targets: ["127.0.0.1:9100"]
`;
const configFile = a["no-config-file"] ? undefined : await Deno.makeTempFile({
  prefix: "perch-restart-",
  suffix: ".yml",
});
if (configFile) await Deno.writeTextFile(configFile, CONFIG_YAML);

function perchStart(v: Variant, dir: string, data: boolean): Promise<Run> {
  const port = freePort();
  return timeStart(
    Deno.execPath(),
    [
      "run",
      "--allow-all",
      ...v.runArgs,
      v.script,
      `--listen=127.0.0.1:${port}`,
      `--data-dir=${dir}`,
      ...(configFile ? [`--config=${configFile}`] : []),
    ],
    `http://127.0.0.1:${port}`,
    "/health",
    data,
    v.env,
  );
}

/** Median and 90th percentile (nearest rank). */
function stats(xs: number[]): { med: number; p90: number } {
  const s = [...xs].sort((x, y) => x - y);
  return { med: s[Math.floor((s.length - 1) / 2)], p90: s[Math.ceil(0.9 * s.length) - 1] };
}

function report(name: string, what: string, rs: Run[], mainThread = true): void {
  if (rs.length === 0) return;
  const f = (xs: number[]) => {
    const { med, p90 } = stats(xs);
    return `median ${med.toFixed(0)} ms, p90 ${p90.toFixed(0)} ms`;
  };
  const main = !mainThread || rs.some((r) => Number.isNaN(r.mainCpu))
    ? ""
    : `; main thread CPU ${f(rs.map((r) => r.mainCpu))}`;
  // Perch's own "ready" log line: its start-up time and CPU when it was ready,
  // before the probe's requests and the work left for after start-up.
  const own = rs.map((r) => ownReady(r.log));
  const self = own.every((o) => o !== undefined)
    ? `; by its own log: ready ${f(own.map((o) => o!.ms))}, CPU ${f(own.map((o) => o!.cpu))}`
    : "";
  console.log(
    `${name} ${what} (${rs.length} runs): ready ${f(rs.map((r) => r.ms))}; ` +
      `process CPU ${f(rs.map((r) => r.cpu))}${main}${self}`,
  );
}

/** Start-up time and CPU from Perch's "ready" log line, when it writes one. */
function ownReady(log: string[]): { ms: number; cpu: number } | undefined {
  const l = log.find((x) => x.includes('"msg":"ready"'));
  if (!l) return undefined;
  const j = JSON.parse(l);
  return typeof j.cpu_ms === "number" ? { ms: j.startup_ms, cpu: j.cpu_ms } : undefined;
}

/** Where Perch's own log says start-up time went (storage open, listening). */
function breakdown(log: string[]): string {
  const at = (m: string) => {
    const l = log.find((x) => x.includes(`"msg":"${m}"`));
    return l ? new Date(JSON.parse(l).time).getTime() : NaN;
  };
  const storage = log.find((l) =>
    l.includes('"msg":"component started"') && l.includes('"name":"storage"')
  );
  const first = log.length > 0 ? new Date(JSON.parse(log[0]).time).getTime() : NaN;
  return `first log line → listening ${at("listening") - first} ms; storage open ${
    storage ? JSON.parse(storage).duration_ms : "?"
  } ms`;
}

// Perch.
const mains = [`${ROOT}main.ts`, ...(a.main ?? [])];
const label = (i: number) => i === 0 ? "Perch" : `Perch (${mains[i]})`;
const variants: Variant[] = mains.map((m, i) => ({ label: label(i), script: m, runArgs: [] }));
const bundleDir = await Deno.makeTempDir({ prefix: "perch-bundles-" });
if (!a["no-bundle"]) {
  for (let i = 0; i < mains.length; i++) {
    const into = `${bundleDir}/${i}`;
    await Deno.mkdir(into);
    variants.push(await bundled(mains[i], label(i), into));
  }
}
const dir = a.dir ?? await Deno.makeTempDir({ prefix: "perch-restart-" });
let reuse = false;
try {
  reuse = [...Deno.readDirSync(`${dir}/blocks`)].length > 0;
} catch { /* a new dir */ }
const t0 = performance.now();
if (!reuse) {
  await buildPerch(dir);
  console.log(
    `built ${hours} h edge workload + ${walMinutes} min WAL in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
} else console.log(`reusing the data dir ${dir}`);

const cold = variants.map(() => [] as Run[]);
const restarts = variants.map(() => [] as Run[]);
// The first start after the build replays the WAL the build left, and each
// variant's first start fills Deno's V8 code cache for its files (as the first
// start of a new binary does); not counted.
for (const v of variants) {
  const first = await perchStart(v, dir, true);
  console.log(
    `${v.label} first start: ready in ${first.ms.toFixed(0)} ms (${breakdown(first.log)})`,
  );
}
for (let r = 0; r < Math.max(runs, coldRuns); r++) {
  // Alternate the order so that drift in the machine's load affects each alike.
  const order = variants.map((_, i) => i);
  if (r % 2 === 1) order.reverse();
  for (const i of order) {
    if (r < coldRuns) {
      const empty = await Deno.makeTempDir({ prefix: "perch-cold-" });
      cold[i].push(await perchStart(variants[i], empty, false));
      await Deno.remove(empty, { recursive: true });
    }
    if (r < runs) {
      const s = await perchStart(variants[i], dir, true);
      restarts[i].push(s);
      if (i === 0) console.log(`restart ${r + 1}: ${s.ms.toFixed(0)} ms (${breakdown(s.log)})`);
    }
  }
}
for (let i = 0; i < variants.length; i++) {
  report(variants[i].label, "cold start, empty data dir", cold[i]);
  report(variants[i].label, "restart after SIGKILL", restarts[i]);
}
if (!a.dir) await Deno.remove(dir, { recursive: true });
await Deno.remove(bundleDir, { recursive: true });
if (configFile) await Deno.remove(configFile);

// Prometheus, on the same workload (pushed by remote write; its head keeps what it has not
// compacted into blocks yet, as Prometheus does).
if (!a["no-prometheus"]) {
  requireBinary(PROM_BIN, "prometheus");
  const prom = await startPrometheus();
  const { series } = workload();
  const n = series[0].t.length;
  const t1 = performance.now();
  for (let i = 0; i < n; i += 6) {
    const ws: WriteSeries[] = series.map((s) => ({
      labels: s.labels,
      t: [...s.t.subarray(i, Math.min(n, i + 6))],
      v: [...s.v.subarray(i, Math.min(n, i + 6))],
    }));
    await postRemoteWrite(prom.url, encodeRemoteWriteBody({ series: ws }));
  }
  // Prometheus cuts blocks from its head once it spans 3 h, checked every minute.
  let blocks = 0;
  for (let i = 0; i < 180 && blocks < 2; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const m = await (await fetch(`${prom.url}/metrics`)).text();
    blocks = Number(/^prometheus_tsdb_blocks_loaded (\S+)$/m.exec(m)?.[1] ?? 0);
  }
  console.log(
    `Prometheus: pushed in ${((performance.now() - t1) / 1000).toFixed(1)} s; ${blocks} blocks`,
  );
  // Kill it hard, then restart it on its data dir as Perch is.
  Deno.kill(prom.pid, "SIGKILL");
  await prom.stop().catch(() => {});
  const promRuns: Run[] = [];
  for (let r = 0; r < runs; r++) {
    const port = freePort();
    promRuns.push(
      await timeStart(
        PROM_BIN,
        prometheusArgs(prom.dataDir, port),
        `http://127.0.0.1:${port}`,
        "/-/ready",
        true,
      ),
    );
  }
  // Go spreads its work over threads: the main thread's share says nothing.
  report("Prometheus", "restart after SIGKILL", promRuns, false);
  await Deno.remove(prom.dataDir, { recursive: true });
}
