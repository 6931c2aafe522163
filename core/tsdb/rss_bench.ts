/**
 * Resident memory of a process holding the edge workload (2,000 series, 10 s,
 * 6 h = 4.32 M samples). Run as a script; each scenario runs in a fresh child
 * process so numbers do not mix:
 *
 *   deno run --allow-all core/tsdb/rss_bench.ts [--hours=6] [--hosts=100] [--fsync=interval]
 *
 * - `ingest`: samples are generated on the fly (no workload arrays held),
 *   appended via the DB in time order (batches of one scrape of every series),
 *   then the head is flushed and one series is queried over 1 h.
 * - `reopen`: a new process opens the directory the ingest left behind
 *   unflushed (its last window is in the WAL), replays it, queries one series
 *   and then reads every series once.
 *
 * Each line is JSON: RSS, V8 heap used/total, new space and external memory
 * in MiB, after a full GC (children run with --expose-gc). The block worker is
 * given 1 s of idle time to stop before "afterQuery".
 *
 * Knobs (environment): PERCH_BENCH_V8=",--max-semi-space-size=1" adds V8
 * flags to the children (the young generation otherwise grows to 32-64 MiB
 * under ingest and never shrinks); PERCH_BENCH_WORKER=0 writes blocks
 * inline; PERCH_BENCH_INFLIGHT=n appends in flight (8); PERCH_BENCH_SMAPS=1
 * adds the largest mappings; PERCH_BENCH_TRIM=1 calls glibc malloc_trim (FFI)
 * to show how much RSS is freed-but-retained malloc memory;
 * PERCH_BENCH_ONLY_FLUSH=1 runs the first scenario only; PERCH_BENCH_IDLE_MS=n adds
 * "afterIdle", measured n ms after the query (V8 gives emptied heap pages
 * back only after some idle seconds).
 *
 * @module
 */
import { newMatcher, SampleBatch, toLabels } from "../model/mod.ts";
import { EDGE_METRICS, mulberry32 } from "./edge_workload.ts";
import { openDB } from "./db.ts";
import v8 from "node:v8";

const INFLIGHT = Number(Deno.env.get("PERCH_BENCH_INFLIGHT") ?? 8);
const round2 = (x: number) => Math.round(x * 100) / 100;

function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (b + 0x632be5ab) ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ (c + 0x165667b1) ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * The edge workload of edge_workload.ts (seed 1, no jitter) generated scrape
 * by scrape with constant memory: same series, timestamps and values.
 */
export class EdgeStream {
  readonly labels: ReturnType<typeof toLabels>[] = [];
  readonly #phase: number[] = [];
  readonly #rng: (() => number)[] = [];
  readonly #x: Float64Array;
  readonly #start: number;
  readonly #interval: number;
  #i = 0;

  constructor(hosts: number, startMs = Date.UTC(2024, 0, 1), intervalMs = 10_000) {
    this.#start = startMs;
    this.#interval = intervalMs;
    this.#x = new Float64Array(hosts * EDGE_METRICS.length);
    for (let h = 0; h < hosts; h++) {
      const host = `host-${String(h + 1).padStart(3, "0")}`;
      const hr = mulberry32(hash3(1, h, 1000));
      const phase = Math.floor(hr() * intervalMs);
      const cpus = [2, 4, 8][Math.floor(hr() * 3)];
      for (let m = 0; m < EDGE_METRICS.length; m++) {
        const spec = EDGE_METRICS[m];
        const r = mulberry32(hash3(1, h, m));
        const k = this.labels.length;
        if (spec.kind === "counter") this.#x[k] = Math.floor(r() * 1e9);
        else if (spec.kind === "gauge") this.#x[k] = spec.a + r() * (spec.b - spec.a);
        else if (spec.c === 0) this.#x[k] = cpus;
        else this.#x[k] = round2(20 + r() * 480);
        this.labels.push(toLabels(spec.name, { host, job: "node" }));
        this.#phase.push(phase);
        this.#rng.push(r);
      }
    }
  }

