/**
 * Peer binaries the interop tests run (Debian packages that .ci/run installs).
 * A missing peer fails the test that needs it, with the package to install:
 * a skipped interop test would look like a passing one in the summary.
 */

/** Throws, naming the Debian package, unless `bin` exists. */
export function requireBinary(bin: string, aptPackage: string): void {
  try {
    Deno.statSync(bin);
  } catch {
    throw new Error(`${bin} is missing: apt install ${aptPackage} (.ci/run installs it)`);
  }
}
