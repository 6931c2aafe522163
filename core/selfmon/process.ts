/**
 * Process metrics (`process_*`) and build info, as client libraries expose them.
 *
 * @module
 */
import type { Registry } from "./registry.ts";
import { VERSION } from "../version.ts";

/** Linux clock ticks per second; practically always 100. */
const CLK_TCK = 100;

/** CPU time (user + system, all threads) this process has used, in seconds; undefined off Linux. */
export function processCpuSeconds(): number | undefined {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // Fields after the command name (which may contain spaces) start at ")".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(rest[11]), stime = Number(rest[12]);
    return (utime + stime) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function countOpenFds(): number | undefined {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n;
  } catch {
    return undefined;
  }
}

/** Registers process and build-info metrics. */
export function registerProcessMetrics(registry: Registry, startTimeMs: number): void {
  registry.collected("gauge", {
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
  }, () => [{ value: Deno.memoryUsage().rss }]);
  registry.collected("gauge", {
    name: "perch_heap_used_bytes",
    help: "JavaScript heap in use, in bytes.",
  }, () => [{ value: Deno.memoryUsage().heapUsed }]);
  registry.collected("gauge", {
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds.",
  }, () => [{ value: startTimeMs / 1000 }]);
  registry.collected("counter", {
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds.",
  }, () => {
    const v = processCpuSeconds();
    return v === undefined ? [] : [{ value: v }];
  });
  registry.collected("gauge", {
    name: "process_open_fds",
    help: "Number of open file descriptors.",
  }, () => {
    const v = countOpenFds();
    return v === undefined ? [] : [{ value: v }];
  });
  registry.collected("gauge", {
    name: "perch_build_info",
    help: "A metric with a constant 1 value labelled by version and runtime.",
  }, () => [{
    labels: {
      version: VERSION,
      deno_version: Deno.version.deno,
      v8_version: Deno.version.v8,
      os: Deno.build.os,
      arch: Deno.build.arch,
    },
    value: 1,
  }]);
}