  /** Fills `b` with the next scrape of every series (series i is batch series i). */
  next(b: SampleBatch): void {
    const i = this.#i++;
    for (let k = 0; k < this.labels.length; k++) {
      const spec = EDGE_METRICS[k % EDGE_METRICS.length];
      const r = this.#rng[k];
      let x = this.#x[k];
      let v: number;
      if (spec.kind === "counter") v = x += Math.floor(r() * spec.a);
      else if (spec.kind === "gauge") {
        x += (r() * 2 - 1) * spec.c;
        if (x < spec.a) x = 2 * spec.a - x;
        if (x > spec.b) x = 2 * spec.b - x;
        v = round2(x);
      } else if (spec.c === 0) v = x;
      else {
        if (r() < spec.c) x = round2(20 + r() * 480);
        v = x;
      }
      this.#x[k] = x;
      b.add(k, this.#start + this.#phase[k] + i * this.#interval, v);
    }
  }
}

function mem(gc = true) {
  (globalThis as { gc?: () => void }).gc?.();
  if (gc) (globalThis as { gc?: () => void }).gc?.();
  const m = Deno.memoryUsage();
  const mib = (x: number) => +(x / 2 ** 20).toFixed(1);
  return {
    rssMiB: mib(m.rss),
    heapUsedMiB: mib(m.heapUsed),
    heapTotalMiB: mib(m.heapTotal),
    externalMiB: mib(m.external),
    newSpaceMiB: mib(
      v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0,
    ),
  };
}

/** The largest mappings by RSS (Linux only), to tell heap, malloc and files apart. */
export function smapsTop(): string[] {
  try {
    const text = Deno.readTextFileSync("/proc/self/smaps");
    const maps: { name: string; rss: number; anon: number; size: number }[] = [];
    let cur: { name: string; rss: number; anon: number; size: number } | undefined;
    for (const line of text.split("\n")) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) {
        cur = { name: head[1] || "[anon]", rss: 0, anon: 0, size: 0 };
        maps.push(cur);
      } else if (cur && line.startsWith("Rss:")) cur.rss = parseInt(line.slice(4));
      else if (cur && line.startsWith("Anonymous:")) cur.anon = parseInt(line.slice(10));
      else if (cur && line.startsWith("Size:")) cur.size = parseInt(line.slice(5));
    }
    const by = new Map<string, { rss: number; anon: number; n: number }>();
    for (const m of maps) {
      const e = by.get(m.name) ?? { rss: 0, anon: 0, n: 0 };
      e.rss += m.rss;
      e.anon += m.anon;
      e.n++;
      by.set(m.name, e);
    }
    const big = maps.filter((m) => m.name === "[anon]").sort((a, b) => b.rss - a.rss).slice(0, 8);
    return [
      ...[...by].sort((a, b) => b[1].rss - a[1].rss).slice(0, 8).map(([k, e]) =>
        `${k}: rss ${(e.rss / 1024).toFixed(1)} MiB anon ${(e.anon / 1024).toFixed(1)} in ${e.n}`
      ),
      "largest anon (rss/size MiB): " +
      big.map((m) => `${(m.rss / 1024).toFixed(1)}/${(m.size / 1024).toFixed(1)}`).join(", "),
      "anon by size: " + [
        ...maps.filter((m) => m.name === "[anon]").reduce((acc, m) => {
          const k = m.size >= 60000
            ? "64M-arena"
            : m.size >= 1024
            ? ">=1M"
            : m.size >= 256
            ? "256K-1M"
            : "<256K";
          acc.set(k, (acc.get(k) ?? 0) + m.rss);
          return acc;
        }, new Map<string, number>()),
      ].map(([k, v]) => `${k}=${(v / 1024).toFixed(1)}`).join(" "),
    ];
  } catch {
    return [];
  }
}

