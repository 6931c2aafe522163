/**
 * YAML 1.2 (the core schema) for the config, rule and file_sd files and the
 * config shown back, loaded on first use: a start-up without a config file
 * needs none of it (rule files load after start-up). {@linkcode loadYaml}
 * before the first parse; synchronous parsers then take it from
 * {@linkcode yaml}.
 *
 * It is js-yaml, an ES module. The `yaml` package resolves to its CommonJS
 * build in Deno (the `node` export condition), and any CommonJS module in
 * Perch makes the bundle and the compiled binary set up Deno's CommonJS
 * loader (`node:module`) at every start: 20-30 ms before anything else runs.
 *
 * @module
 */
import type * as JsYaml from "js-yaml";

/** A YAML syntax error, with where it is when known (1-based). */
export class YamlError extends Error {
  constructor(
    /** What is wrong, without the place. */
    readonly reason: string,
    readonly line?: number,
    readonly col?: number,
  ) {
    super(line === undefined ? reason : `${reason} at line ${line}, column ${col}`);
    this.name = "YamlError";
  }
}

/** What Perch does with YAML. */
export interface Yaml {
  /**
   * The value of the one document in `text`: null when it holds none (empty,
   * or comments only). Keys must be unique. Throws {@linkcode YamlError}.
   */
  parse(text: string): unknown;
  /** `value` as a YAML document (block style, strings double-quoted where they need quotes). */
  stringify(value: unknown): string;
}

let loaded: Yaml | undefined;

/** Loads the YAML library (once) and resolves with it. */
export async function loadYaml(): Promise<Yaml> {
  return loaded ??= yamlOf(await import("js-yaml"));
}

/** The YAML library, once {@linkcode loadYaml} resolved; throws before that (a bug). */
export function yaml(): Yaml {
  if (loaded === undefined) throw new Error("BUG: YAML used before loadYaml() resolved");
  return loaded;
}

function yamlOf(js: typeof JsYaml): Yaml {
  return {
    parse(text) {
      let docs: unknown[];
      try {
        docs = js.loadAll(text);
      } catch (e) {
        if (!(e instanceof js.YAMLException)) throw e;
        const m = e.mark;
        throw m ? new YamlError(e.reason, m.line + 1, m.column + 1) : new YamlError(e.reason);
      }
      if (docs.length > 1) throw new YamlError("the text holds more than one YAML document");
      return docs[0] ?? null;
    },
    stringify: (value) => js.dump(value, { quoteStyle: "double" }),
  };
}
