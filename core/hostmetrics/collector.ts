/**
 * The host collector: one pass over `/proc` and `/sys` per call, written as
 * exposition text with node_exporter's metric names, labels, units and help
 * texts, so dashboards and rules made for node_exporter work unchanged.
 * It runs in process (no subprocess, no HTTP); the scrape manager scrapes it
 * like the `perch` job, through the shared ingest pipeline.
 *
 * Each sub-collector carries node_exporter's collector name and reports
 * `node_scrape_collector_success{collector}` (0 when its source is missing
 * or failed) and `node_scrape_collector_duration_seconds{collector}`. Work
 * is bounded: at most `maxEntries` mounts, disks, interfaces, chips and
 * zones; a statfs that does not answer within `statfsTimeoutMs` marks the
 * mount stuck (`node_filesystem_device_error` 1) until it answers.
 *
 * @module
 */
import { Exposition } from "./exposition.ts";
import {
  type CpuTimes,
  parseDiskstats,
  parseFileNr,
  parseLoadavg,
  parseMeminfo,
  parseMountInfo,
  parseNetDev,
  parsePressure,
  parseProcStat,
} from "./procfs.ts";
import { libcStatfs, openLibc, type StatFsResult } from "./libc.ts";
import { collectHwmon, collectThermal } from "./sysfs.ts";
import { openTimexReader, type TimexReader } from "./timex.ts";

/** The fields of statfs(2) the filesystem collector uses (as libc.ts decodes them). */
export type StatFs = StatFsResult;

/** Options for {@linkcode HostCollector}. */
export interface HostCollectorOptions {
  /**
   * Root of the file tree to read: `/proc` is `${root}/proc`, `/sys` is
   * `${root}/sys` and a mount point `/x` is statfs'd at `${root}/x`
   * (tests point it at captured fixtures).
   * @default {"/"}
   */
  readonly root?: string;
  /** statfs(2) of a path. @default {libc's through FFI, else node:fs's} */
  readonly statfs?: (path: string) => Promise<StatFs>;
  /** Wall clock, ms since the epoch (node_time_seconds). @default {Date.now} */
  readonly now?: () => number;
  /** adjtimex reader; null leaves the timex series out. @default {libc through FFI} */
  readonly timex?: TimexReader | null;
  /** @default {5000} */
  readonly statfsTimeoutMs?: number;
  /** Most mounts, disks, interfaces, chips or zones read per pass. @default {256} */
  readonly maxEntries?: number;
}

/** node_exporter's default `--collector.filesystem.mount-points-exclude`. */
export const MOUNT_POINTS_EXCLUDE =
  /^\/(dev|proc|run\/credentials\/.+|sys|var\/lib\/docker\/.+|var\/lib\/containers\/storage\/.+)($|\/)/;
/** node_exporter's default `--collector.filesystem.fs-types-exclude`. */
export const FS_TYPES_EXCLUDE =
  /^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$/;
/** node_exporter's default `--collector.diskstats.device-exclude` (partitions, ram, loop). */
export const DISK_DEVICES_EXCLUDE = /^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/;

/** node_exporter's default `--collector.netstat.fields`. */
const NETSTAT_FIELDS =
  /^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$/;
/** The /proc/net/sockstat fields node_exporter exports, in its order. */
const SOCKSTAT_FIELDS = ["inuse", "orphan", "tw", "alloc", "mem", "memory", "mem_bytes"];

/** cpufreq files (kHz) → node_cpu_<name> (Hz), as node_exporter's cpufreq collector names them. */
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

/** /proc/net/stat/nf_conntrack columns node_exporter exports, with its help texts. */
const CONNTRACK_STATS: readonly [string, string][] = [
  ["found", "Number of searched entries which were successful."],
  ["invalid", "Number of packets seen which can not be tracked."],
  ["ignore", "Number of packets seen which are already connected to a conntrack entry."],
  ["insert", "Number of entries inserted into the list."],
  ["insert_failed", "Number of entries for which list insertion was attempted but failed."],
  ["drop", "Number of packets dropped due to conntrack failure."],
  [
    "early_drop",
    "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
  ],
  [
    "search_restart",
    "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
  ],
];

/** node_exporter's default `--collector.vmstat.fields`. */
const VMSTAT_FIELDS = /^(oom_kill|pgpg|pswp|pg.*fault).*/;

