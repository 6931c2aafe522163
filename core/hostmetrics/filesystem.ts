/**
 * node_exporter's `filesystem` collector: statfs(2) of each mount, with a
 * deadline so a hung network mount cannot stall a pass.
 *
 * @module
 */
import type { Exposition } from "./exposition.ts";
import { libcStatfs, openLibc, type StatFsResult } from "./libc.ts";
import { parseMountInfo } from "./procfs.ts";
import { type HostPaths, readText } from "./_source.ts";

/** The fields of statfs(2) the filesystem collector uses (as libc.ts decodes them). */
export type StatFs = StatFsResult;

/** node_exporter's default `--collector.filesystem.mount-points-exclude`. */
export const MOUNT_POINTS_EXCLUDE =
  /^\/(dev|proc|run\/credentials\/.+|sys|var\/lib\/docker\/.+|var\/lib\/containers\/storage\/.+)($|\/)/;
/** node_exporter's default `--collector.filesystem.fs-types-exclude`. */
export const FS_TYPES_EXCLUDE =
  /^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$/;

/** statfs of a mount point, or why there is none (`device_error`). */
export type MountStatfs = (mountPoint: string) => Promise<{ stat: StatFs } | { error: string }>;

/** `filesystem`: size, free space, files and state of each mount that is not excluded. */
export async function collectFilesystem(
  src: HostPaths,
  out: Exposition,
  statfs: MountStatfs,
): Promise<void> {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${src.proc}/1/mountinfo`);
  } catch {
    // hidepid: fall back to our own mount namespace.
    text = readText(`${src.proc}/self/mountinfo`);
  }
  const seen = new Set<string>();
  const mounts = parseMountInfo(text).filter((m) => {
    if (MOUNT_POINTS_EXCLUDE.test(m.mountPoint) || FS_TYPES_EXCLUDE.test(m.fsType)) return false;
    const key = `${m.source}\u0000${m.mountPoint}\u0000${m.fsType}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).slice(0, src.max);
  await Promise.all(mounts.map(async (m) => {
    const ro = m.options.includes("ro") || m.superOptions.includes("ro") ||
        m.superOptions.includes("emergency_ro")
      ? 1
      : 0;
    const base = { device: m.source, fstype: m.fsType, mountpoint: m.mountPoint };
    const r = await statfs(m.mountPoint);
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

/**
 * statfs(2) of mount points under `root` with a deadline of `timeoutMs`: a
 * mount that does not answer in time stays "stuck" (reported without a call)
 * until its call returns.
 */
export function boundedStatfs(
  statfs: (path: string) => Promise<StatFs>,
  root: string,
  timeoutMs: number,
): MountStatfs {
  /** Mount points whose statfs has not answered yet. */
  const stuck = new Set<string>();
  return async (mountPoint) => {
    if (stuck.has(mountPoint)) return { error: "mountpoint timeout" };
    const path = root === "" ? mountPoint : `${root}${mountPoint}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const call = statfs(path);
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const r = await Promise.race([call, timeout]);
      if (r === "timeout") {
        stuck.add(mountPoint);
        call.finally(() => stuck.delete(mountPoint)).catch(() => {});
        return { error: "mountpoint timeout" };
      }
      return { stat: r };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * statfs through libc when FFI is allowed, else through `node:fs` (loaded
 * only then). FFI gives no errno from its worker thread, so a failing libc
 * call is asked again through `node:fs` for the reason, which becomes the
 * `device_error` label as node_exporter's Go error text does
 * ("permission denied").
 */
export function defaultStatfs(): (path: string) => Promise<StatFs> {
  const viaNode = async (p: string): Promise<StatFs> => {
    const { statfs } = await import("node:fs/promises");
    try {
      return await statfs(p) as StatFs;
    } catch (e) {
      // "EACCES: permission denied, statfs '/x'" -> "permission denied"
      const m = e instanceof Error ? /^[A-Z]+: ([^,]+),/.exec(e.message) : null;
      throw new Error(m ? m[1] : String(e));
    }
  };
  // libc is opened at the first call, not when the collector is made (at start-up).
  let impl: ((p: string) => Promise<StatFs>) | undefined;
  const pick = () => {
    const libc = openLibc();
    if (libc === undefined) return viaNode;
    return (p: string) => libcStatfs(libc, p).catch(() => viaNode(p));
  };
  return (p) => (impl ??= pick())(p);
}
