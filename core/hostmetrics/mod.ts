/**
 * Zero-config host metrics: the box Perch runs on, read from `/proc` and
 * `/sys` in process and written under node_exporter's metric names, so
 * node_exporter dashboards and alert rules work unchanged (README.md lists
 * what is covered).
 *
 * @module
 */
import type { HostCollector } from "./collector.ts";

export { HostCollector, type HostCollectorOptions, type HostCollectStats } from "./collector.ts";
export { DISK_DEVICES_EXCLUDE } from "./disk.ts";
export { FS_TYPES_EXCLUDE, MOUNT_POINTS_EXCLUDE, type StatFs } from "./filesystem.ts";
export { Exposition, type FamilyType } from "./exposition.ts";
export { decodeTimex, openTimexReader, type TimexReader, type TimexReading } from "./timex.ts";

/** The `host_metrics` config section, resolved. */
export interface HostMetricsSettings {
  readonly enabled: boolean;
  /** ms; 0 = the self-scrape interval. */
  readonly interval: number;
  readonly job: string;
  /** Empty = the host name. */
  readonly instance: string;
  readonly alerts: boolean;
}

/** The name of the built-in host alert rule file (rules/host.yml). */
export const HOST_RULE_FILE = "builtin:host.yml";

/** A scrape job that reads a collector in process (see `InProcessJob` in core/scrape). */
export interface HostJob {
  readonly job: string;
  readonly instance: string;
  readonly interval: number;
  readonly metrics: () => Promise<string>;
}

/**
 * The in-process scrape jobs for `settings`: none when disabled, else one
 * whose interval falls back to `selfScrapeInterval` and whose instance falls
 * back to `hostname()`.
 */
export function hostJobs(
  settings: HostMetricsSettings,
  selfScrapeInterval: number,
  collector: Pick<HostCollector, "collect">,
  hostname: () => string = Deno.hostname,
): HostJob[] {
  if (!settings.enabled) return [];
  return [{
    job: settings.job,
    instance: settings.instance !== "" ? settings.instance : hostname(),
    interval: settings.interval > 0 ? settings.interval : selfScrapeInterval,
    metrics: () => collector.collect(),
  }];
}