async function ingest(
  dir: string,
  hosts: number,
  hours: number,
  fsync: "always" | "interval",
  flush: boolean,
) {
  const db = await openDB({
    dir,
    fsync,
    useWorker: Deno.env.get("PERCH_BENCH_WORKER") !== "0",
    blockWorkerIdleMs: 1000,
    downsampling: [], // the workload is dated 2024: keep it raw
  });
  const stream = new EdgeStream(hosts);
  const n = hours * 360;
  const t0 = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const b = new SampleBatch(stream.labels.length);
    for (let k = 0; k < stream.labels.length; k++) b.addSeries(stream.labels[k], String(k));
    stream.next(b);
    inflight.push(db.append(b));
    if (inflight.length >= INFLIGHT) await inflight.shift();
  }
  await Promise.all(inflight);
  const ingestS = (performance.now() - t0) / 1000;
  await db.maintenance();
  const afterIngest = mem();
  const out: Record<string, unknown> = {
    scenario: flush ? "ingest+flush" : "ingest",
    samples: n * stream.labels.length,
    samplesPerSec: Math.round(n * stream.labels.length / ingestS),
    afterIngest,
  };
  if (flush) {
    await db.flush();
    out.afterFlush = mem();
    const q = await db.select([
      newMatcher("=", "host", "host-007"),
      newMatcher("=", "__name__", "cpu_usage_percent"),
    ], {
      minT: Date.UTC(2024, 0, 1, 2),
      maxT: Date.UTC(2024, 0, 1, 3),
    });
    out.queried = q[0]?.t.length ?? 0;
    await new Promise((r) => setTimeout(r, 1500)); // the idle block worker stops
    out.afterQuery = mem();
    const idle = Number(Deno.env.get("PERCH_BENCH_IDLE_MS") ?? 0);
    if (idle > 0) {
      // V8's memory reducer returns emptied heap pages only after a few idle seconds.
      await new Promise((r) => setTimeout(r, idle));
      out.afterIdle = mem();
    }
    const st = await db.stats();
    out.blocks = st.blocks;
    out.headBytes = st.headBytes;
  }
  if (Deno.env.get("PERCH_BENCH_SMAPS")) out.smaps = smapsTop();
  if (Deno.env.get("PERCH_BENCH_TRIM")) {
    const lib = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
    lib.symbols.malloc_trim(0n);
    out.afterTrim = mem();
    if (Deno.env.get("PERCH_BENCH_SMAPS")) out.smaps2 = smapsTop();
  }
  await db.close();
  console.log(JSON.stringify(out));
}

async function reopen(dir: string) {
  const before = mem();
  const db = await openDB({ dir, downsampling: [] });
  const afterReplay = mem();
  const st = await db.stats();
  const q = await db.select([
    newMatcher("=", "host", "host-007"),
    newMatcher("=", "__name__", "cpu_usage_percent"),
  ], {
    minT: Date.UTC(2024, 0, 1, 2),
    maxT: Date.UTC(2024, 0, 1, 3),
  });
  const afterQuery = mem();
  let all = 0;
  for (const s of await db.select([], { minT: -Infinity, maxT: Infinity })) all += s.t.length;
  const afterReadAll = mem();
  await db.close();
  console.log(JSON.stringify({
    scenario: "reopen",
    headSamples: st.headSamples,
    headBytes: st.headBytes,
    blocks: st.blocks,
    queried: q[0]?.t.length ?? 0,
    readAll: all,
    beforeOpen: before,
    afterReplay,
    afterQuery,
    afterReadAll,
  }));
}

async function spawn(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `--v8-flags=--expose-gc${Deno.env.get("PERCH_BENCH_V8") ?? ""}`,
      import.meta.filename!,
      ...args,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`child ${args.join(" ")} failed with ${out.code}`);
}

if (import.meta.main) {
  const arg = (k: string, d: string) => {
    const a = Deno.args.find((x) => x.startsWith(`--${k}=`));
    return a ? a.slice(k.length + 3) : d;
  };
  const mode = arg("mode", "");
  const hours = Number(arg("hours", "6")), hosts = Number(arg("hosts", "100"));
  const fsync = arg("fsync", "interval") as "always" | "interval";
  if (mode === "ingest" || mode === "ingest+flush") {
    await ingest(arg("dir", ""), hosts, hours, fsync, mode === "ingest+flush");
  } else if (mode === "reopen") {
    await reopen(arg("dir", ""));
  } else {
    const common = [`--hours=${hours}`, `--hosts=${hosts}`, `--fsync=${fsync}`];
    const a = await Deno.makeTempDir({ prefix: "perch-rss-" });
    await spawn(["--mode=ingest+flush", `--dir=${a}`, ...common]);
    await Deno.remove(a, { recursive: true });
    if (!Deno.env.get("PERCH_BENCH_ONLY_FLUSH")) {
      const b = await Deno.makeTempDir({ prefix: "perch-rss-" });
      await spawn(["--mode=ingest", `--dir=${b}`, ...common]);
      await spawn(["--mode=reopen", `--dir=${b}`]);
      await Deno.remove(b, { recursive: true });
    }
  }
}
