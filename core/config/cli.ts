/**
 * The command line: the flags `main.ts` parses and the help it prints.
 *
 * @module
 */
import { VERSION } from "../version.ts";
import type { ConfigSource } from "./load.ts";
import type { FlagOverrides } from "./resolve.ts";

/** The flags, in the shape `node:util` `parseArgs` takes. */
export const FLAGS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  listen: { type: "string" },
  "log-level": { type: "string" },
  "check-config": { type: "boolean" },
  version: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `perch --help`. */
export const HELP = `Perch ${VERSION}: metrics, dashboards and alerts in one binary.

Usage: perch [flags]

Flags:
  --config <file>       YAML config file (env PERCH_CONFIG); defaults are embedded
  --data-dir <dir>      Data directory (storage.data_dir, default ./data)
  --listen <host:port>  HTTP listen address (server.listen, default 0.0.0.0:8080)
  --log-level <level>   debug, info, warn or error (log.level)
  --check-config        Validate the configuration and exit
  --version             Print the version and exit
  --help                Show this help

Environment: PERCH_LISTEN, PERCH_DATA_DIR, PERCH_LOG_LEVEL, PERCH_RETENTION, and
PERCH_<SECTION>__<KEY> for any setting (e.g. PERCH_STORAGE__FSYNC=interval).
Reload the config with SIGHUP, POST /-/reload, or by saving the file.`;

/** The effective flags, for `/api/v1/status/flags`. */
export function flagValues(source: ConfigSource): Record<string, string> {
  const f = source.flags ?? {};
  return {
    "config.file": source.configPath ?? "",
    "storage.data_dir": f.dataDir ?? "",
    "web.listen_address": f.listen ?? "",
    "log.level": f.logLevel ?? "",
  };
}

/** The config overrides of parsed flags. */
export function flagOverrides(v: {
  "data-dir"?: string;
  listen?: string;
  "log-level"?: string;
}): FlagOverrides {
  return {
    ...(v["data-dir"] !== undefined ? { dataDir: v["data-dir"] } : {}),
    ...(v.listen !== undefined ? { listen: v.listen } : {}),
    ...(v["log-level"] !== undefined ? { logLevel: v["log-level"] } : {}),
  };
}
