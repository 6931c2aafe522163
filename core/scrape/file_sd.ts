/**
 * File-based target discovery (`file_sd_configs`): JSON or YAML files, each a
 * list of `{targets: [...], labels: {...}}`, matched by paths whose last
 * element may be a glob. Files are re-read when their directory changes
 * (`Deno.watchFs`) and every `refresh_interval` in any case. A file that
 * stops parsing keeps its previous targets (as in Prometheus); a file that
 * disappears takes its targets with it. Every target gets
 * `__meta_filepath`.
 *
 * @module
 */
import type { Logger } from "../logging/mod.ts";
import { loadYaml, yaml } from "../model/mod.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { FileSdConfig } from "./config.ts";
import type { TargetGroup } from "./targets.ts";

/** The meta label holding the file a target came from. */
export const FILEPATH_LABEL = "__meta_filepath";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Parses the text of one SD file into groups, or returns the problem. Pure
 * (YAML files after `loadYaml()`).
 * `path` decides the format (`.json` or YAML) and names the groups' source.
 */
export function parseSdFile(
  text: string,
  path: string,
): { groups: TargetGroup[] } | { error: string } {
  let data: unknown;
  try {
    data = path.endsWith(".json") ? JSON.parse(text) : yaml().parse(text);
  } catch (e) {
    return { error: `cannot parse ${path}: ${e instanceof Error ? e.message.split("\n")[0] : e}` };
  }
  if (data === null || data === undefined) return { groups: [] };
  if (!Array.isArray(data)) return { error: `${path}: must be a list of target groups` };
  const groups: TargetGroup[] = [];
  for (let i = 0; i < data.length; i++) {
    const g = data[i] as Record<string, unknown> | null;
    const at = `${path}: [${i}]`;
    if (g === null || typeof g !== "object" || Array.isArray(g)) {
      return { error: `${at}: must be an object with targets and labels` };
    }
    for (const k of Object.keys(g)) {
      if (k !== "targets" && k !== "labels") return { error: `${at}: unknown field ${k}` };
    }
    const targets = g.targets ?? [];
    if (!Array.isArray(targets) || targets.some((t) => typeof t !== "string")) {
      return { error: `${at}.targets: must be a list of strings` };
    }
    const labels: Record<string, string> = {};
    const rawLabels = g.labels ?? {};
    if (typeof rawLabels !== "object" || rawLabels === null || Array.isArray(rawLabels)) {
      return { error: `${at}.labels: must be a mapping of label names to strings` };
    }
    for (const [k, v] of Object.entries(rawLabels)) {
      if (!LABEL_NAME.test(k)) return { error: `${at}.labels.${k}: invalid label name` };
      if (typeof v !== "string") return { error: `${at}.labels.${k}: must be a string` };
      labels[k] = v;
    }
    labels[FILEPATH_LABEL] = path;
    groups.push({ source: `${path}:${i}`, targets: targets as string[], labels });
  }
  return { groups };
}