const CPU_MODES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"] as const;
/** A CPU counter that drops by more than this is taken as a reset (CPU hotplug). */
const CPU_JUMP_BACK_SECONDS = 3;

/** /proc/diskstats fields in order: name, help, type, scale. */
const DISK_FIELDS: readonly [string, string, "counter" | "gauge", number][] = [
  ["reads_completed_total", "The total number of reads completed successfully.", "counter", 1],
  ["reads_merged_total", "The total number of reads merged.", "counter", 1],
  ["read_bytes_total", "The total number of bytes read successfully.", "counter", 512],
  ["read_time_seconds_total", "The total number of seconds spent by all reads.", "counter", 0.001],
  ["writes_completed_total", "The total number of writes completed successfully.", "counter", 1],
  ["writes_merged_total", "The number of writes merged.", "counter", 1],
  ["written_bytes_total", "The total number of bytes written successfully.", "counter", 512],
  [
    "write_time_seconds_total",
    "This is the total number of seconds spent by all writes.",
    "counter",
    0.001,
  ],
  ["io_now", "The number of I/Os currently in progress.", "gauge", 1],
  ["io_time_seconds_total", "Total seconds spent doing I/Os.", "counter", 0.001],
  [
    "io_time_weighted_seconds_total",
    "The weighted # of seconds spent doing I/Os.",
    "counter",
    0.001,
  ],
  [
    "discards_completed_total",
    "The total number of discards completed successfully.",
    "counter",
    1,
  ],
  ["discards_merged_total", "The total number of discards merged.", "counter", 1],
  ["discarded_sectors_total", "The total number of sectors discarded successfully.", "counter", 1],
  [
    "discard_time_seconds_total",
    "This is the total number of seconds spent by all discards.",
    "counter",
    0.001,
  ],
  [
    "flush_requests_total",
    "The total number of flush requests completed successfully",
    "counter",
    1,
  ],
  [
    "flush_requests_time_seconds_total",
    "This is the total number of seconds spent by all flush requests.",
    "counter",
    0.001,
  ],
];

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

/** A sub-collector ran but its source is absent on this host (no PSI, no hwmon…). */
class NoDataError extends Error {}

// Files under /proc and /sys are generated in memory by the kernel: they are
// read synchronously. An async read would cost a round trip through the
// runtime's blocking thread pool for a read that takes microseconds (wall
// time per pass went from about 6 ms to 3 ms). Only statfs, which can hang on
// a network mount, is async.

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new NoDataError(`${path} does not exist`);
    throw e;
  }
}

