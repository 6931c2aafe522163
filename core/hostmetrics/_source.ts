/**
 * What the host sub-collectors share: where `/proc` and `/sys` are, how many
 * entries a pass reads at most, and reading the kernel's files.
 *
 * @module
 */

/** Where the sub-collectors read and how much. */
export interface HostPaths {
  /** Root of the file tree (`""` for `/`); a mount point `/x` is at `${root}/x`. */
  readonly root: string;
  /** `${root}/proc`. */
  readonly proc: string;
  /** `${root}/sys`. */
  readonly sys: string;
  /** Most mounts, disks, interfaces, chips or zones read per pass. */
  readonly max: number;
}

/** A sub-collector ran but its source is absent on this host (no PSI, no hwmon...). */
export class NoDataError extends Error {}

// Files under /proc and /sys are generated in memory by the kernel: they are
// read synchronously. An async read would cost a round trip through the
// runtime's blocking thread pool for a read that takes microseconds (wall
// time per pass went from about 6 ms to 3 ms). Only statfs, which can hang on
// a network mount, is async.

/** The text of a kernel file; a missing file is a {@linkcode NoDataError}. */
export function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new NoDataError(`${path} does not exist`);
    throw e;
  }
}

/** The trimmed text of a kernel file, or undefined when it cannot be read. */
export function readOptional(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}