/** Converts a file-name glob (`*`, `?`, `[...]`) into an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let cls = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (cls.startsWith("!")) cls = "^" + cls.slice(1);
        re += `[${cls}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function splitPath(p: string): { dir: string; base: string } {
  const slash = p.lastIndexOf("/");
  return slash < 0
    ? { dir: ".", base: p }
    : { dir: p.slice(0, slash) || "/", base: p.slice(slash + 1) };
}

/** Lists the files matching the configured paths, sorted. */
export async function expandSdFiles(patterns: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of patterns) {
    const { dir, base } = splitPath(p);
    if (!/[*?\[]/.test(base)) {
      out.add(p);
      continue;
    }
    const re = globToRegExp(base);
    try {
      for await (const e of Deno.readDir(dir)) {
        if ((e.isFile || e.isSymlink) && re.test(e.name)) {
          out.add(
            dir === "." && !p.startsWith("./") ? e.name : `${dir === "/" ? "" : dir}/${e.name}`,
          );
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return [...out].sort();
}

/** Options for {@linkcode FileSd}. */
export interface FileSdOptions {
  readonly config: FileSdConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called with every group of every file whenever the set changes. */
  readonly onUpdate: (groups: TargetGroup[]) => void;
  /** Watch directories for changes. @default {true} */
  readonly watch?: boolean;
  /** Called when a file cannot be read or parsed (for a counter). */
  readonly onError?: (path: string, error: string) => void;
}

/** Wait after a change event before re-reading, so editors' write bursts settle. */
const DEBOUNCE_MS = 100;

/** Watches the files of one `file_sd_configs` entry; see the module doc. */
export class FileSd {
  readonly #opts: FileSdOptions;
  readonly #byFile = new Map<string, TargetGroup[]>();
  #last = "";
  #watcher: Deno.FsWatcher | undefined;
  #watchDone: Promise<void> | undefined;
  #refreshTimer: TimerId | undefined;
  #debounce: TimerId | undefined;
  #stopped = false;
  #refreshing: Promise<void> = Promise.resolve();

  constructor(options: FileSdOptions) {
    this.#opts = options;
  }

  /** Reads the files once (resolves after the first update), then watches them. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.#stopped) return;
    if (this.#opts.watch ?? true) this.#startWatch();
    this.#scheduleRefresh();
  }

  /** Stops watching and timers. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#refreshTimer !== undefined) this.#opts.clock.clearTimeout(this.#refreshTimer);
    if (this.#debounce !== undefined) this.#opts.clock.clearTimeout(this.#debounce);
    try {
      this.#watcher?.close();
    } catch { /* already closed */ }
    await this.#watchDone;
    await this.#refreshing;
  }

  /** Current groups of every file. */
  groups(): TargetGroup[] {
    return [...this.#byFile.keys()].sort().flatMap((f) => this.#byFile.get(f)!);
  }

  /** Re-reads every file now; serialised with other refreshes. */
  refresh(): Promise<void> {
    this.#refreshing = this.#refreshing.then(() => this.#refresh());
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    if (this.#stopped) return;
    const { logger, onError } = this.#opts;
    let files: string[];
    try {
      files = await expandSdFiles(this.#opts.config.files);
    } catch (e) {
      logger.warn("cannot list file_sd files", { error: e });
      return;
    }
    const present = new Set<string>();
    if (files.some((f) => !f.endsWith(".json"))) await loadYaml();
    for (const f of files) {
      let text: string;
      try {
        text = await Deno.readTextFile(f);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        const msg = e instanceof Error ? e.message : String(e);
        logger.warn("cannot read file_sd file", { file: f, error: msg });
        onError?.(f, msg);
        if (this.#byFile.has(f)) present.add(f);
        continue;
      }
      present.add(f);
      const r = parseSdFile(text, f);
      if ("error" in r) {
        logger.warn("cannot parse file_sd file; keeping its previous targets", {
          file: f,
          error: r.error,
        });
        onError?.(f, r.error);
        continue;
      }
      this.#byFile.set(f, r.groups);
    }
    for (const f of [...this.#byFile.keys()]) if (!present.has(f)) this.#byFile.delete(f);
    const groups = this.groups();
    const text = JSON.stringify(groups);
    if (text !== this.#last && !this.#stopped) {
      this.#last = text;
      this.#opts.onUpdate(groups);
    }
  }

  #scheduleRefresh(): void {
    if (this.#stopped) return;
    this.#refreshTimer = this.#opts.clock.setTimeout(async () => {
      await this.refresh();
      this.#scheduleRefresh();
    }, this.#opts.config.refreshInterval);
  }

  #startWatch(): void {
    const dirs = [...new Set(this.#opts.config.files.map((p) => splitPath(p).dir))];
    const existing: string[] = [];
    for (const d of dirs) {
      try {
        if (Deno.statSync(d).isDirectory) existing.push(d);
      } catch { /* watched by the refresh interval only */ }
    }
    if (existing.length === 0) return;
    try {
      this.#watcher = Deno.watchFs(existing, { recursive: false });
    } catch (e) {
      this.#opts.logger.warn("cannot watch file_sd directories; relying on refresh_interval", {
        error: e,
      });
      return;
    }
    const w = this.#watcher;
    this.#watchDone = (async () => {
      try {
        for await (const _ of w) {
          if (this.#stopped) break;
          if (this.#debounce !== undefined) this.#opts.clock.clearTimeout(this.#debounce);
          this.#debounce = this.#opts.clock.setTimeout(() => {
            this.#debounce = undefined;
            return this.refresh();
          }, DEBOUNCE_MS);
        }
      } catch { /* closed */ }
    })();
  }
}
