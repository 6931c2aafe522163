/**
 * The YAML library, loaded on first use. A start-up without a config file
 * needs none of it (rule files load after start-up), and it is about a tenth
 * of the code Perch loads: {@linkcode loadYaml} before the first parse;
 * synchronous parsers then take it from {@linkcode yaml}.
 *
 * @module
 */

/** The `yaml` package's API. */
export type Yaml = typeof import("yaml");

let loaded: Yaml | undefined;

/** Loads the YAML library (once) and resolves with it. */
export async function loadYaml(): Promise<Yaml> {
  return loaded ??= await import("yaml");
}

/** The YAML library, once {@linkcode loadYaml} resolved; throws before that (a bug). */
export function yaml(): Yaml {
  if (loaded === undefined) throw new Error("BUG: YAML used before loadYaml() resolved");
  return loaded;
}
