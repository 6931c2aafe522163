/**
 * Reading the config file and resolving it: the one way a start, a reload
 * and `--check-config` get a {@linkcode Config}.
 *
 * @module
 */
import type { Checked } from "../lifecycle.ts";
import { loadYaml } from "../model/mod.ts";
import { type FlagOverrides, resolveConfig } from "./resolve.ts";
import type { Config } from "./schema.ts";

/** Where the config comes from. */
export interface ConfigSource {
  /** Path of the YAML config file; none means embedded defaults only. */
  readonly configPath?: string;
  /** Environment variables (only PERCH_* are read). */
  readonly env?: Readonly<Record<string, string>>;
  readonly flags?: FlagOverrides;
}

/** Thrown when a configuration is invalid; lists every problem. */
export class ConfigError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(`Invalid configuration:\n  ${errors.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** The text of the config file; undefined without a file; ConfigError when it is missing. */
async function readConfigText(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError([`${path}: file not found`]);
    throw e;
  }
}

/** A loaded config, with the file's text as read (undefined without a file or when it could not be read). */
export type LoadedConfig = Checked<Config> & { readonly text?: string };

/** Reads and resolves the config of `source`: a frozen config, or every problem. */
export async function loadConfig(source: ConfigSource): Promise<LoadedConfig> {
  let text: string | undefined;
  try {
    text = await readConfigText(source.configPath);
  } catch (e) {
    return { ok: false, errors: e instanceof ConfigError ? e.errors : [String(e)] };
  }
  if (text !== undefined && text.trim() !== "") await loadYaml();
  const r = resolveConfig({
    fileText: text,
    fileName: source.configPath,
    env: source.env ?? {},
    flags: source.flags,
  });
  return r.ok
    ? { ok: true, value: r.config, warnings: r.warnings, text }
    : { ok: false, errors: r.errors, text };
}

/** The directory relative paths in the config file are resolved against. */
export function configDir(configPath: string | undefined): string {
  if (configPath === undefined || !configPath.includes("/")) return ".";
  return configPath.slice(0, configPath.lastIndexOf("/")) || "/";
}

/** `path` from the config file, relative to `dir` (see {@linkcode configDir}) unless absolute. */
export function resolvePath(dir: string, path: string): string {
  return path.startsWith("/") || dir === "." ? path : `${dir}/${path}`;
}
