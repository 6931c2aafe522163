/**
 * What the built-in host collector costs a whole Perch process: runs two
 * Perch children side by side for the same time, one with `host_metrics`
 * (and the self-scrape) every `interval` and one with host metrics off, and prints the difference in CPU time
 * (user + system from /proc/<pid>/stat) per collection and in RSS.
 * Both children run at once so machine load affects them alike.
 *
 * Usage: deno run -A tools/host_cost.ts [seconds=60] [interval=1s]
 */
import { parseDuration } from "../core/model/units.ts";
import { spawnPerch } from "../tests/_perch.ts";

const seconds = Number(Deno.args[0] ?? 60);
const interval = Deno.args[1] ?? "1s";

function procStat(pid: number): { cpu: number; rssMiB: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { cpu: (Number(f[11]) + Number(f[12])) / 100, rssMiB: rss };
}

async function start(hostOn: boolean) {
  const dir = await Deno.makeTempDir({ prefix: "perch-host-cost-" });
  await Deno.writeTextFile(
    `${dir}/perch.yml`,
    `host_metrics:\n  enabled: ${hostOn}\n  interval: ${interval}\nself_scrape:\n  interval: ${interval}\n`,
  );
  const p = await spawnPerch({
    args: [`--config=${dir}/perch.yml`],
    dataDir: `${dir}/data`,
    // As `deno task start` and the compiled binary run.
    runArgs: ["--v8-flags=--max-semi-space-size=1"],
  });
  return { p, dir };
}

const on = await start(true);
const off = await start(false);
try {
  // Let start-up settle (and the first host scrape create its series) before measuring.
  await new Promise((r) => setTimeout(r, Math.max(10_000, 2 * parseDuration(interval)!)));
  const a0 = procStat(on.p.process.pid), b0 = procStat(off.p.process.pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const a1 = procStat(on.p.process.pid), b1 = procStat(off.p.process.pid);
  const cpuOn = a1.cpu - a0.cpu, cpuOff = b1.cpu - b0.cpu;
  console.log(`measured ${seconds} s, host collector every ${interval}`);
  console.log(`CPU s, host on:  ${cpuOn.toFixed(2)}   off: ${cpuOff.toFixed(2)}`);
  console.log(
    `CPU per collection (collect + scrape parse + append): ${
      ((cpuOn - cpuOff) / (seconds * 1000 / parseDuration(interval)!) * 1000).toFixed(1)
    } ms`,
  );
  console.log(
    `RSS MiB, host on: ${a1.rssMiB.toFixed(1)}   off: ${b1.rssMiB.toFixed(1)}   ` +
      `difference: ${(a1.rssMiB - b1.rssMiB).toFixed(1)}`,
  );
  const heap = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^perch_heap_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
  };
  console.log(
    `JS heap used MiB, host on: ${(await heap(on.p.url)).toFixed(1)}   off: ${
      (await heap(off.p.url)).toFixed(1)
    }`,
  );
} finally {
  for (const x of [on, off]) {
    await x.p.stop();
    await Deno.remove(x.dir, { recursive: true }).catch(() => {});
  }
}
