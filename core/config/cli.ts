/**
 * The command line: the flags `main.ts` parses and the help it prints.
 *
 * @module
 */
import { VERSION } from "../version.ts";
import type { ConfigSource } from "./load.ts";
import type { FlagOverrides } from "./resolve.ts";

/** The flags: name, type, and a one-letter alias. */
export const FLAGS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  listen: { type: "string" },
  "log-level": { type: "string" },
  "check-config": { type: "boolean" },
  version: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Values of the flags given, by flag name (strings and booleans as {@linkcode FLAGS} says). */
export type FlagValues = {
  -readonly [K in keyof typeof FLAGS]?: typeof FLAGS[K]["type"] extends "string" ? string : boolean;
};

/**
 * Parses the command line as `node:util`'s `parseArgs` does in strict mode
 * without positionals (`--name value`, `--name=value`, `-h`; the last of a
 * repeated flag wins), without loading Deno's Node layer for it. Throws a
 * `TypeError` naming the problem for an unknown flag, a missing value, a
 * value given to a switch, or any other argument.
 */
export function parseFlags(args: readonly string[]): FlagValues {
  const out: Record<string, string | boolean> = {};
  const defs: Record<string, { type: "string" | "boolean" }> = FLAGS;
  const byShort = new Map(
    Object.entries(FLAGS).flatMap(([k, d]) => "short" in d ? [[d.short as string, k]] : []),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    let name: string | undefined, value: string | undefined;
    if (arg === "--") {
      // The end of the flags; what follows would be arguments.
      if (i + 1 < args.length) {
        throw new TypeError(
          `Unexpected argument '${args[i + 1]}'. This command does not take arguments`,
        );
      }
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) value = arg.slice(eq + 1);
    } else if (/^-[^-]$/.test(arg)) name = byShort.get(arg[1]);
    else throw new TypeError(`Unexpected argument '${arg}'. This command does not take arguments`);
    const def = name === undefined ? undefined : defs[name];
    if (name === undefined || def === undefined) throw new TypeError(`Unknown option '${arg}'`);
    if (def.type === "boolean") {
      if (value !== undefined) throw new TypeError(`Option '--${name}' does not take an argument`);
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= args.length || args[i + 1].startsWith("-")) {
        throw new TypeError(`Option '--${name} <value>' argument missing`);
      }
      value = args[++i];
    }
    out[name] = value;
  }
  return out as FlagValues;
}

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
