/**
 * Resolves the layers of configuration into one read-only {@linkcode Config}:
 * embedded defaults < YAML file < environment (`PERCH_*`) < command-line flags.
 * Every problem is reported at once, each with its path.
 *
 * @module
 */
import { configIssues, PARSE_ONCE, yaml, YamlError } from "../model/mod.ts";
import { type Config, configSchema } from "./schema.ts";

/** Overrides from flags; each maps onto one config path. */
export interface FlagOverrides {
  readonly dataDir?: string;
  readonly listen?: string;
  readonly logLevel?: string;
}

/** What to resolve. */
export interface ResolveInput {
  /** The YAML text of the config file, if there is one (then `loadYaml()` must have resolved). */
  readonly fileText?: string;
  /** The file's name, for error messages. */
  readonly fileName?: string;
  /** Environment variables; only `PERCH_*` are read. */
  readonly env?: Readonly<Record<string, string>>;
  readonly flags?: FlagOverrides;
}

/** Either a config or every problem found. */
export type ResolveResult =
  | {
    readonly ok: true;
    readonly config: Config;
    /** Things ignored on purpose (e.g. `PERCH_*` variables that are no setting), to log. */
    readonly warnings: readonly string[];
  }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Shorthand variables for the most common settings. */
const ENV_SHORTHANDS: Record<string, string[]> = {
  PERCH_LISTEN: ["server", "listen"],
  PERCH_DATA_DIR: ["storage", "data_dir"],
  PERCH_LOG_LEVEL: ["log", "level"],
  PERCH_RETENTION: ["storage", "retention"],
};

/** Variables that are not config paths. */
const ENV_IGNORED = new Set(["PERCH_CONFIG"]);

/**
 * Resolves config layers. Env vars map as `PERCH_LISTEN`, `PERCH_DATA_DIR`,
 * `PERCH_LOG_LEVEL`, `PERCH_RETENTION`, or generally
 * `PERCH_<SECTION>__<KEY>` (double underscore between levels, e.g.
 * `PERCH_STORAGE__FSYNC=interval`); values are read as YAML scalars. A
 * variable whose first part names no config section is ignored and listed
 * in `warnings`; an unknown key inside a known section is an error.
 */
export function resolveConfig(input: ResolveInput): ResolveResult {
  const errors: string[] = [];
  let raw: Record<string, unknown> = {};
  const where = input.fileName ?? "config";
  if (input.fileText !== undefined && input.fileText.trim() !== "") {
    let value: unknown;
    try {
      value = yaml().parse(input.fileText);
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      const at = e.line === undefined ? where : `${where}:${e.line}:${e.col}`;
      return { ok: false, errors: [`${at}: ${e.reason}`] };
    }
    if (value !== null && value !== undefined) {
      if (typeof value !== "object" || Array.isArray(value)) {
        return { ok: false, errors: [`${where}: must be a mapping of sections`] };
      }
      raw = value as Record<string, unknown>;
    }
  }

  const warnings: string[] = [];
  for (const [name, value] of Object.entries(input.env ?? {})) {
    if (!name.startsWith("PERCH_") || ENV_IGNORED.has(name)) continue;
    const path = ENV_SHORTHANDS[name] ??
      name.slice("PERCH_".length).toLowerCase().split("__").filter((p) => p !== "");
    if (path.length === 0) continue;
    // A variable that names no section (PERCH_HOME, PERCH_DIR, a wrapper
    // script's own) is not meant for Perch: ignored with a warning. Within a
    // known section, an unknown key is a typo and an error, as in the file.
    if (!Object.hasOwn(configSchema.shape, path[0]!)) {
      warnings.push(
        `environment variable ${name} is not a Perch setting and was ignored ` +
          `(settings are PERCH_<SECTION>__<KEY>, e.g. PERCH_STORAGE__RETENTION)`,
      );
      continue;
    }
    setPath(raw, path, envValue(value));
  }

  const flags = input.flags ?? {};
  if (flags.listen !== undefined) setPath(raw, ["server", "listen"], flags.listen);
  if (flags.dataDir !== undefined) setPath(raw, ["storage", "data_dir"], flags.dataDir);
  if (flags.logLevel !== undefined) setPath(raw, ["log", "level"], flags.logLevel);

  const parsed = configSchema.safeParse(raw, PARSE_ONCE);
  if (!parsed.success) {
    errors.push(...configIssues(parsed.error));
    return { ok: false, errors };
  }
  return { ok: true, config: deepFreeze(parsed.data), warnings };
}

function envValue(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return text;
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    if (typeof next !== "object" || next === null || Array.isArray(next)) {
      cur[k] = {};
    }
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
