/**
 * Cost of the host collector on this machine.
 *
 * `deno bench -A core/hostmetrics/host_bench.ts` times one pass over the
 * real /proc and /sys. `deno run -A core/hostmetrics/host_bench.ts [passes]`
 * prints CPU time (user + system, from /proc/self/stat) and wall time per
 * pass, the exposition size, and how heap and RSS move over the passes
 * (a steady collector's memory does not grow with the pass count).
 */
import { HostCollector } from "./collector.ts";

const collector = new HostCollector();
await collector.collect(); // Warm up: FFI open, first reads.

Deno.bench("host collector: one pass over /proc and /sys", async () => {
  await collector.collect();
});

/** utime + stime of this process, in seconds. */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

if (import.meta.main) {
  const passes = Number(Deno.args[0] ?? 200);
  const c = new HostCollector();
  let text = await c.collect();
  for (let i = 0; i < 20; i++) text = await c.collect(); // JIT warm-up.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const mem0 = Deno.memoryUsage();
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  for (let i = 0; i < passes; i++) text = await c.collect();
  const wall = performance.now() - t0;
  const cpu = cpuSeconds() - cpu0;
  gc?.();
  const mem1 = Deno.memoryUsage();
  const mib = (n: number) => (n / 2 ** 20).toFixed(2);
  console.log(`passes:                ${passes}`);
  console.log(`samples per pass:      ${c.lastStats.samples}`);
  console.log(`exposition bytes:      ${text.length}`);
  console.log(`wall ms per pass:      ${(wall / passes).toFixed(2)}`);
  console.log(`CPU ms per pass:       ${((cpu * 1000) / passes).toFixed(2)} (user+sys)`);
  console.log(
    `CPU share at 15 s:     ${((cpu / passes) / 15 * 100).toFixed(3)}% of one core`,
  );
  console.log(`heap used MiB:         ${mib(mem0.heapUsed)} → ${mib(mem1.heapUsed)}`);
  console.log(`RSS MiB:               ${mib(mem0.rss)} → ${mib(mem1.rss)}`);
  console.log(`failed sub-collectors: ${c.lastStats.failed.join(", ") || "none"}`);
}
