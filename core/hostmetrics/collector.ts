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
import type { CpuTimes } from "./procfs.ts";
import { collectHwmon, collectThermal } from "./sysfs.ts";
import { openTimexReader, type TimexReader } from "./timex.ts";
import { type HostPaths, NoDataError, readText } from "./_source.ts";
import { collectCpu, collectCpufreq, collectStat } from "./cpu.ts";
import { collectDiskstats } from "./disk.ts";
import {
  boundedStatfs,
  collectFilesystem,
  defaultStatfs,
  type MountStatfs,
  type StatFs,
} from "./filesystem.ts";
import {
  collectArp,
  collectConntrack,
  collectNetclass,
  collectNetdev,
  collectNetstat,
  collectSockstat,
  collectSoftnet,
} from "./net.ts";
import {
  collectEntropy,
  collectFilefd,
  collectLoadavg,
  collectMeminfo,
  collectPressure,
  collectUname,
  collectVmstat,
} from "./system.ts";
import { collectTime, collectTimex } from "./time.ts";
import { loadLocalZone, type LocalZone } from "./zone.ts";

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
  /** The local zone (node_time_zone_offset_seconds). @default {loadLocalZone()} */
  readonly zone?: LocalZone;
  /** adjtimex reader; null leaves the timex series out. @default {libc through FFI} */
  readonly timex?: TimexReader | null;
  /** @default {5000} */
  readonly statfsTimeoutMs?: number;
  /** Most mounts, disks, interfaces, chips or zones read per pass. @default {256} */
  readonly maxEntries?: number;
}

/** Cost of the last pass, for self-monitoring and the bench. */
export interface HostCollectStats {
  readonly durationMs: number;
  readonly samples: number;
  readonly failed: readonly string[];
}

/** Reads the host's metrics on demand; see the module doc. */
export class HostCollector {
  readonly #src: HostPaths;
  readonly #statfs: MountStatfs;
  readonly #now: () => number;
  readonly #timexOption: TimexReader | null | undefined;
  #timex: TimexReader | null | undefined;
  /** Previous CPU times by CPU, to keep counters from going backwards. */
  #prevCpu = new Map<string, CpuTimes>();
  #last: HostCollectStats = { durationMs: 0, samples: 0, failed: [] };
  #running: Promise<string> | undefined;
  /** /proc/stat of the running pass: it feeds two collectors, so it is read once. */
  #statText: string | undefined;
  /** Read on first use, as Go reads the local zone once. */
  #zone: LocalZone | undefined;

  constructor(options: HostCollectorOptions = {}) {
    const root = (options.root ?? "/").replace(/\/+$/, "");
    this.#src = {
      root,
      proc: `${root}/proc`,
      sys: `${root}/sys`,
      max: options.maxEntries ?? 256,
    };
    this.#statfs = boundedStatfs(
      options.statfs ?? defaultStatfs(),
      root,
      options.statfsTimeoutMs ?? 5000,
    );
    this.#now = options.now ?? Date.now;
    this.#timexOption = options.timex;
    this.#zone = options.zone;
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
    const src = this.#src;
    const subs: [string, () => Promise<void> | void][] = [
      ["cpu", () => {
        this.#prevCpu = collectCpu(this.#procStat(), this.#prevCpu, src.max, out);
      }],
      ["stat", () => collectStat(this.#procStat(), out)],
      ["cpufreq", () => collectCpufreq(src, out)],
      ["meminfo", () => collectMeminfo(src, out)],
      ["loadavg", () => collectLoadavg(src, out)],
      ["diskstats", () => collectDiskstats(src, out)],
      ["netdev", () => collectNetdev(src, out)],
      ["netclass", () => collectNetclass(src, out)],
      ["vmstat", () => collectVmstat(src, out)],
      ["netstat", () => collectNetstat(src, out)],
      ["softnet", () => collectSoftnet(src, out)],
      ["conntrack", () => collectConntrack(src, out)],
      ["arp", () => collectArp(src, out)],
      ["sockstat", () => collectSockstat(src, out)],
      ["filesystem", () => collectFilesystem(src, out, this.#statfs)],
      ["hwmon", () => {
        if (!collectHwmon(src.sys, out, src.max)) throw new NoDataError("no hwmon");
      }],
      ["thermal_zone", () => {
        if (!collectThermal(src.sys, out, src.max)) throw new NoDataError("no thermal");
      }],
      ["pressure", () => collectPressure(src, out)],
      ["filefd", () => collectFilefd(src, out)],
      ["entropy", () => collectEntropy(src, out)],
      ["uname", () => collectUname(src, out)],
      ["time", () => {
        this.#zone ??= loadLocalZone();
        collectTime(src, out, this.#now(), this.#zone);
      }],
      ["timex", () => collectTimex(out, this.#timexReader()?.())],
    ];
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

  #procStat(): string {
    return this.#statText ??= readText(`${this.#src.proc}/stat`);
  }

  /** The adjtimex reader, opened on first use; null when there is none. */
  #timexReader(): TimexReader | null {
    if (this.#timex === undefined) {
      this.#timex = this.#timexOption !== undefined ? this.#timexOption : openTimexReader() ?? null;
    }
    return this.#timex;
  }
}
