/**
 * From discovered target groups to scrape targets: the meta labels
 * (`__address__`, `__scheme__`, `__metrics_path__`, `__param_*`,
 * `__scrape_interval__`, `__scrape_timeout__`, `job`), target relabeling,
 * and the final `job`/`instance` labels and URL, as Prometheus's
 * `PopulateLabels` does. Pure.
 *
 * @module
 */
import { formatDuration, parseDuration } from "../model/mod.ts";
import type { ScrapeConfig } from "./config.ts";
import { checkTargetAddress } from "./config.ts";
import { relabel } from "./relabel.ts";

/** Targets sharing labels, as a discovery source reports them. */
export interface TargetGroup {
  /** Where the group came from (e.g. `static:0`, a file path and index). */
  readonly source: string;
  /** Addresses (`host:port`). */
  readonly targets: readonly string[];
  /** Labels of every target in the group (may include `__meta_*`). */
  readonly labels: Readonly<Record<string, string>>;
}

/** A target to scrape, after relabeling. */
export interface Target {
  /** The job (scrape pool) name. */
  readonly pool: string;
  /** Labels before relabeling, meta labels included. */
  readonly discoveredLabels: Readonly<Record<string, string>>;
  /** Labels every scraped series gets (`job`, `instance`, ...); no `__` names. */
  readonly labels: Readonly<Record<string, string>>;
  /** Every label after relabeling, `__` ones included (minus `__meta_*`). */
  readonly allLabels: Readonly<Record<string, string>>;
  readonly url: string;
  /** ms */
  readonly interval: number;
  /** ms */
  readonly timeout: number;
  /** Identity: same key <=> same target (pool + every label after relabeling). */
  readonly key: string;
}

/** The outcome for one discovered address. */
export type PopulateResult =
  | { readonly kind: "target"; readonly target: Target }
  | { readonly kind: "dropped"; readonly discoveredLabels: Readonly<Record<string, string>> }
  | {
    readonly kind: "error";
    readonly discoveredLabels: Readonly<Record<string, string>>;
    readonly error: string;
  };

/** The label names Prometheus gives special meaning to. */
export const ADDRESS_LABEL = "__address__";
export const SCHEME_LABEL = "__scheme__";
export const METRICS_PATH_LABEL = "__metrics_path__";
export const SCRAPE_INTERVAL_LABEL = "__scrape_interval__";
export const SCRAPE_TIMEOUT_LABEL = "__scrape_timeout__";
export const PARAM_LABEL_PREFIX = "__param_";
export const META_LABEL_PREFIX = "__meta_";

