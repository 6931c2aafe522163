/**
 * node_exporter's `cpu`, `stat` and `cpufreq` collectors: /proc/stat and
 * /sys/devices/system/cpu.
 *
 * @module
 */
import type { Exposition } from "./exposition.ts";
import { type CpuTimes, parseProcStat } from "./procfs.ts";
import { type HostPaths, readOptional } from "./_source.ts";

/** cpufreq files (kHz) -> node_cpu_<name> (Hz), as node_exporter's cpufreq collector names them. */
const CPUFREQ_FILES: readonly [string, string, string][] = [
  ["cpuinfo_cur_freq", "frequency_hertz", "Current CPU thread frequency in hertz."],
  ["cpuinfo_avg_freq", "frequency_avg_hertz", "Average CPU thread frequency in hertz."],
  ["cpuinfo_min_freq", "frequency_min_hertz", "Minimum CPU thread frequency in hertz."],
  ["cpuinfo_max_freq", "frequency_max_hertz", "Maximum CPU thread frequency in hertz."],
  ["scaling_cur_freq", "scaling_frequency_hertz", "Current scaled CPU thread frequency in hertz."],
  [
    "scaling_min_freq",
    "scaling_frequency_min_hertz",
    "Minimum scaled CPU thread frequency in hertz.",
  ],
  [
    "scaling_max_freq",
    "scaling_frequency_max_hertz",
    "Maximum scaled CPU thread frequency in hertz.",
  ],
];

const CPU_MODES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"] as const;
/** A CPU counter that drops by more than this is taken as a reset (CPU hotplug). */
const CPU_JUMP_BACK_SECONDS = 3;

/** `stat`: interrupts, context switches, forks, boot time and process counts from /proc/stat. */
export function collectStat(statText: string, out: Exposition): void {
  const stat = parseProcStat(statText);
  const add = (n: string, h: string, t: "counter" | "gauge", v: number | undefined) => {
    if (v !== undefined) out.add(n, h, t, v);
  };
  add("node_intr_total", "Total number of interrupts serviced.", "counter", stat.intr);
  add("node_context_switches_total", "Total number of context switches.", "counter", stat.ctxt);
  add("node_forks_total", "Total number of forks.", "counter", stat.processes);
  add("node_boot_time_seconds", "Node boot time, in unixtime.", "gauge", stat.btime);
  add(
    "node_procs_running",
    "Number of processes in runnable state.",
    "gauge",
    stat.procsRunning,
  );
  add(
    "node_procs_blocked",
    "Number of processes blocked waiting for I/O to complete.",
    "gauge",
    stat.procsBlocked,
  );
}

/**
 * `cpu`: per-CPU mode seconds from /proc/stat, kept from stepping back
 * against `last` (the times of the last pass); returns this pass's times.
 */
export function collectCpu(
  statText: string,
  last: ReadonlyMap<string, CpuTimes>,
  max: number,
  out: Exposition,
): Map<string, CpuTimes> {
  const stat = parseProcStat(statText);
  const next = new Map<string, CpuTimes>();
  for (const c0 of stat.cpus.slice(0, max)) {
    const prev = last.get(c0.cpu);
    // Idle and iowait may step back a little on tickless kernels: keep the
    // counter monotonic unless the drop is large (a CPU was re-onlined).
    const c = prev === undefined ? c0 : monotonic(prev, c0);
    next.set(c.cpu, c);
    for (const mode of CPU_MODES) {
      out.add(
        "node_cpu_seconds_total",
        "Seconds the CPUs spent in each mode.",
        "counter",
        c[mode],
        { cpu: c.cpu, mode },
      );
    }
    const gh = "Seconds the CPUs spent in guests (VMs) for each mode.";
    out.add("node_cpu_guest_seconds_total", gh, "counter", c.guest, { cpu: c.cpu, mode: "user" });
    out.add("node_cpu_guest_seconds_total", gh, "counter", c.guestNice, {
      cpu: c.cpu,
      mode: "nice",
    });
  }
  return next;
}

/** `cpufreq`: frequencies and governors from /sys/devices/system/cpu/cpuN/cpufreq. */
export function collectCpufreq(src: HostPaths, out: Exposition): void {
  const root = `${src.sys}/devices/system/cpu`;
  const cpus: string[] = [];
  for (const e of Deno.readDirSync(root)) {
    if (/^cpu\d+$/.test(e.name)) cpus.push(e.name.slice(3));
  }
  cpus.sort((a, b) => Number(a) - Number(b));
  for (const cpu of cpus.slice(0, src.max)) {
    const dir = `${root}/cpu${cpu}/cpufreq`;
    // kHz in sysfs; unreadable files (cpuinfo_cur_freq needs root) are left out.
    for (const [file, name, help] of CPUFREQ_FILES) {
      const t = readOptional(`${dir}/${file}`);
      const v = Number(t);
      if (t === undefined || t === "" || !Number.isFinite(v)) continue;
      out.add(`node_cpu_${name}`, help, "gauge", v * 1000, { cpu });
    }
    const governor = readOptional(`${dir}/scaling_governor`);
    if (!governor) continue;
    const available = (readOptional(`${dir}/scaling_available_governors`) ?? "").split(/\s+/);
    for (const g of available.filter((x) => x !== "")) {
      out.add(
        "node_cpu_scaling_governor",
        "Current enabled CPU frequency governor.",
        "gauge",
        g === governor ? 1 : 0,
        { cpu, governor: g },
      );
    }
  }
}

/** Keeps each CPU counter from stepping back, unless it dropped by more than a few seconds. */
function monotonic(prev: CpuTimes, next: CpuTimes): CpuTimes {
  const keep = (k: keyof Omit<CpuTimes, "cpu">) => {
    const p = prev[k], n = next[k];
    return n < p && p - n < CPU_JUMP_BACK_SECONDS ? p : n;
  };
  return {
    cpu: next.cpu,
    user: keep("user"),
    nice: keep("nice"),
    system: keep("system"),
    idle: keep("idle"),
    iowait: keep("iowait"),
    irq: keep("irq"),
    softirq: keep("softirq"),
    steal: keep("steal"),
    guest: keep("guest"),
    guestNice: keep("guestNice"),
  };
}
