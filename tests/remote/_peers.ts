/**
 * Real peers from Debian for the edge-to-core tests: VictoriaMetrics and
 * Prometheus on loopback, each in its own temp dir, stopped by their pid.
 */
import { silentLogger } from "../../core/logging/mod.ts";
import type { Appender } from "../../core/model/mod.ts";
import {
  parseRemoteWriteConfigs,
  type RemoteWriteConfig,
  RemoteWriteManager,
} from "../../core/remote/mod.ts";
import { type DB, openDB } from "../../core/tsdb/mod.ts";
import { freePort } from "../_perch.ts";

/** Perch storage in a temp dir (or `dir`), without worker or background timer. */
export async function tempDB(dir?: string): Promise<DB> {
  dir ??= await Deno.makeTempDir({ prefix: "perch-edge-" });
  return await openDB({ dir, useWorker: false, backgroundIntervalMs: 0 });
}

/**
 * Storage in a temp dir and a remote write manager reading it (state in
 * memory, no endpoints yet: `m.apply(endpoints(…))`); `app` appends through
 * the manager's tracker, `close()` closes both.
 */
export async function remoteWriteFrom(): Promise<
  { db: DB; m: RemoteWriteManager; app: Appender; close(): Promise<void> }
> {
  const db = await tempDB();
  const m = await RemoteWriteManager.open({ querier: db, kv: ":memory:", logger: silentLogger() });
  return {
    db,
    m,
    app: m.appender(db),
    async close() {
      await m.close();
      await db.close();
    },
  };
}

/** Remote write configs for tests: fast sends and retries, no metadata, no pacing. */
export function endpoints(list: Record<string, unknown>[]): RemoteWriteConfig[] {
  const r = parseRemoteWriteConfigs(list.map((e) => ({
    metadata_config: { send: false },
    ...e,
    queue_config: {
      batch_send_deadline: "100ms",
      settle_delay: "0s",
      min_backoff: "20ms",
      max_backoff: "300ms",
      max_samples_per_send: 500,
      max_rate: 0,
      ...(e.queue_config as object ?? {}),
    },
  })));
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.configs;
}

export const VM_BIN = "/usr/bin/victoria-metrics";
export const PROM_BIN = "/usr/bin/prometheus";
export const VMAGENT_BIN = "/usr/bin/vmagent";
export const NODE_EXPORTER_BIN = "/usr/bin/prometheus-node-exporter";

/** A running peer process. */
export interface Peer {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly output: string[];
  /** Process id (for /proc readings). */
  readonly pid: number;
  /** Stops it (SIGTERM, then SIGKILL after 10 s) and waits for exit. */
  stop(): Promise<void>;
}

async function waitHttp(url: string, timeoutMs: number, proc: Deno.ChildProcess, out: string[]) {
  const end = Date.now() + timeoutMs;
  let exited = false;
  proc.status.then(() => exited = true);
  while (Date.now() < end) {
    if (exited) throw new Error(`peer exited early:\n${out.join("")}`);
    try {
      const r = await fetch(url);
      await r.body?.cancel();
      if (r.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`peer not ready at ${url} after ${timeoutMs} ms:\n${out.join("")}`);
}

function spawn(bin: string, args: string[]): { proc: Deno.ChildProcess; out: string[] } {
  const proc = new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).spawn();
  const out: string[] = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const d = new TextDecoder();
    for await (const c of s) {
      out.push(d.decode(c));
      if (out.length > 400) out.splice(0, 200);
    }
  };
  pump(proc.stdout);
  pump(proc.stderr);
  return { proc, out };
}

async function stopProc(proc: Deno.ChildProcess): Promise<void> {
  try {
    proc.kill("SIGTERM");
  } catch { /* gone */ }
  const t = setTimeout(() => {
    try {
      proc.kill("SIGKILL");
    } catch { /* gone */ }
  }, 10_000);
  await proc.status;
  clearTimeout(t);
}

