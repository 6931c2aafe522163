/**
 * Live-mode cost: a 30-panel dashboard (4 queries each) on a 5 s refresh,
 * open in N headless Chromium pages against one Perch child, while a pusher
 * adds samples every second. Prints, per minute: HTTP query requests, socket
 * messages, and the Perch process's CPU seconds (from /proc/<pid>/stat).
 *
 *   deno run -A tools/live_bench.ts [--browsers 3] [--seconds 60] [--main path/to/main.ts]
 *
 * `--main` runs another checkout's Perch (e.g. an older commit) with the same
 * harness, so before/after numbers come from one run on one machine.
 *
 * @module
 */
import { Browser } from "../tests/browser/_cdp.ts";
import { procCpuSeconds as cpuSeconds, spawnPerch } from "../tests/_perch.ts";
import { thirtyPanels } from "../tests/browser/_real_perch.ts";

function arg(name: string, def: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] ?? def : def;
}

const browsers = Number(arg("browsers", "3"));
const seconds = Number(arg("seconds", "60"));
const main = arg("main", "");

const BIG = thirtyPanels(
  { from: "now-15m", refresh: "5s" },
  (k) => `sum(rate(bench_requests_total{k="${k}"}[1m]))`,
);

const dir = await Deno.makeTempDir({ prefix: "perch-live-bench-" });
await Deno.mkdir(`${dir}/dashboards`);
await Deno.writeTextFile(`${dir}/dashboards/big.json`, JSON.stringify(BIG));
/** Starts Perch with `extra` config lines (host metrics off, unless the checkout predates them). */
async function start(extra: string, data: string) {
  await Deno.writeTextFile(
    `${dir}/perch.yml`,
    `dashboards:\n  provision_dir: ${dir}/dashboards\nself_scrape:\n  enabled: false\n${extra}`,
  );
  return await spawnPerch({
    args: [`--config=${dir}/perch.yml`],
    dataDir: `${dir}/${data}`,
    ...(main ? { script: main } : {}),
  });
}
// Older checkouts have no host_metrics section and refuse it.
const perch = await start("host_metrics:\n  enabled: false\n", "data")
  .catch(() => start("", "data2"));
const pages: Browser[] = [];
let pushing = true;
let n = 0;
const pusher = (async () => {
  while (pushing) {
    n++;
    const body = [0, 1, 2, 3].map((k) => `bench_requests_total{k="${k}"} ${n * (k + 1)}`).join(
      "\n",
    );
    await fetch(`${perch.url}/api/v1/import/prometheus`, { method: "POST", body: body + "\n" })
      .then((r) => r.body?.cancel());
    await new Promise((r) => setTimeout(r, 1000));
  }
})();
try {
  let http = 0, frames = 0;
  for (let i = 0; i < browsers; i++) {
    const b = await Browser.launch({ width: 1280, height: 2400 });
    await b.send("Network.enable");
    b.on("Network.requestWillBeSent", (p) => {
      if (String((p.request as { url: string }).url).includes("/api/v1/query")) http++;
    });
    b.on("Network.webSocketFrameReceived", () => frames++);
    await b.goto(`${perch.url}/d/big?refresh=5s`);
    pages.push(b);
  }
  // Let every page load and subscribe, then measure.
  await new Promise((r) => setTimeout(r, 10_000));
  const pid = perch.process.pid;
  const cpu0 = cpuSeconds(pid), http0 = http, frames0 = frames;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = cpuSeconds(pid) - cpu0;
  const perMin = (x: number) => (x * 60 / seconds).toFixed(0);
  console.log(
    `${main || "this checkout"}: ${browsers} browsers × 30 panels (120 queries) on 5 s refresh, ` +
      `per minute: ${perMin(http - http0)} HTTP query requests, ${
        perMin(frames - frames0)
      } socket messages, ${(cpu * 60 / seconds).toFixed(2)} s Perch CPU`,
  );
} finally {
  pushing = false;
  await pusher;
  for (const b of pages) await b.close();
  await perch.stop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
