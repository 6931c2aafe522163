/**
 * Pure parsers for the `/proc` files the host collector reads: text in,
 * numbers out, no IO. Field meanings follow proc(5) and the kernel's
 * Documentation/ (iostats, psi); units are converted where node_exporter
 * converts them (ticks -> seconds, kB -> bytes, sectors -> bytes).
 *
 * @module
 */

/** USER_HZ: /proc/stat counts CPU time in 1/100 s on every Linux architecture. */
export const USER_HZ = 100;

/** CPU time of one CPU from /proc/stat, in seconds. */
export interface CpuTimes {
  /** The number after `cpu` (`"0"`, `"1"`, ...). */
  readonly cpu: string;
  readonly user: number;
  readonly nice: number;
  readonly system: number;
  readonly idle: number;
  readonly iowait: number;
  readonly irq: number;
  readonly softirq: number;
  readonly steal: number;
  readonly guest: number;
  readonly guestNice: number;
}

/** The parts of /proc/stat node_exporter's cpu and stat collectors use. */
export interface ProcStat {
  readonly cpus: CpuTimes[];
  readonly intr?: number;
  readonly ctxt?: number;
  readonly btime?: number;
  readonly processes?: number;
  readonly procsRunning?: number;
  readonly procsBlocked?: number;
}

/** Parses /proc/stat (per-CPU lines only; the aggregate `cpu` line is skipped). */
export function parseProcStat(text: string): ProcStat {
  const cpus: CpuTimes[] = [];
  const out: {
    intr?: number;
    ctxt?: number;
    btime?: number;
    processes?: number;
    procsRunning?: number;
    procsBlocked?: number;
  } = {};
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const sp = line.indexOf(" ");
    if (sp <= 0) continue;
    const key = line.slice(0, sp);
    if (key.startsWith("cpu")) {
      if (key === "cpu") continue;
      const f = line.slice(sp + 1).trim().split(/\s+/).map(Number);
      const t = (i: number) => (f[i] ?? 0) / USER_HZ;
      cpus.push({
        cpu: key.slice(3),
        user: t(0),
        nice: t(1),
        system: t(2),
        idle: t(3),
        iowait: t(4),
        irq: t(5),
        softirq: t(6),
        steal: t(7),
        guest: t(8),
        guestNice: t(9),
      });
      continue;
    }
    // `intr` is followed by one count per interrupt line: only the total matters.
    const rest = line.slice(sp + 1).trimStart();
    const firstEnd = rest.indexOf(" ");
    const v = Number(firstEnd < 0 ? rest : rest.slice(0, firstEnd));
    if (!Number.isFinite(v)) continue;
    switch (key) {
      case "intr":
        out.intr = v;
        break;
      case "ctxt":
        out.ctxt = v;
        break;
      case "btime":
        out.btime = v;
        break;
      case "processes":
        out.processes = v;
        break;
      case "procs_running":
        out.procsRunning = v;
        break;
      case "procs_blocked":
        out.procsBlocked = v;
        break;
    }
  }
  return { cpus, ...out };
}

/**
 * Parses /proc/meminfo into node_exporter's metric suffixes:
 * `Active(anon)` -> `Active_anon`, and a `kB` value becomes bytes with a
 * `_bytes` suffix (`MemTotal_bytes`); counts such as `HugePages_Total` keep
 * their name.
 */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const parts = line.slice(colon + 1).trim().split(/\s+/);
    const v = Number(parts[0]);
    if (parts[0] === "" || !Number.isFinite(v)) continue;
    const key = line.slice(0, colon).replace(/\((.*)\)/, "_$1");
    if (parts.length >= 2) out.set(`${key}_bytes`, v * 1024);
    else out.set(key, v);
  }
  return out;
}

/** Parses /proc/loadavg: the 1, 5 and 15 minute load averages. */
export function parseLoadavg(text: string): [number, number, number] | undefined {
  const f = text.trim().split(/\s+/);
  const l = [Number(f[0]), Number(f[1]), Number(f[2])];
  if (f.length < 3 || l.some((x) => !Number.isFinite(x))) return undefined;
  return [l[0]!, l[1]!, l[2]!];
}

