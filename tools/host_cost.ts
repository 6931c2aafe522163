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
import { procCpuSeconds, procMem, spawnWithConfig } from "../tests/_perch.ts";
import { PERCH_V8_FLAGS } from "./_v8_flags.ts";

const seconds = Number(Deno.args[0] ?? 60);
const interval = Deno.args[1] ?? "1s";

function procStat(pid: number): { cpu: number; rssMiB: number } {
  return { cpu: procCpuSeconds(pid), rssMiB: procMem(pid).VmRSS! };
}

/** A Perch child with host metrics on or off, in a temp dir. */
function start(hostOn: boolean) {
  return spawnWithConfig(
    `host_metrics:\n  enabled: ${hostOn}\n  interval: ${interval}\nself_scrape:\n  interval: ${interval}\n`,
    // As `deno task start` and the compiled binary run.
    { runArgs: [`--v8-flags=${PERCH_V8_FLAGS}`] },
  );
}

const on = await start(true);
const off = await start(false);
try {
  // Let start-up settle (and the first host scrape create its series) before measuring.
  await new Promise((r) => setTimeout(r, Math.max(10_000, 2 * parseDuration(interval)!)));
  const a0 = procStat(on.process.pid), b0 = procStat(off.process.pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const a1 = procStat(on.process.pid), b1 = procStat(off.process.pid);
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
    `JS heap used MiB, host on: ${(await heap(on.url)).toFixed(1)}   off: ${
      (await heap(off.url)).toFixed(1)
    }`,
  );
} finally {
  for (const x of [on, off]) {
    await x.stop();
    await Deno.remove(x.dir, { recursive: true }).catch(() => {});
  }
}