/** Starts VictoriaMetrics (single node) on loopback. */
export async function startVM(
  opts: { port?: number; dataDir?: string; extra?: string[] } = {},
): Promise<Peer> {
  const port = opts.port ?? freePort();
  const dataDir = opts.dataDir ?? await Deno.makeTempDir({ prefix: "perch-vm-" });
  const { proc, out } = spawn(VM_BIN, [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${dataDir}`,
    "-retentionPeriod=100y",
    "-search.latencyOffset=0s",
    "-search.disableCache",
    ...(opts.extra ?? []),
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/health`, 30_000, proc, out);
  return { url, port, dataDir, output: out, pid: proc.pid, stop: () => stopProc(proc) };
}

/** Starts node_exporter on loopback with a few collectors (a bounded, steady set of series). */
export async function startNodeExporter(): Promise<Peer> {
  const port = freePort();
  const { proc, out } = spawn(NODE_EXPORTER_BIN, [
    `--web.listen-address=127.0.0.1:${port}`,
    "--collector.disable-defaults",
    "--collector.cpu",
    "--collector.loadavg",
    "--collector.meminfo",
    "--collector.stat",
    "--collector.vmstat",
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/metrics`, 30_000, proc, out);
  return { url, port, dataDir: "", output: out, pid: proc.pid, stop: () => stopProc(proc) };
}

/**
 * Starts vmagent scraping `target` (host:port) every `interval` and
 * remote-writing to `writeUrl`, buffering on disk while it is unreachable.
 */
export async function startVMAgent(
  o: { target: string; writeUrl: string; interval?: string },
): Promise<Peer> {
  const port = freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "perch-vmagent-" });
  const cfg = `${dataDir}/scrape.yml`;
  await Deno.writeTextFile(
    cfg,
    `global:\n  scrape_interval: ${o.interval ?? "1s"}\nscrape_configs:\n` +
      `  - job_name: node\n    static_configs: [{ targets: ["${o.target}"] }]\n`,
  );
  const { proc, out } = spawn(VMAGENT_BIN, [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-promscrape.config=${cfg}`,
    `-remoteWrite.url=${o.writeUrl}`,
    `-remoteWrite.tmpDataPath=${dataDir}/queue`,
    "-remoteWrite.flushInterval=1s",
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/health`, 30_000, proc, out);
  return { url, port, dataDir, output: out, pid: proc.pid, stop: () => stopProc(proc) };
}

/**
 * Prometheus's command line for a dir {@linkcode startPrometheus} made
 * (`prometheus.yml`, data in `data/`) on `port`, with the remote write
 * receiver: to start it again on its data.
 */
export function prometheusArgs(dir: string, port: number): string[] {
  return [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--web.enable-remote-write-receiver",
  ];
}

/**
 * Starts Prometheus with the remote write receiver and the given scrape
 * configs (YAML); `features` go to `--enable-feature` (e.g.
 * `native-histograms`, which Debian's 2.42 needs to store them).
 */
export async function startPrometheus(
  scrapeYaml = "scrape_configs: []\n",
  features: readonly string[] = [],
): Promise<Peer> {
  const port = freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "perch-prom-" });
  const cfg = `${dataDir}/prometheus.yml`;
  await Deno.writeTextFile(cfg, `global:\n  scrape_interval: 1s\n${scrapeYaml}`);
  const { proc, out } = spawn(PROM_BIN, [
    ...prometheusArgs(dataDir, port),
    ...(features.length > 0 ? [`--enable-feature=${features.join(",")}`] : []),
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/-/ready`, 30_000, proc, out);
  return { url, port, dataDir, output: out, pid: proc.pid, stop: () => stopProc(proc) };
}

/** VictoriaMetrics's raw samples per series key `name{a="b"}` via its export API. */
export async function vmExport(
  url: string,
  match: string,
): Promise<Map<string, { t: number[]; v: (number | null)[] }>> {
  const res = await fetch(
    `${url}/api/v1/export?match[]=${encodeURIComponent(match)}&start=0&end=${
      Math.ceil(Date.now() / 1000) + 3600
    }`,
  );
  const text = await res.text();
  if (!res.ok) throw new Error(`VM export: ${res.status} ${text}`);
  const out = new Map<string, { t: number[]; v: (number | null)[] }>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as {
      metric: Record<string, string>;
      values: (number | null)[];
      timestamps: number[];
    };
    const key = seriesKey(o.metric);
    const e = out.get(key) ?? { t: [], v: [] };
    e.t.push(...o.timestamps);
    e.v.push(...o.values);
    out.set(key, e);
  }
  return out;
}

/** `name{a="b",…}` from a label object, labels sorted. */
export function seriesKey(metric: Record<string, string>): string {
  const rest = Object.keys(metric).filter((k) => k !== "__name__").sort()
    .map((k) => `${k}="${metric[k]}"`);
  return `${metric.__name__ ?? ""}{${rest.join(",")}}`;
}

/** Runs an instant PromQL query on a Prometheus-API peer; returns `[labels, value]` rows. */
export async function promQuery(
  url: string,
  query: string,
  time?: number,
): Promise<[Record<string, string>, string][]> {
  const u = `${url}/api/v1/query?query=${encodeURIComponent(query)}` +
    (time ? `&time=${time / 1000}` : "");
  const res = await fetch(u);
  const j = await res.json();
  if (j.status !== "success") throw new Error(`query ${query}: ${JSON.stringify(j)}`);
  return j.data.result.map((r: { metric: Record<string, string>; value: [number, string] }) => [
    r.metric,
    r.value[1],
  ]);
}

/** Polls until `cond` holds (bounded). */
export async function eventually(
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
