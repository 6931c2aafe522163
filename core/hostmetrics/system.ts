/**
 * node_exporter's collectors of kernel-wide figures: `meminfo`, `loadavg`,
 * `vmstat`, `pressure`, `filefd`, `entropy` and `uname`.
 *
 * @module
 */
import type { Exposition } from "./exposition.ts";
import { parseFileNr, parseLoadavg, parseMeminfo, parsePressure } from "./procfs.ts";
import { type HostPaths, NoDataError, readOptional, readText } from "./_source.ts";

/** node_exporter's default `--collector.vmstat.fields`. */
const VMSTAT_FIELDS = /^(oom_kill|pgpg|pswp|pg.*fault).*/;

/** /proc/pressure resource, line kind, metric name and help. */
const PRESSURE: readonly [string, "some" | "full", string, string][] = [
  ["cpu", "some", "cpu_waiting", "Total time in seconds that processes have waited for CPU time"],
  [
    "io",
    "some",
    "io_waiting",
    "Total time in seconds that processes have waited due to IO congestion",
  ],
  [
    "io",
    "full",
    "io_stalled",
    "Total time in seconds no process could make progress due to IO congestion",
  ],
  [
    "memory",
    "some",
    "memory_waiting",
    "Total time in seconds that processes have waited for memory",
  ],
  [
    "memory",
    "full",
    "memory_stalled",
    "Total time in seconds no process could make progress due to memory congestion",
  ],
  [
    "irq",
    "full",
    "irq_stalled",
    "Total time in seconds no process could make progress due to IRQ congestion",
  ],
];

/** `meminfo`: every field of /proc/meminfo. */
export function collectMeminfo(src: HostPaths, out: Exposition): void {
  const m = parseMeminfo(readText(`${src.proc}/meminfo`));
  for (const [k, v] of m) {
    out.add(
      `node_memory_${k}`,
      `Memory information field ${k}.`,
      k.endsWith("_total") ? "counter" : "gauge",
      v,
    );
  }
}

/** `loadavg`: /proc/loadavg. */
export function collectLoadavg(src: HostPaths, out: Exposition): void {
  const l = parseLoadavg(readText(`${src.proc}/loadavg`));
  if (!l) throw new Error("unexpected content in /proc/loadavg");
  out.add("node_load1", "1m load average.", "gauge", l[0]);
  out.add("node_load5", "5m load average.", "gauge", l[1]);
  out.add("node_load15", "15m load average.", "gauge", l[2]);
}

/** `vmstat`: the /proc/vmstat fields node_exporter exports by default. */
export function collectVmstat(src: HostPaths, out: Exposition): void {
  const text = readText(`${src.proc}/vmstat`);
  for (const line of text.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp <= 0) continue;
    const key = line.slice(0, sp);
    if (!VMSTAT_FIELDS.test(key)) continue;
    const v = Number(line.slice(sp + 1));
    if (!Number.isFinite(v)) continue;
    out.add(`node_vmstat_${key}`, `/proc/vmstat information field ${key}.`, "untyped", v);
  }
}

/** `pressure`: PSI stall times from /proc/pressure. */
export function collectPressure(src: HostPaths, out: Exposition): void {
  const texts = ["cpu", "io", "memory", "irq"].map((r) =>
    readOptional(`${src.proc}/pressure/${r}`)
  );
  const byRes = new Map(["cpu", "io", "memory", "irq"].map((r, i) => [r, texts[i]]));
  if (texts.every((t) => t === undefined)) throw new NoDataError("no PSI");
  for (const [res, kind, name, help] of PRESSURE) {
    const t = byRes.get(res);
    if (t === undefined) continue;
    const v = parsePressure(t)[kind];
    if (v !== undefined) out.add(`node_pressure_${name}_seconds_total`, help, "counter", v);
  }
}

/** `filefd`: /proc/sys/fs/file-nr. */
export function collectFilefd(src: HostPaths, out: Exposition): void {
  const f = parseFileNr(readText(`${src.proc}/sys/fs/file-nr`));
  if (!f) throw new Error("unexpected content in file-nr");
  out.add(
    "node_filefd_allocated",
    "File descriptor statistics: allocated.",
    "gauge",
    f.allocated,
  );
  out.add("node_filefd_maximum", "File descriptor statistics: maximum.", "gauge", f.maximum);
}

/** `entropy`: /proc/sys/kernel/random. */
export function collectEntropy(src: HostPaths, out: Exposition): void {
  const [avail, pool] = [
    readText(`${src.proc}/sys/kernel/random/entropy_avail`),
    readOptional(`${src.proc}/sys/kernel/random/poolsize`),
  ];
  out.add("node_entropy_available_bits", "Bits of available entropy.", "gauge", Number(avail));
  if (pool !== undefined) {
    out.add("node_entropy_pool_size_bits", "Bits of entropy pool.", "gauge", Number(pool));
  }
}

/** `uname`: /proc/sys/kernel. */
export function collectUname(src: HostPaths, out: Exposition): void {
  const k = `${src.proc}/sys/kernel`;
  const [sysname, release, version, nodename, domainname, arch] = [
    readText(`${k}/ostype`),
    readText(`${k}/osrelease`),
    readText(`${k}/version`),
    readText(`${k}/hostname`),
    readOptional(`${k}/domainname`),
    readOptional(`${k}/arch`),
  ];
  out.add(
    "node_uname_info",
    "Labeled system information as provided by the uname system call.",
    "gauge",
    1,
    {
      sysname: sysname.trim(),
      release: release.trim(),
      version: version.trim(),
      // uname -m; kernels before 6.1 have no /proc/sys/kernel/arch, and
      // Deno runs only where its arch name equals uname's.
      machine: arch ?? Deno.build.arch,
      nodename: nodename.trim(),
      domainname: domainname ?? "(none)",
    },
  );
}
