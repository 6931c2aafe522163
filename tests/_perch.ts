/**
 * Test helpers: start Perch as a child process on a free port with its own
 * data dir, and wait for it to listen.
 */

export const ROOT = new URL("../", import.meta.url).pathname;

/** A TCP port on 127.0.0.1 that was free a moment ago (for peers that need one up front). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A Perch child process. */
export interface PerchProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly process: Deno.ChildProcess;
  /** Log lines seen so far (the last `keepLogs` of them). */
  readonly logs: string[];
  /** Sends a signal and waits for exit; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Waits for a log line matching `pred` (bounded by `timeoutMs`). */
  waitForLog(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
}

/** Options for {@linkcode spawnPerch}. */
export interface SpawnOptions {
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  readonly dataDir?: string;
  readonly cwd?: string;
  /** Run this script instead of main.ts (e.g. a bundled file). */
  readonly script?: string;
  readonly startTimeoutMs?: number;
  /** Extra arguments for `deno run` before the script. */
  readonly runArgs?: readonly string[];
  /** Called with each output line as it arrives (stdout and stderr). */
  readonly onLog?: (line: string) => void;
  /** Keep only the last this many lines in `logs` (a long run). @default {Infinity} */
  readonly keepLogs?: number;
}

/** Calls `onLine` with each line of `stream` (without its newline) until the stream ends. */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      onLine(line);
    }
  }
}

/** Starts Perch on 127.0.0.1 with port 0 and resolves once it listens. */
export async function spawnPerch(opts: SpawnOptions = {}): Promise<PerchProcess> {
  const dataDir = opts.dataDir ?? await Deno.makeTempDir({ prefix: "perch-test-" });
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...(opts.runArgs ?? []),
      opts.script ?? `${ROOT}main.ts`,
      "--listen=127.0.0.1:0",
      `--data-dir=${dataDir}`,
      ...(opts.args ?? []),
    ],
    env: { NO_COLOR: "1", ...opts.env },
    cwd: opts.cwd ?? ROOT,
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  const logs: string[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  const keep = opts.keepLogs ?? Infinity;
  const onLine = (line: string) => {
    logs.push(line);
    if (logs.length > keep) logs.shift();
    opts.onLog?.(line);
    for (const w of [...waiters]) {
      if (w.pred(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  const pumps = Promise.all([forEachLine(child.stdout, onLine), forEachLine(child.stderr, onLine)]);

  const waitForLog = (pred: (line: string) => boolean, timeoutMs = 20_000) => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out waiting for log line; got:\n${logs.join("\n")}`));
      }, timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  };

  const exited = child.status;
  const listening = await Promise.race([
    waitForLog((l) => l.includes('"msg":"listening"'), opts.startTimeoutMs ?? 60_000),
    exited.then(async (s) => {
      await pumps;
      throw new Error(`perch exited with ${s.code} before listening:\n${logs.join("\n")}`);
    }),
  ]);
  const addr = JSON.parse(listening).addr as string;
  const port = Number(addr.slice(addr.lastIndexOf(":") + 1));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    process: child,
    logs,
    waitForLog,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
      const s = await exited;
      await pumps;
      return s.code;
    },
  };
}

/** Numbered batches sent across SIGKILL rounds: every id tried, and those Perch acknowledged. */
export interface KillRounds {
  readonly attempted: Set<number>;
  readonly acked: Set<number>;
  /** The next batch id. */
  next: number;
}

/**
 * Two writers send numbered batches to `p` side by side until, after
 * `killAfterMs`, `p` is killed with SIGKILL. `send` posts batch `id` and
 * resolves true when Perch acknowledged it; a throw (the process is gone)
 * ends that writer.
 */
export async function writeUntilSigkill(
  p: PerchProcess,
  rounds: KillRounds,
  send: (url: string, id: number) => Promise<boolean>,
  killAfterMs: number,
): Promise<void> {
  let killed = false;
  const writer = async () => {
    while (!killed) {
      const id = rounds.next++;
      rounds.attempted.add(id);
      try {
        if (await send(p.url, id)) rounds.acked.add(id);
      } catch {
        return; // The process is gone.
      }
    }
  };
  const writers = [writer(), writer()];
  await new Promise((r) => setTimeout(r, killAfterMs));
  killed = true;
  await p.stop("SIGKILL");
  await Promise.all(writers);
}

/** Options for {@linkcode spawnWithConfig}. */
export interface ConfigSpawnOptions extends SpawnOptions {
  /** Where to write the config; a new temp dir when absent. */
  readonly dir?: string;
  /** Files written beside the config first (path relative to the dir → text), e.g. rule files. */
  readonly files?: Readonly<Record<string, string>>;
}

/**
 * Starts Perch with `yaml` as its config file: `<dir>/perch.yml`, with
 * `files` beside it and the data in `<dir>/data` unless `dataDir` says
 * otherwise.
 */
export async function spawnWithConfig(
  yaml: string,
  opts: ConfigSpawnOptions = {},
): Promise<PerchProcess & { readonly dir: string; readonly config: string }> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "perch-test-" });
  for (const [name, text] of Object.entries(opts.files ?? {})) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  const config = `${dir}/perch.yml`;
  await Deno.writeTextFile(config, yaml);
  const p = await spawnPerch({
    ...opts,
    args: [`--config=${config}`, ...(opts.args ?? [])],
    dataDir: opts.dataDir ?? `${dir}/data`,
  });
  return { ...p, dir, config };
}

/**
 * A route that sends every alert, grouped by name, to the webhook `url`
 * (receiver `hook`) quickly: group_wait 100 ms, group_interval 1 s.
 */
export function hookRouteYaml(url: string): string {
  return `route:
  receiver: hook
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ${url}
`;
}

/** Runs Perch to completion with `args` (for config errors) and returns code and output. */
export async function runPerch(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}main.ts`, ...args],
    env: { NO_COLOR: "1", ...env },
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** VmRSS, VmHWM (peak), RssAnon and RssFile of `pid` in MiB, and its thread count. */
export function procMem(pid: number): Record<string, number> {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const out: Record<string, number> = {};
  for (const k of ["VmRSS", "VmHWM", "RssAnon", "RssFile"]) {
    const m = new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text);
    out[k] = m ? +(Number(m[1]) / 1024).toFixed(1) : NaN;
  }
  const threads = /^Threads:\s+(\d+)/m.exec(text);
  out.threads = threads ? Number(threads[1]) : NaN;
  return out;
}

/** User + system CPU seconds `pid` has used (utime + stime of /proc/<pid>/stat, 10 ms ticks). */
export function procCpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // fields 14 and 15, in USER_HZ ticks
}

/** CPU seconds of the main thread of `pid` (its task `pid`), from its scheduler statistics. */
export function mainThreadCpuSeconds(pid: number): number {
  return Number(Deno.readTextFileSync(`/proc/${pid}/task/${pid}/schedstat`).split(" ")[0]) / 1e9;
}

/** Resets the peak RSS (VmHWM) of `pid`, so a later read shows the peak since now. */
export function resetPeakRss(pid: number): void {
  Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
}