/** One line of /proc/diskstats: the device name and its raw counters (11, 15 or 17). */
export interface DiskStatsLine {
  readonly major: number;
  readonly minor: number;
  readonly device: string;
  readonly fields: readonly number[];
}

/** Parses /proc/diskstats. */
export function parseDiskstats(text: string): DiskStatsLine[] {
  const out: DiskStatsLine[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    out.push({
      major: Number(f[0]),
      minor: Number(f[1]),
      device: f[2]!,
      fields: f.slice(3).map(Number),
    });
  }
  return out;
}

/** Counters of one network device from /proc/net/dev, named as node_exporter names them. */
export interface NetDevLine {
  readonly device: string;
  /** `receive_bytes`, `transmit_errs`, ... (without `_total`). */
  readonly stats: ReadonlyMap<string, number>;
}

const NET_DEV_FIELDS = [
  "receive_bytes",
  "receive_packets",
  "receive_errs",
  "receive_drop",
  "receive_fifo",
  "receive_frame",
  "receive_compressed",
  "receive_multicast",
  "transmit_bytes",
  "transmit_packets",
  "transmit_errs",
  "transmit_drop",
  "transmit_fifo",
  "transmit_colls",
  "transmit_carrier",
  "transmit_compressed",
] as const;

/**
 * Parses /proc/net/dev. The kernel's columns already are node_exporter's
 * "legacy" sums (drop includes missed, frame includes length/over/crc, the
 * carrier column includes aborted/window/heartbeat errors).
 */
export function parseNetDev(text: string): NetDevLine[] {
  const out: NetDevLine[] = [];
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const device = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (device === "" || f.length < NET_DEV_FIELDS.length) continue;
    const stats = new Map<string, number>();
    NET_DEV_FIELDS.forEach((name, i) => stats.set(name, f[i]!));
    out.push({ device, stats });
  }
  return out;
}

/** One mount from /proc/<pid>/mountinfo. */
export interface MountInfo {
  readonly major: number;
  readonly minor: number;
  readonly mountPoint: string;
  readonly options: readonly string[];
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: readonly string[];
}

/** Undoes the octal escapes of mountinfo fields that node_exporter undoes (space, tab). */
function unescapeMount(s: string): string {
  return s.replaceAll("\\040", " ").replaceAll("\\011", "\t");
}

/** Parses /proc/<pid>/mountinfo (proc(5)); malformed lines are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-", 6);
    if (f.length < 10 || sep < 0 || f.length < sep + 3) continue;
    const [maj, min] = f[2]!.split(":").map(Number);
    if (!Number.isInteger(maj) || !Number.isInteger(min)) continue;
    out.push({
      major: maj!,
      minor: min!,
      mountPoint: unescapeMount(f[4]!),
      options: f[5]!.split(","),
      fsType: f[sep + 1]!,
      source: f[sep + 2]!,
      superOptions: (f[sep + 3] ?? "").split(","),
    });
  }
  return out;
}

/** Pressure totals of one resource from /proc/pressure/<resource>, in seconds. */
export interface Pressure {
  readonly some?: number;
  readonly full?: number;
}

/** Parses /proc/pressure/{cpu,io,memory,irq}: the `total=` fields (µs) as seconds. */
export function parsePressure(text: string): Pressure {
  const out: { some?: number; full?: number } = {};
  for (const line of text.split("\n")) {
    const m = /^(some|full)\s.*\btotal=(\d+)/.exec(line);
    if (m) out[m[1] as "some" | "full"] = Number(m[2]) / 1e6;
  }
  return out;
}

/** Parses /proc/sys/fs/file-nr: allocated and maximum file handles. */
export function parseFileNr(text: string): { allocated: number; maximum: number } | undefined {
  const f = text.trim().split(/\s+/);
  if (f.length !== 3) return undefined;
  const allocated = Number(f[0]), maximum = Number(f[2]);
  if (!Number.isFinite(allocated) || !Number.isFinite(maximum)) return undefined;
  return { allocated, maximum };
}
