/**
 * node_exporter's `diskstats` collector: /proc/diskstats, with each disk's
 * udev properties and rotational flag.
 *
 * @module
 */
import type { Exposition } from "./exposition.ts";
import { parseDiskstats } from "./procfs.ts";
import { type HostPaths, readOptional, readText } from "./_source.ts";

/** node_exporter's default `--collector.diskstats.device-exclude` (partitions, ram, loop). */
export const DISK_DEVICES_EXCLUDE = /^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/;

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

/** `diskstats`: I/O counters and info of each disk that is not excluded. */
export function collectDiskstats(src: HostPaths, out: Exposition): void {
  const lines = parseDiskstats(readText(`${src.proc}/diskstats`));
  const disks = lines.filter((d) => !DISK_DEVICES_EXCLUDE.test(d.device)).slice(0, src.max);
  disks.forEach((d) => {
    const [udevText, rot] = [
      readOptional(`${src.root}/run/udev/data/b${d.major}:${d.minor}`),
      readOptional(`${src.sys}/block/${d.device}/queue/rotational`),
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
