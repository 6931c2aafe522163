/**
 * Secure by default: when Perch listens beyond loopback and no `auth` is
 * configured, admin actions need a token that Perch generates on its first
 * start. The token is kept in `<data_dir>/admin_token` (mode 0600) and
 * printed once in the log; reads and writes stay open, as in Prometheus.
 * Delete the file and restart to rotate it; configure `auth` to replace it.
 *
 * @module
 */
import type { AuthConfig } from "../config/mod.ts";

/** The token's file name inside the data directory. */
export const ADMIN_TOKEN_FILE = "admin_token";

/** True for addresses only this host can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** True when any scope has users or tokens configured. */
export function hasCredentials(config: AuthConfig): boolean {
  return [config.read, config.write, config.admin].some((s) =>
    s.users.length > 0 || s.tokens.length > 0
  );
}

/** The auth config in force with the generated token: admin needs it, read and write stay open. */
export function withAdminToken(config: AuthConfig, token: string): AuthConfig {
  return {
    ...config,
    read: { ...config.read, open: true },
    write: { ...config.write, open: true },
    admin: { ...config.admin, tokens: [{ token }] },
  };
}

/**
 * Reads the admin token from `dir`, or generates one (256 random bits, hex)
 * and writes it with mode 0600. `created` says whether it is new (and
 * should be shown once).
 */
export async function loadOrCreateAdminToken(
  dir: string,
): Promise<{ token: string; path: string; created: boolean }> {
  const path = `${dir}/${ADMIN_TOKEN_FILE}`;
  try {
    const token = (await Deno.readTextFile(path)).trim();
    if (token.length >= 16) return { token, path, created: false };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, token + "\n", { mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
  return { token, path, created: true };
}
