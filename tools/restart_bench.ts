/**
 * Restart benchmark: time from starting Perch until it is ready (`/health`
 * answers 200 and a query over the stored data is answered), on a data dir
 * holding the 6 h edge workload (2,000 series, 10 s; flushed into blocks)
 * plus a few minutes of WAL, after a SIGKILL.
 *
 *   deno run --allow-all tools/restart_bench.ts [--runs=7] [--wal-minutes=5] [--hours=6] [--dir=PATH]
 *
 * Prints the first start on the new data dir ("first") and the median, min
 * and max of the restarts after SIGKILL, with the server's own start-up
 * breakdown from its log (storage open, listening).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SampleBatch } from "../core/model/mod.ts";
import { generateEdgeWorkload } from "../core/tsdb/edge_workload.ts";
import { openDB } from "../core/tsdb/mod.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "7" },
    "wal-minutes": { type: "string", default: "5" },
    hours: { type: "string", default: "6" },
    dir: { type: "string" },
  },
});
const ROOT = new URL("../", import.meta.url).pathname;
const runs = Number(a.runs);
const walMinutes = Number(a["wal-minutes"]);
const hours = Number(a.hours);

async function build(dir: string): Promise<void> {
  const end = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
  const walMs = walMinutes * 60_000;
  const start = end - hours * 3_600_000 - walMs;
  const series = [
    ...generateEdgeWorkload({ durationMs: hours * 3_600_000 + walMs, startMs: start }),
  ];
  const db = await openDB({ dir, backgroundIntervalMs: 0, useWorker: false, downsampling: [] });
  const n = series[0].t.length;
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
  const walStart = n - Math.round(walMs / 10_000);
  await append(0, walStart);
  await db.flush();
  await append(walStart, n); // stays in the WAL
  await db.close();
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function ready(url: string): Promise<boolean> {
  try {
    const h = await fetch(`${url}/health`);
    await h.body?.cancel();
    if (h.status !== 200) return false;
    // Over the last 2 h, so a data dir kept with --dir still answers a while after it was built.
    const q = await fetch(`${url}/api/v1/query?query=count(last_over_time(node_load1[2h]))`);
    const j = await q.json();
    return j.status === "success" && j.data.result.length === 1;
  } catch {
    return false;
  }
}

/** CPU time (user + system, ms) a process has used, from /proc (NaN elsewhere). */
function cpuMs(pid: number): number {
  try {
    const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

/** Starts Perch, waits until ready; returns ms, CPU ms and the child (still running). */
async function start(
  dir: string,
): Promise<{ ms: number; cpu: number; child: Deno.ChildProcess; log: string[] }> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `${ROOT}main.ts`,
      `--listen=127.0.0.1:${port}`,
      `--data-dir=${dir}`,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const c of stream) {
      buf += dec.decode(c, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        log.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
  };
  pump(child.stdout);
  pump(child.stderr);
  for (let i = 0; i < 3000; i++) {
    if (await ready(url)) {
      return { ms: performance.now() - t0, cpu: cpuMs(child.pid), child, log };
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGKILL");
  throw new Error(`Perch was not ready within the time limit:\n${log.join("\n")}`);
}

function startedMs(log: string[], name: string): number | undefined {
  for (const l of log) {
    if (l.includes('"msg":"component started"') && l.includes(`"name":"${name}"`)) {
      return JSON.parse(l).duration_ms;
    }
  }
  return undefined;
}

const dir = a.dir ?? await Deno.makeTempDir({ prefix: "perch-restart-" });
const t0 = performance.now();
let reuse = false;
try {
  reuse = [...Deno.readDirSync(`${dir}/blocks`)].length > 0;
} catch { /* a new dir */ }
if (!reuse) await build(dir);
else console.log(`reusing the data dir ${dir}`);
if (!reuse) {
  console.log(
    `built ${hours} h edge workload + ${walMinutes} min WAL in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
}
const times: number[] = [];
const cpus: number[] = [];
let firstMs = 0;
for (let r = 0; r <= runs; r++) {
  const s = await start(dir);
  s.child.kill("SIGKILL");
  await s.child.status;
  const storage = startedMs(s.log, "storage");
  const t = (m: string) => {
    const l = s.log.find((x) => x.includes(`"msg":"${m}"`));
    return l ? new Date(JSON.parse(l).time).getTime() : NaN;
  };
  const first = s.log.length > 0 ? new Date(JSON.parse(s.log[0]).time).getTime() : NaN;
  console.log(
    `${r === 0 ? "first" : `restart ${r}`}: ready in ${s.ms.toFixed(0)} ms, ${s.cpu} ms CPU ` +
      `(first log line → ` +
      `listening ${t("listening") - first} ms; storage open ${storage} ms)`,
  );
  if (r === 0) firstMs = s.ms;
  else {
    times.push(s.ms);
    cpus.push(s.cpu);
  }
}
times.sort((x, y) => x - y);
cpus.sort((x, y) => x - y);
const med = times[Math.floor(times.length / 2)];
console.log(
  `restart CPU to ready: median ${cpus[Math.floor(cpus.length / 2)]} ms (user + system; less ` +
    "sensitive than wall time to a busy machine)",
);
console.log(
  `restart ready: median ${med.toFixed(0)} ms, min ${times[0].toFixed(0)} ms, max ${
    times[times.length - 1].toFixed(0)
  } ms (first start ${firstMs.toFixed(0)} ms, ${runs} restarts after SIGKILL)`,
);
if (!a.dir) await Deno.remove(dir, { recursive: true });