/** Builds the labels, runs target relabeling and derives URL and timing for one address. */
export function populateTarget(
  cfg: ScrapeConfig,
  address: string,
  groupLabels: Readonly<Record<string, string>>,
): PopulateResult {
  const lb = new Map<string, string>();
  for (const [k, v] of Object.entries(groupLabels)) if (v !== "") lb.set(k, v);
  lb.set(ADDRESS_LABEL, address);
  const defaults: [string, string][] = [
    ["job", cfg.jobName],
    [SCRAPE_INTERVAL_LABEL, formatDuration(cfg.scrapeInterval)],
    [SCRAPE_TIMEOUT_LABEL, formatDuration(cfg.scrapeTimeout)],
    [METRICS_PATH_LABEL, cfg.metricsPath],
    [SCHEME_LABEL, cfg.scheme],
  ];
  for (const [k, v] of defaults) if (!lb.has(k)) lb.set(k, v);
  for (const [k, values] of Object.entries(cfg.params)) {
    if (values.length > 0 && !lb.has(PARAM_LABEL_PREFIX + k)) {
      lb.set(PARAM_LABEL_PREFIX + k, values[0]!);
    }
  }
  const discoveredLabels = sortedObject(lb);

  const out = relabel(lb, cfg.relabelConfigs);
  if (out === null) return { kind: "dropped", discoveredLabels };
  const fail = (error: string): PopulateResult => ({ kind: "error", discoveredLabels, error });

  const addr = out.get(ADDRESS_LABEL) ?? "";
  if (addr === "") return fail("no address");
  const addrProblem = checkTargetAddress(addr);
  if (addrProblem) return fail(`invalid address: ${addrProblem}`);
  const interval = parseDuration(out.get(SCRAPE_INTERVAL_LABEL) ?? "");
  if (interval === undefined || interval <= 0) {
    return fail(`invalid ${SCRAPE_INTERVAL_LABEL} "${out.get(SCRAPE_INTERVAL_LABEL)}"`);
  }
  const timeout = parseDuration(out.get(SCRAPE_TIMEOUT_LABEL) ?? "");
  if (timeout === undefined || timeout <= 0) {
    return fail(`invalid ${SCRAPE_TIMEOUT_LABEL} "${out.get(SCRAPE_TIMEOUT_LABEL)}"`);
  }
  if (timeout > interval) {
    return fail(
      `${SCRAPE_TIMEOUT_LABEL} (${
        formatDuration(timeout)
      }) is greater than ${SCRAPE_INTERVAL_LABEL} (${formatDuration(interval)})`,
    );
  }
  for (const k of [...out.keys()]) if (k.startsWith(META_LABEL_PREFIX)) out.delete(k);
  if (!out.has("instance")) out.set("instance", addr);

  const scheme = out.get(SCHEME_LABEL) ?? "http";
  if (scheme !== "http" && scheme !== "https") return fail(`invalid scheme "${scheme}"`);
  let path = out.get(METRICS_PATH_LABEL) ?? "/metrics";
  if (!path.startsWith("/")) path = "/" + path;

  const params = new Map<string, string[]>();
  for (const [k, v] of Object.entries(cfg.params)) params.set(k, [...v]);
  for (const [k, v] of out) {
    if (!k.startsWith(PARAM_LABEL_PREFIX)) continue;
    const name = k.slice(PARAM_LABEL_PREFIX.length);
    const list = params.get(name);
    if (list && list.length > 0) list[0] = v;
    else params.set(name, [v]);
  }
  const query = new URLSearchParams();
  for (const k of [...params.keys()].sort()) for (const v of params.get(k)!) query.append(k, v);
  const qs = query.toString();
  const url = `${scheme}://${addr}${path}${qs === "" ? "" : "?" + qs}`;

  const allLabels = sortedObject(out);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(allLabels)) if (!k.startsWith("__")) labels[k] = v;
  const key = cfg.jobName + "\u0000" + JSON.stringify(allLabels);
  return {
    kind: "target",
    target: { pool: cfg.jobName, discoveredLabels, labels, allLabels, url, interval, timeout, key },
  };
}

/** Every target of a set of groups, plus the dropped ones and the errors. */
export interface PopulatedGroups {
  readonly targets: Target[];
  readonly dropped: Readonly<Record<string, string>>[];
  readonly errors: string[];
}

/** Runs {@linkcode populateTarget} over groups; duplicate targets are kept once. */
export function populateGroups(cfg: ScrapeConfig, groups: readonly TargetGroup[]): PopulatedGroups {
  const targets: Target[] = [];
  const dropped: Readonly<Record<string, string>>[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const g of groups) {
    for (const addr of g.targets) {
      const r = populateTarget(cfg, addr, g.labels);
      if (r.kind === "target") {
        if (seen.has(r.target.key)) continue;
        seen.add(r.target.key);
        targets.push(r.target);
      } else {
        dropped.push(r.discoveredLabels);
        if (r.kind === "error") errors.push(`${g.source}: target ${addr}: ${r.error}`);
      }
    }
  }
  return { targets, dropped, errors };
}

function sortedObject(m: ReadonlyMap<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k)!;
  return out;
}

/**
 * A stable offset in [0, interval) for a target, so that targets of one job
 * are spread over the interval and each keeps its phase across restarts.
 */
export function scrapeOffset(key: string, interval: number): number {
  // FNV-1a, 32 bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % Math.max(1, Math.floor(interval));
}
