/**
 * Where Perch's start-up CPU goes (`deno run` has no `--cpu-prof`): starts
 * Perch on a data dir under V8's inspector, records a CPU profile from its
 * first line of code until `/health` answers 200 and a query is answered,
 * writes it (open the `.cpuprofile` in Chrome DevTools) and prints the
 * functions with the most self time and, per time window, what ran most.
 *
 *   deno run --allow-all tools/startup_profile.ts --data-dir=PATH
 *     [--script=main.ts] [--config=FILE] [--out=startup.cpuprofile] [--top=30] [--window-ms=10]
 *
 * `--script` may be a `deno bundle` of main.ts (a `.js` file; run as
 * tools/restart_bench.ts runs bundles). Not in the profile: what Deno does
 * before the first line runs (loading the module graph, syncing
 * `node_modules`); tools/restart_bench.ts times the whole. The inspector
 * slows the process down somewhat; compare shares, not absolute times.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { freePort } from "../tests/_perch.ts";
import { connectCdp } from "./_cdp.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    "data-dir": { type: "string" },
    script: { type: "string", default: new URL("../main.ts", import.meta.url).pathname },
    config: { type: "string" },
    out: { type: "string", default: "startup.cpuprofile" },
    top: { type: "string", default: "30" },
    "window-ms": { type: "string", default: "10" },
  },
});
if (!a["data-dir"]) throw new Error("--data-dir is required");
const QUERY = "count(last_over_time(node_load1[2h]))";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Profile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

async function until<T>(f: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 5000; i++) {
    const x = await f().catch(() => undefined);
    if (x !== undefined) return x;
    await new Promise((r) => setTimeout(r, 4));
  }
  throw new Error("Perch did not get ready under the inspector");
}

const inspect = freePort(), port = freePort();
const bundle = a.script!.endsWith(".js") ? ["--no-config", "--no-lock", "--unstable-kv"] : [];
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-all",
    `--inspect-brk=127.0.0.1:${inspect}`,
    ...bundle,
    a.script!,
    `--listen=127.0.0.1:${port}`,
    `--data-dir=${a["data-dir"]}`,
    ...(a.config ? [`--config=${a.config}`] : []),
  ],
  env: { NO_COLOR: "1", ...(bundle.length ? { DENO_NO_PACKAGE_JSON: "1" } : {}) },
  stdout: "null",
  stderr: "null",
}).spawn();
let profile: Profile;
try {
  const targets = await until(async () => {
    const l = await (await fetch(`http://127.0.0.1:${inspect}/json/list`)).json();
    return l.length > 0 ? l as { webSocketDebuggerUrl: string }[] : undefined;
  });
  const cdp = await connectCdp(targets[0].webSocketDebuggerUrl);
  await cdp.post("Profiler.enable");
  await cdp.post("Profiler.setSamplingInterval", { interval: 100 });
  await cdp.post("Profiler.start");
  const t0 = performance.now();
  // Sent again until Perch answers: one sent too early after the session
  // opened is sometimes lost, leaving Perch waiting at its first line.
  const run = () => void cdp.post("Runtime.runIfWaitingForDebugger").catch(() => {});
  run();
  const kick = setInterval(run, 100);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    const h = await fetch(`${url}/health`);
    await h.body?.cancel();
    if (h.status !== 200) return undefined;
    const q = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(QUERY)}`);
    return (await q.json()).status === "success" ? true : undefined;
  }).finally(() => clearInterval(kick));
  console.log(
    `ready and a query answered ${(performance.now() - t0).toFixed(0)} ms after the first line ran`,
  );
  profile = ((await cdp.post("Profiler.stop")) as { profile: Profile }).profile;
  cdp.close();
} finally {
  child.kill("SIGKILL");
  await child.status;
}
await Deno.writeTextFile(a.out!, JSON.stringify(profile));
console.log(`profile written to ${a.out}`);

const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
const label = (f: CallFrame) =>
  `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(node_modules\/.deno\/)?/, "")}${
    f.url ? `:${f.lineNumber + 1}` : ""
  }`;
const windowUs = Number(a["window-ms"]) * 1000;
const self = new Map<string, number>();
const windows: Map<string, number>[] = [];
let t = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i];
  t += dt;
  const k = label(frames.get(id)!);
  self.set(k, (self.get(k) ?? 0) + dt);
  const w = windows[Math.floor(t / windowUs)] ??= new Map();
  w.set(k, (w.get(k) ?? 0) + dt);
});
const ms = (us: number) => (us / 1000).toFixed(1).padStart(6);
const top = (m: Map<string, number>, n: number) => [...m].sort((x, y) => y[1] - x[1]).slice(0, n);
console.log(`\nself time, ms (of ${ms(t)} sampled):`);
for (const [k, us] of top(self, Number(a.top))) console.log(`${ms(us)}  ${k}`);
console.log(`\ntimeline (${a["window-ms"]} ms windows; the two functions with most self time):`);
windows.forEach((w, i) => {
  const at = String(i * Number(a["window-ms"])).padStart(5);
  console.log(`${at}  ${top(w, 2).map(([k, us]) => `${ms(us).trim()} ${k}`).join(" | ")}`);
});