function readOptional(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

/** Cost of the last pass, for self-monitoring and the bench. */
export interface HostCollectStats {
  readonly durationMs: number;
  readonly samples: number;
  readonly failed: readonly string[];
}

/** Reads the host's metrics on demand; see the module doc. */
export class HostCollector {
  readonly #proc: string;
  readonly #sys: string;
  readonly #root: string;
  readonly #statfs: (path: string) => Promise<StatFs>;
  readonly #now: () => number;
  readonly #timexOption: TimexReader | null | undefined;
  #timex: TimexReader | null | undefined;
  readonly #statfsTimeoutMs: number;
  readonly #max: number;
  /** Previous CPU times by CPU, to keep counters from going backwards. */
  #prevCpu = new Map<string, CpuTimes>();
  /** Mount points whose statfs has not answered yet. */
  readonly #stuck = new Set<string>();
  #last: HostCollectStats = { durationMs: 0, samples: 0, failed: [] };
  #running: Promise<string> | undefined;

  constructor(options: HostCollectorOptions = {}) {
    const root = (options.root ?? "/").replace(/\/+$/, "");
    this.#root = root;
    this.#proc = `${root}/proc`;
    this.#sys = `${root}/sys`;
    this.#statfs = options.statfs ?? defaultStatfs();
    this.#now = options.now ?? Date.now;
    this.#timexOption = options.timex;
    this.#statfsTimeoutMs = options.statfsTimeoutMs ?? 5000;
    this.#max = options.maxEntries ?? 256;
  }

  /** Cost and failures of the last pass. */
  get lastStats(): HostCollectStats {
    return this.#last;
  }

  /** One pass over every sub-collector; concurrent calls share the running pass. */
  collect(): Promise<string> {
    if (this.#running) return this.#running;
    this.#running = this.#collect().finally(() => this.#running = undefined);
    return this.#running;
  }

  async #collect(): Promise<string> {
    const start = performance.now();
    const out = new Exposition();
    const failed: string[] = [];
    const subs: [string, () => Promise<void> | void][] = [
      ["cpu", () => this.#cpuAndStat(out, "cpu")],
      ["stat", () => this.#cpuAndStat(out, "stat")],
      ["cpufreq", () => this.#cpufreq(out)],
      ["meminfo", () => this.#meminfo(out)],
      ["loadavg", () => this.#loadavg(out)],
      ["diskstats", () => this.#diskstats(out)],
      ["netdev", () => this.#netdev(out)],
      ["netclass", () => this.#netclass(out)],
      ["vmstat", () => this.#vmstat(out)],
      ["netstat", () => this.#netstat(out)],
      ["softnet", () => this.#softnet(out)],
      ["conntrack", () => this.#conntrack(out)],
      ["arp", () => this.#arp(out)],
      ["sockstat", () => this.#sockstat(out)],
      ["filesystem", () => this.#filesystem(out)],
      ["hwmon", () => {
        if (!collectHwmon(this.#sys, out, this.#max)) throw new NoDataError("no hwmon");
      }],
      ["thermal_zone", () => {
        if (!collectThermal(this.#sys, out, this.#max)) throw new NoDataError("no thermal");
      }],
      ["pressure", () => this.#pressure(out)],
      ["filefd", () => this.#filefd(out)],
      ["entropy", () => this.#entropy(out)],
      ["uname", () => this.#uname(out)],
      ["time", () => this.#time(out)],
      ["timex", () => this.#timexMetrics(out)],
    ];
    // /proc/stat feeds two collectors: read it once.
    this.#statText = undefined;
    await Promise.all(subs.map(async ([name, fn]) => {
      const t0 = performance.now();
      let ok = 1;
      try {
        await fn();
      } catch (_e) {
        ok = 0;
        failed.push(name);
      }
      out.add(
        "node_scrape_collector_duration_seconds",
        "node_exporter: Duration of a collector scrape.",
        "gauge",
        (performance.now() - t0) / 1000,
        { collector: name },
      );
      out.add(
        "node_scrape_collector_success",
        "node_exporter: Whether a collector succeeded.",
        "gauge",
        ok,
        { collector: name },
      );
    }));
    const text = out.text();
    this.#last = { durationMs: performance.now() - start, samples: out.samples, failed };
    return text;
  }

  #statText: string | undefined;
  /** Kept: each new Intl formatter holds ICU memory outside the JS heap until a full GC. */
  #zoneFormat: Intl.DateTimeFormat | undefined;

  #cpuAndStat(out: Exposition, which: "cpu" | "stat"): void {
    this.#statText ??= readText(`${this.#proc}/stat`);
    const stat = parseProcStat(this.#statText);
    if (which === "stat") {
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
      return;
    }
    const next = new Map<string, CpuTimes>();
    for (const c0 of stat.cpus.slice(0, this.#max)) {
      const prev = this.#prevCpu.get(c0.cpu);
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
    this.#prevCpu = next;
  }

  #cpufreq(out: Exposition): void {
    const root = `${this.#sys}/devices/system/cpu`;
    const cpus: string[] = [];
    for (const e of Deno.readDirSync(root)) {
      if (/^cpu\d+$/.test(e.name)) cpus.push(e.name.slice(3));
    }
    cpus.sort((a, b) => Number(a) - Number(b));
    for (const cpu of cpus.slice(0, this.#max)) {
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

  #meminfo(out: Exposition): void {
    const m = parseMeminfo(readText(`${this.#proc}/meminfo`));
    for (const [k, v] of m) {
      out.add(
        `node_memory_${k}`,
        `Memory information field ${k}.`,
        k.endsWith("_total") ? "counter" : "gauge",
        v,
      );
    }
  }

  #loadavg(out: Exposition): void {
    const l = parseLoadavg(readText(`${this.#proc}/loadavg`));
    if (!l) throw new Error("unexpected content in /proc/loadavg");
    out.add("node_load1", "1m load average.", "gauge", l[0]);
    out.add("node_load5", "5m load average.", "gauge", l[1]);
    out.add("node_load15", "15m load average.", "gauge", l[2]);
  }

  #diskstats(out: Exposition): void {
    const lines = parseDiskstats(readText(`${this.#proc}/diskstats`));
    const disks = lines.filter((d) => !DISK_DEVICES_EXCLUDE.test(d.device)).slice(0, this.#max);
    disks.forEach((d) => {
      const [udevText, rot] = [
        readOptional(`${this.#root}/run/udev/data/b${d.major}:${d.minor}`),
        readOptional(`${this.#sys}/block/${d.device}/queue/rotational`),
      ];
      const udev = parseUdevProperties(udevText ?? "");
      out.add("node_disk_info", "Info of /sys/block/<block_device>.", "gauge", 1, {
        device: d.device,
        major: String(d.major),
        minor: String(d.minor),
        path: udev.get("ID_PATH") ?? "",
        wwn: udev.get("ID_WWN") ?? "",
        model: udev.get("ID_MODEL") ?? "",
        serial: udev.get("SCSI_IDENT_SERIAL") || udev.get("ID_SERIAL_SHORT") ||
          udev.get("ID_SERIAL") || "",
        revision: udev.get("ID_REVISION") ?? "",
        rotational: rot === "1" ? "1" : "0",
      });
      for (let i = 0; i < d.fields.length && i < DISK_FIELDS.length; i++) {
        const [name, help, type, scale] = DISK_FIELDS[i]!;
        out.add(`node_disk_${name}`, help, type, d.fields[i]! * scale, { device: d.device });
      }
      const fsType = udev.get("ID_FS_TYPE");
      if (fsType) {
        out.add("node_disk_filesystem_info", "Info about disk filesystem.", "gauge", 1, {
          device: d.device,
          type: fsType,
          usage: udev.get("ID_FS_USAGE") ?? "",
          uuid: udev.get("ID_FS_UUID") ?? "",
          version: udev.get("ID_FS_VERSION") ?? "",
        });
      }
    });
  }

  #netdev(out: Exposition): void {
    const devs = parseNetDev(readText(`${this.#proc}/net/dev`)).slice(0, this.#max);
    // rx_nohandler is not in /proc/net/dev; node_exporter gets it over netlink.
    const nohandler = devs.map((d) =>
      readOptional(`${this.#sys}/class/net/${d.device}/statistics/rx_nohandler`)
    );
    devs.forEach((d, i) => {
      const stats = new Map(d.stats);
      const nh = Number(nohandler[i]);
      if (nohandler[i] !== undefined && Number.isFinite(nh)) stats.set("receive_nohandler", nh);
      for (const [k, v] of stats) {
        out.add(`node_network_${k}_total`, `Network device statistic ${k}.`, "counter", v, {
          device: d.device,
        });
      }
    });
  }

  #netclass(out: Exposition): void {
    const root = `${this.#sys}/class/net`;
    const devs: string[] = [];
    for (const e of Deno.readDirSync(root)) {
      // Interfaces are links to device directories; skip files (bonding_masters).
      try {
        if (Deno.statSync(`${root}/${e.name}`).isDirectory) devs.push(e.name);
      } catch {
        continue;
      }
      if (devs.length >= this.#max) break;
    }
    for (const device of devs.sort()) {
      const dir = `${root}/${device}`;
      // Attributes a driver does not support fail to read (EINVAL): left out.
      const read = (f: string) => readOptional(`${dir}/${f}`);
      const num = (f: string) => {
        const t = read(f);
        if (t === undefined || t === "") return undefined;
        const v = Number(t); // Also parses the hex of dev_id and flags.
        return Number.isFinite(v) ? v : undefined;
      };
      const operstate = read("operstate") ?? "";
      out.add(
        "node_network_up",
        "Value is 1 if operstate is 'up', 0 otherwise.",
        "gauge",
        operstate === "up" ? 1 : 0,
        { device },
      );
      const flags = num("flags");
      out.add(
        "node_network_info",
        "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
        "gauge",
        1,
        {
          device,
          address: read("address") ?? "",
          broadcast: read("broadcast") ?? "",
          duplex: read("duplex") ?? "",
          operstate,
          adminstate: flags === undefined ? "unknown" : (flags & 1) === 1 ? "up" : "down",
          ifalias: read("ifalias") ?? "",
        },
      );
      const fields: [string, string, "gauge" | "counter"][] = [
        ["addr_assign_type", "address_assign_type", "gauge"],
        ["carrier", "carrier", "gauge"],
        ["carrier_changes", "carrier_changes_total", "counter"],
        ["carrier_up_count", "carrier_up_changes_total", "counter"],
        ["carrier_down_count", "carrier_down_changes_total", "counter"],
        ["dev_id", "device_id", "gauge"],
        ["dormant", "dormant", "gauge"],
        ["flags", "flags", "gauge"],
        ["ifindex", "iface_id", "gauge"],
        ["iflink", "iface_link", "gauge"],
        ["link_mode", "iface_link_mode", "gauge"],
        ["mtu", "mtu_bytes", "gauge"],
        ["name_assign_type", "name_assign_type", "gauge"],
        ["netdev_group", "net_dev_group", "gauge"],
        ["tx_queue_len", "transmit_queue_length", "gauge"],
        ["type", "protocol_type", "gauge"],
      ];
      for (const [file, name, type] of fields) {
        const v = num(file);
        if (v !== undefined) {
          out.add(`node_network_${name}`, `Network device property: ${name}`, type, v, { device });
        }
      }
      // Mbit/s → bytes/s; an unknown speed (-1) is written as node_exporter does.
      const speed = num("speed");
      if (speed !== undefined) {
        out.add(
          "node_network_speed_bytes",
          "Network device property: speed_bytes",
          "gauge",
          Math.trunc(speed * 1e6 / 8),
          { device },
        );
      }
    }
  }

  #vmstat(out: Exposition): void {
    const text = readText(`${this.#proc}/vmstat`);
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

  #netstat(out: Exposition): void {
    // /proc/net/netstat and /proc/net/snmp: a header line and a value line per protocol.
    const stats = new Map<string, Map<string, string>>();
    for (const file of ["net/netstat", "net/snmp"]) {
      const lines = readText(`${this.#proc}/${file}`).split("\n");
      for (let i = 0; i + 1 < lines.length; i += 2) {
        const names = lines[i]!.split(" "), values = lines[i + 1]!.split(" ");
        if (names.length !== values.length || !names[0]!.endsWith(":")) continue;
        const m = new Map<string, string>();
        for (let k = 1; k < names.length; k++) m.set(names[k]!, values[k]!);
        stats.set(names[0]!.slice(0, -1), m);
      }
    }
    // /proc/net/snmp6 (absent without IPv6): "Ip6InReceives 123", split after the "6".
    for (const line of (readOptional(`${this.#proc}/net/snmp6`) ?? "").split("\n")) {
      const f = line.trim().split(/\s+/);
      const six = f[0]?.indexOf("6") ?? -1;
      if (f.length < 2 || six < 0) continue;
      const proto = f[0]!.slice(0, six + 1);
      let m = stats.get(proto);
      if (!m) stats.set(proto, m = new Map());
      m.set(f[0]!.slice(six + 1), f[1]!);
    }
    for (const [proto, m] of stats) {
      for (const [name, raw] of m) {
        const key = `${proto}_${name}`;
        if (!NETSTAT_FIELDS.test(key)) continue;
        const v = Number(raw);
        if (raw === "" || !Number.isFinite(v)) continue;
        out.add(`node_netstat_${key}`, `Statistic ${proto}${name}.`, "untyped", v);
      }
    }
  }

  #sockstat(out: Exposition): void {
    const v4 = readOptional(`${this.#proc}/net/sockstat`);
    const v6 = readOptional(`${this.#proc}/net/sockstat6`);
    if (v4 === undefined && v6 === undefined) throw new NoDataError("no sockstat");
    this.#pageSize ??= openLibc()?.getpagesize() ?? 4096;
    for (const [text, ipv6] of [[v4, false], [v6, true]] as const) {
      for (const line of (text ?? "").split("\n")) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        const proto = line.slice(0, colon);
        const f = line.slice(colon + 1).trim().split(/\s+/);
        const fields = new Map<string, number>();
        for (let i = 0; i + 1 < f.length; i += 2) fields.set(f[i]!, Number(f[i + 1]));
        if (proto === "sockets") {
          const used = fields.get("used");
          if (!ipv6 && used !== undefined) {
            out.add("node_sockstat_sockets_used", "Number of IPv4 sockets in use.", "gauge", used);
          }
          continue;
        }
        const mem = fields.get("mem");
        if (mem !== undefined) fields.set("mem_bytes", mem * this.#pageSize);
        for (const name of SOCKSTAT_FIELDS) {
          const v = fields.get(name);
          if (v === undefined || !Number.isFinite(v)) continue;
          out.add(
            `node_sockstat_${proto}_${name}`,
            `Number of ${proto} sockets in state ${name}.`,
            "gauge",
            v,
          );
        }
      }
    }
  }

  #pageSize: number | undefined;

  #softnet(out: Exposition): void {
    const lines = readText(`${this.#proc}/net/softnet_stat`).split("\n").filter((l) => l !== "");
    lines.slice(0, this.#max).forEach((line, i) => {
      const c = line.trim().split(/\s+/).map((x) => parseInt(x, 16));
      const col = (k: number) => Number.isFinite(c[k]) ? c[k]! : 0;
      // Kernels since 5.10 print the CPU id in column 13; before, the line number is it.
      const cpu = String(c.length > 12 ? col(12) : i);
      const add = (name: string, help: string, k: number, type: "counter" | "gauge" = "counter") =>
        out.add(`node_softnet_${name}`, help, type, col(k), { cpu });
      add("processed_total", "Number of processed packets", 0);
      add("dropped_total", "Number of dropped packets", 1);
      add("times_squeezed_total", "Number of times processing packets ran out of quota", 2);
      add(
        "cpu_collision_total",
        "Number of collision occur while obtaining device lock while transmitting",
        8,
      );
      add("received_rps_total", "Number of times cpu woken up received_rps", 9);
      add("flow_limit_count_total", "Number of times flow limit has been reached", 10);
      add("backlog_len", "Softnet backlog status", 11, "gauge");
    });
  }

  #conntrack(out: Exposition): void {
    const nf = `${this.#proc}/sys/net/netfilter`;
    const count = readOptional(`${nf}/nf_conntrack_count`);
    if (count === undefined) throw new NoDataError("conntrack is not loaded");
    out.add(
      "node_nf_conntrack_entries",
      "Number of currently allocated flow entries for connection tracking.",
      "gauge",
      Number(count),
    );
    const max = readOptional(`${nf}/nf_conntrack_max`);
    if (max !== undefined) {
      out.add(
        "node_nf_conntrack_entries_limit",
        "Maximum size of connection tracking table.",
        "gauge",
        Number(max),
      );
    }
    // Per-CPU hex counters under a header line, summed as node_exporter does.
    const stat = readOptional(`${this.#proc}/net/stat/nf_conntrack`);
    if (stat === undefined) return;
    const [head, ...rows] = stat.split("\n");
    const names = (head ?? "").trim().split(/\s+/);
    const sums = new Map<string, number>();
    for (const row of rows) {
      const v = row.trim().split(/\s+/);
      if (v.length !== names.length) continue;
      names.forEach((n, k) => sums.set(n, (sums.get(n) ?? 0) + parseInt(v[k]!, 16)));
    }
    for (const [field, help] of CONNTRACK_STATS) {
      const v = sums.get(field);
      if (v !== undefined) out.add(`node_nf_conntrack_stat_${field}`, help, "gauge", v);
    }
  }

  #arp(out: Exposition): void {
    const lines = readText(`${this.#proc}/net/arp`).split("\n").slice(1);
    const byDevice = new Map<string, number>();
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length < 6) continue;
      byDevice.set(f[5]!, (byDevice.get(f[5]!) ?? 0) + 1);
    }
    for (const [device, n] of byDevice) {
      out.add("node_arp_entries", "ARP entries by device", "gauge", n, { device });
    }
  }

  async #filesystem(out: Exposition): Promise<void> {
    let text: string;
    try {
      text = Deno.readTextFileSync(`${this.#proc}/1/mountinfo`);
    } catch {
      // hidepid: fall back to our own mount namespace.
      text = readText(`${this.#proc}/self/mountinfo`);
    }
    const seen = new Set<string>();
    const mounts = parseMountInfo(text).filter((m) => {
      if (MOUNT_POINTS_EXCLUDE.test(m.mountPoint) || FS_TYPES_EXCLUDE.test(m.fsType)) return false;
      const key = `${m.source}\u0000${m.mountPoint}\u0000${m.fsType}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }).slice(0, this.#max);
    await Promise.all(mounts.map(async (m) => {
      const ro = m.options.includes("ro") || m.superOptions.includes("ro") ||
          m.superOptions.includes("emergency_ro")
        ? 1
        : 0;
      const base = { device: m.source, fstype: m.fsType, mountpoint: m.mountPoint };
      const r = await this.#statfsBounded(m.mountPoint);
      const labels = { ...base, device_error: "error" in r ? r.error : "" };
      out.add(
        "node_filesystem_device_error",
        "Whether an error occurred while getting statistics for the given device.",
        "gauge",
        "error" in r ? 1 : 0,
        labels,
      );
      out.add("node_filesystem_readonly", "Filesystem read-only status.", "gauge", ro, labels);
      if ("error" in r) return;
      const s = r.stat;
      out.add(
        "node_filesystem_size_bytes",
        "Filesystem size in bytes.",
        "gauge",
        s.blocks * s.bsize,
        base,
      );
      out.add(
        "node_filesystem_free_bytes",
        "Filesystem free space in bytes.",
        "gauge",
        s.bfree * s.bsize,
        base,
      );
      out.add(
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
        "gauge",
        s.bavail * s.bsize,
        base,
      );
      out.add("node_filesystem_files", "Filesystem total file nodes.", "gauge", s.files, base);
      out.add(
        "node_filesystem_files_free",
        "Filesystem total free file nodes.",
        "gauge",
        s.ffree,
        base,
      );
      out.add("node_filesystem_mount_info", "Filesystem mount information.", "gauge", 1, {
        device: m.source,
        major: String(m.major),
        minor: String(m.minor),
        mountpoint: m.mountPoint,
      });
    }));
  }

  /** statfs with a deadline; a mount that does not answer stays "stuck" until it does. */
  async #statfsBounded(mountPoint: string): Promise<{ stat: StatFs } | { error: string }> {
    if (this.#stuck.has(mountPoint)) return { error: "mountpoint timeout" };
    const path = this.#root === "" ? mountPoint : `${this.#root}${mountPoint}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const call = this.#statfs(path);
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.#statfsTimeoutMs);
    });
    try {
      const r = await Promise.race([call, timeout]);
      if (r === "timeout") {
        this.#stuck.add(mountPoint);
        call.finally(() => this.#stuck.delete(mountPoint)).catch(() => {});
        return { error: "mountpoint timeout" };
      }
      return { stat: r };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    } finally {
      clearTimeout(timer);
    }
  }

  #pressure(out: Exposition): void {
    const texts = ["cpu", "io", "memory", "irq"].map((r) =>
      readOptional(`${this.#proc}/pressure/${r}`)
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

  #filefd(out: Exposition): void {
    const f = parseFileNr(readText(`${this.#proc}/sys/fs/file-nr`));
    if (!f) throw new Error("unexpected content in file-nr");
    out.add(
      "node_filefd_allocated",
      "File descriptor statistics: allocated.",
      "gauge",
      f.allocated,
    );
    out.add("node_filefd_maximum", "File descriptor statistics: maximum.", "gauge", f.maximum);
  }

  #entropy(out: Exposition): void {
    const [avail, pool] = [
      readText(`${this.#proc}/sys/kernel/random/entropy_avail`),
      readOptional(`${this.#proc}/sys/kernel/random/poolsize`),
    ];
    out.add("node_entropy_available_bits", "Bits of available entropy.", "gauge", Number(avail));
    if (pool !== undefined) {
      out.add("node_entropy_pool_size_bits", "Bits of entropy pool.", "gauge", Number(pool));
    }
  }

  #uname(out: Exposition): void {
    const k = `${this.#proc}/sys/kernel`;
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

  #time(out: Exposition): void {
    const nowMs = this.#now();
    out.add(
      "node_time_seconds",
      "System time in seconds since epoch (1970).",
      "gauge",
      nowMs / 1000,
    );
    const d = new Date(nowMs);
    this.#zoneFormat ??= new Intl.DateTimeFormat("en-US", { timeZoneName: "short" });
    const zone = this.#zoneFormat.formatToParts(d)
      .find((p) => p.type === "timeZoneName")?.value ?? "";
    out.add(
      "node_time_zone_offset_seconds",
      "System time zone offset in seconds.",
      "gauge",
      -d.getTimezoneOffset() * 60,
      {
        time_zone: zone,
      },
    );
    const cs = `${this.#sys}/devices/system/clocksource`;
    let names: string[] = [];
    try {
      for (const e of Deno.readDirSync(cs)) {
        if (/^clocksource\d+$/.test(e.name)) names.push(e.name);
      }
    } catch {
      return;
    }
    names = names.sort().slice(0, this.#max);
    names.forEach((n) => {
      const device = n.slice("clocksource".length);
      const [avail, cur] = [
        readOptional(`${cs}/${n}/available_clocksource`),
        readOptional(`${cs}/${n}/current_clocksource`),
      ];
      for (const c of (avail ?? "").split(/\s+/).filter((s) => s !== "")) {
        out.add(
          "node_time_clocksource_available_info",
          "Available clocksources read from '/sys/devices/system/clocksource'.",
          "gauge",
          1,
          { device, clocksource: c },
        );
      }
      if (cur) {
        out.add(
          "node_time_clocksource_current_info",
          "Current clocksource read from '/sys/devices/system/clocksource'.",
          "gauge",
          1,
          { device, clocksource: cur },
        );
      }
    });
  }

  #timexMetrics(out: Exposition): void {
    if (this.#timex === undefined) {
      this.#timex = this.#timexOption !== undefined ? this.#timexOption : openTimexReader() ?? null;
    }
    const t = this.#timex?.();
    if (t === undefined) throw new NoDataError("adjtimex is not available");
    const NANO = 0x2000, TIME_ERROR = 5, PPM16 = 1e6 * 65536;
    const div = (t.status & NANO) !== 0 ? 1e9 : 1e6;
    const g = (name: string, help: string, v: number) =>
      out.add(`node_timex_${name}`, help, "gauge", v);
    const c = (name: string, help: string, v: number) =>
      out.add(`node_timex_${name}`, help, "counter", v);
    g(
      "sync_status",
      "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
      t.state === TIME_ERROR ? 0 : 1,
    );
    g("offset_seconds", "Time offset in between local system and reference clock.", t.offset / div);
    g("frequency_adjustment_ratio", "Local clock frequency adjustment.", 1 + t.freq / PPM16);
    g("maxerror_seconds", "Maximum error in seconds.", t.maxerror / 1e6);
    g("estimated_error_seconds", "Estimated error in seconds.", t.esterror / 1e6);
    g("status", "Value of the status array bits.", t.status);
    g("loop_time_constant", "Phase-locked loop time constant.", t.constant);
    g("tick_seconds", "Seconds between clock ticks.", t.tick / 1e6);
    g("pps_frequency_hertz", "Pulse per second frequency.", t.ppsfreq / PPM16);
    g("pps_jitter_seconds", "Pulse per second jitter.", t.jitter / div);
    g("pps_shift_seconds", "Pulse per second interval duration.", t.shift);
    g(
      "pps_stability_hertz",
      "Pulse per second stability, average of recent frequency changes.",
      t.stabil / PPM16,
    );
    c("pps_jitter_total", "Pulse per second count of jitter limit exceeded events.", t.jitcnt);
    c("pps_calibration_total", "Pulse per second count of calibration intervals.", t.calcnt);
    c("pps_error_total", "Pulse per second count of calibration errors.", t.errcnt);
    c(
      "pps_stability_exceeded_total",
      "Pulse per second count of stability limit exceeded events.",
      t.stbcnt,
    );
    g("tai_offset_seconds", "International Atomic Time (TAI) offset.", t.tai);
  }
}

/**
 * statfs through libc when FFI is allowed, else through `node:fs` (loaded
 * only then). FFI gives no errno from its worker thread, so a failing libc
 * call is asked again through `node:fs` for the reason, which becomes the
 * `device_error` label as node_exporter's Go error text does
 * ("permission denied").
 */
function defaultStatfs(): (path: string) => Promise<StatFs> {
  const viaNode = async (p: string): Promise<StatFs> => {
    const { statfs } = await import("node:fs/promises");
    try {
      return await statfs(p) as StatFs;
    } catch (e) {
      // "EACCES: permission denied, statfs '/x'" → "permission denied"
      const m = e instanceof Error ? /^[A-Z]+: ([^,]+),/.exec(e.message) : null;
      throw new Error(m ? m[1] : String(e));
    }
  };
  const libc = openLibc();
  if (libc === undefined) return viaNode;
  return (p) => libcStatfs(libc, p).catch(() => viaNode(p));
}

/** The `E:KEY=value` device properties of a udev database file (/run/udev/data/b<maj>:<min>). */
function parseUdevProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("E:")) continue;
    const eq = line.indexOf("=");
    if (eq > 2) out.set(line.slice(2, eq), line.slice(eq + 1));
  }
  return out;
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
