/**
 * `scrape_configs`: the Prometheus-compatible subset Perch understands, its
 * defaults and its validation. The top-level config schema keeps the section
 * as a loose list; {@linkcode parseScrapeConfigs} validates it and reports
 * every problem at once, each naming its path, e.g.
 * `scrape_configs[0].static_configs[0].targets[1]: ...`.
 *
 * @module
 */
import {
  configIssues,
  formatPath,
  type HttpAuth,
  PARSE_ONCE,
  parseBytes,
  parseDuration,
  resolveHttpAuth,
  z,
} from "../model/mod.ts";
import {
  compileRelabelRule,
  DEFAULT_RELABEL_REGEX,
  RELABEL_ACTIONS,
  type RelabelAction,
  type RelabelRule,
} from "./relabel.ts";

/** How a scrape authenticates. */
export type ScrapeAuth = HttpAuth;

/** One `static_configs` entry. */
export interface StaticConfig {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** One `file_sd_configs` entry. */
export interface FileSdConfig {
  /** Paths; the last element may be a glob (`*.json`, `*.yml`). Absolute when a base dir was given. */
  readonly files: readonly string[];
  /** Re-read every file this often (ms), besides watching for changes. */
  readonly refreshInterval: number;
}

/** A resolved scrape config: every field present, durations in ms. */
export interface ScrapeConfig {
  readonly jobName: string;
  readonly scrapeInterval: number;
  readonly scrapeTimeout: number;
  readonly metricsPath: string;
  readonly scheme: "http" | "https";
  readonly params: Readonly<Record<string, readonly string[]>>;
  readonly auth: ScrapeAuth;
  readonly staticConfigs: readonly StaticConfig[];
  readonly fileSdConfigs: readonly FileSdConfig[];
  readonly honorLabels: boolean;
  readonly honorTimestamps: boolean;
  readonly relabelConfigs: readonly RelabelRule[];
  readonly metricRelabelConfigs: readonly RelabelRule[];
  /** Most samples per scrape after metric relabeling; 0 = no limit. */
  readonly sampleLimit: number;
  /** Most labels per series (with `__name__`); 0 = no limit. */
  readonly labelLimit: number;
  /** Largest uncompressed body in bytes. */
  readonly bodySizeLimit: number;
  /**
   * A stable text of everything above, to tell on reload whether the job
   * changed.
   */
  readonly fingerprint: string;
}

/** The parts of `global` scrape configs default from. */
export interface ScrapeGlobals {
  /** ms */
  readonly scrape_interval: number;
  /** ms */
  readonly scrape_timeout: number;
}

/** Options of {@linkcode parseScrapeConfigs}. */
export interface ParseScrapeOptions {
  /** Directory relative `file_sd_configs` paths are resolved against (the config file's). */
  readonly baseDir?: string;
}

/** Either every config, or every problem (path-prefixed strings). */
export type ParseScrapeResult =
  | { readonly ok: true; readonly configs: ScrapeConfig[]; readonly errors?: undefined }
  | { readonly ok: false; readonly errors: string[]; readonly configs?: undefined };

/** Used when `body_size_limit` is 0 or absent: a scrape body can never exhaust memory. */
export const DEFAULT_BODY_SIZE_LIMIT = 64 * 1024 * 1024;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const durationText = z.union([z.string(), z.number()], {
  error: "must be a duration such as 15s, 1m",
});

const labelName = z.string({ error: "must be a string" }).check(z.regex(
  LABEL_NAME,
  "must be a label name matching [a-zA-Z_][a-zA-Z0-9_]*",
));

const labelMap = z.record(labelName, z.string({ error: "must be a string" }), {
  error: "must be a mapping of label names to strings",
});

const relabelSchema = z.strictObject({
  source_labels: z.optional(z.array(labelName, { error: "must be a list of label names" })),
  separator: z.optional(z.string()),
  regex: z.optional(z.string({ error: "must be a string" })),
  modulus: z.optional(
    z.number({ error: "must be a number" }).check(
      z.int("must be an integer"),
      z.positive(
        "must be positive",
      ),
    ),
  ),
  target_label: z.optional(z.string({ error: "must be a string" })),
  replacement: z.optional(z.string({ error: "must be a string" })),
  action: z.optional(z.string({ error: "must be a string" })),
});

const targetText = z.string({ error: "must be a string" }).check(z.superRefine((t, ctx) => {
  const m = checkTargetAddress(t);
  if (m) ctx.addIssue({ code: "custom", message: m });
}));

const scrapeConfigSchema = z.strictObject({
  job_name: z.string({ error: "is required (a string)" }).check(
    z.minLength(1, "must not be empty"),
  ),
  scrape_interval: z.optional(durationText),
  scrape_timeout: z.optional(durationText),
  metrics_path: z.optional(
    z.string({ error: "must be a string" }).check(z.refine(
      (p) => p.startsWith("/"),
      "must start with /",
    )),
  ),
  scheme: z.optional(z.enum(["http", "https"], { error: "must be http or https" })),
  params: z.optional(z.record(z.string(), z.array(z.string()), {
    error: "must map parameter names to lists of strings",
  })),
  basic_auth: z.optional(z.strictObject({
    username: z.optional(z.string({ error: "must be a string" })),
    password: z.optional(z.string({ error: "must be a string" })),
    password_file: z.optional(z.string({ error: "must be a string" })),
  })),
  bearer_token: z.optional(z.string({ error: "must be a string" })),
  bearer_token_file: z.optional(z.string({ error: "must be a string" })),
  authorization: z.optional(z.strictObject({
    type: z.optional(z.string({ error: "must be a string" })),
    credentials: z.optional(z.string({ error: "must be a string" })),
    credentials_file: z.optional(z.string({ error: "must be a string" })),
  })),
  static_configs: z.optional(z.array(
    z.strictObject({
      targets: z.optional(z.array(targetText, { error: "must be a list of host:port" })),
      labels: z.optional(labelMap),
    }),
  )),
  file_sd_configs: z.optional(z.array(
    z.strictObject({
      files: z.array(z.string().check(z.minLength(1, "must not be empty")), {
        error: "must be a list of paths",
      }).check(z.minLength(1, "must list at least one file")),
      refresh_interval: z.optional(durationText),
    }),
  )),
  honor_labels: z.optional(z.boolean({ error: "must be true or false" })),
  honor_timestamps: z.optional(z.boolean({ error: "must be true or false" })),
  relabel_configs: z.optional(z.array(relabelSchema)),
  metric_relabel_configs: z.optional(z.array(relabelSchema)),
  sample_limit: z.optional(
    z.number({ error: "must be a number" }).check(
      z.int("must be an integer"),
      z.gte(
        0,
        "must not be negative",
      ),
    ),
  ),
  label_limit: z.optional(
    z.number({ error: "must be a number" }).check(
      z.int("must be an integer"),
      z.gte(
        0,
        "must not be negative",
      ),
    ),
  ),
  body_size_limit: z.optional(z.union([z.string(), z.number()])),
});

type RawScrapeConfig = z.output<typeof scrapeConfigSchema>;
type RawRelabel = z.output<typeof relabelSchema>;
type Path = (string | number)[];

/**
 * Returns a message when `addr` cannot be a scrape address (`host:port` or
 * `host`, no scheme or path), else undefined.
 */
export function checkTargetAddress(addr: string): string | undefined {
  if (addr === "") return "must not be empty";
  if (addr.includes("/")) {
    return `"${addr}" is not a valid host:port (give the path in metrics_path and the scheme in scheme)`;
  }
  if (/\s/.test(addr)) return `"${addr}" is not a valid host:port (contains whitespace)`;
  const m = /^(\[[^\]]+\]|[^:\[\]]+)(?::(\d+))?$/.exec(addr);
  if (!m) return `"${addr}" is not a valid host:port`;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) {
    return `"${addr}" has a port out of range`;
  }
  return undefined;
}

function durationMs(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  return parseDuration(v.trim());
}

/**
 * Validates `scrape_configs` (the raw list from the config file) against
 * Prometheus's rules and fills in defaults from `global`. Reports every
 * problem at once; each names its path from `scrape_configs`.
 */
export function parseScrapeConfigs(
  raw: unknown,
  global: ScrapeGlobals,
  options: ParseScrapeOptions = {},
): ParseScrapeResult {
  const errors: string[] = [];
  if (raw === undefined || raw === null) return { ok: true, configs: [] };
  if (!Array.isArray(raw)) {
    return { ok: false, errors: ["scrape_configs: must be a list of scrape configs"] };
  }
  const configs: ScrapeConfig[] = [];
  const seenJobs = new Map<string, number>();
  raw.forEach((item, i) => {
    const base: Path = ["scrape_configs", i];
    const parsed = scrapeConfigSchema.safeParse(item, PARSE_ONCE);
    if (!parsed.success) {
      errors.push(...configIssues(parsed.error, base));
      return;
    }
    const at = (...p: Path) => formatPath([...base, ...p]);
    const before = errors.length;
    const c = resolveOne(parsed.data, global, options, at, errors);
    const prev = seenJobs.get(parsed.data.job_name);
    if (prev !== undefined) {
      errors.push(
        `${at("job_name")}: "${parsed.data.job_name}" is already used by scrape_configs[${prev}]`,
      );
    } else {
      seenJobs.set(parsed.data.job_name, i);
    }
    if (c && errors.length === before) configs.push(c);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, configs };
}

function resolveOne(
  r: RawScrapeConfig,
  global: ScrapeGlobals,
  options: ParseScrapeOptions,
  at: (...p: Path) => string,
  errors: string[],
): ScrapeConfig | undefined {
  const interval = r.scrape_interval === undefined
    ? global.scrape_interval
    : durationMs(r.scrape_interval);
  if (interval === undefined || interval <= 0) {
    errors.push(`${at("scrape_interval")}: must be a positive duration such as 15s, 1m`);
  }
  let timeout = r.scrape_timeout === undefined ? undefined : durationMs(r.scrape_timeout);
  if (r.scrape_timeout !== undefined && (timeout === undefined || timeout <= 0)) {
    errors.push(`${at("scrape_timeout")}: must be a positive duration such as 10s`);
  }
  if (interval !== undefined && interval > 0) {
    if (timeout === undefined) {
      // As Prometheus: the global timeout, but never longer than this job's interval.
      timeout = Math.min(global.scrape_timeout, interval);
    } else if (timeout > interval) {
      errors.push(
        `${at("scrape_timeout")}: must not be greater than scrape_interval (${r.scrape_timeout} > ${
          r.scrape_interval ?? "global.scrape_interval"
        })`,
      );
    }
  }

  // Authentication: at most one way.
  const auth: ScrapeAuth = resolveHttpAuth(r, errors, {
    at: (...p) => at(...p),
    filePath: (p) => resolvePath(p, options),
  });

  const fileSd: FileSdConfig[] = [];
  (r.file_sd_configs ?? []).forEach((f, k) => {
    const refresh = f.refresh_interval === undefined ? 300_000 : durationMs(f.refresh_interval);
    if (refresh === undefined || refresh <= 0) {
      errors.push(`${at("file_sd_configs", k, "refresh_interval")}: must be a positive duration`);
    }
    f.files.forEach((file, n) => {
      const m = checkSdFilePattern(file);
      if (m) errors.push(`${at("file_sd_configs", k, "files", n)}: ${m}`);
    });
    fileSd.push({
      files: f.files.map((p) => resolvePath(p, options)),
      refreshInterval: refresh ?? 300_000,
    });
  });

  let bodySizeLimit = DEFAULT_BODY_SIZE_LIMIT;
  if (r.body_size_limit !== undefined) {
    const n = typeof r.body_size_limit === "number"
      ? r.body_size_limit
      : parseBytes(r.body_size_limit);
    if (n === undefined || !Number.isFinite(n) || n < 0) {
      errors.push(`${at("body_size_limit")}: must be a size such as 10MiB or a number of bytes`);
    } else if (n > 0) bodySizeLimit = n;
  }

  const relabelConfigs = compileRules(r.relabel_configs ?? [], at, "relabel_configs", errors);
  const metricRelabelConfigs = compileRules(
    r.metric_relabel_configs ?? [],
    at,
    "metric_relabel_configs",
    errors,
  );

  const staticConfigs: StaticConfig[] = (r.static_configs ?? []).map((s) => ({
    targets: s.targets ?? [],
    labels: s.labels ?? {},
  }));

  if (interval === undefined || timeout === undefined) return undefined;
  const resolved = {
    jobName: r.job_name,
    scrapeInterval: interval,
    scrapeTimeout: timeout,
    metricsPath: r.metrics_path ?? "/metrics",
    scheme: r.scheme ?? "http",
    params: r.params ?? {},
    auth,
    staticConfigs,
    fileSdConfigs: fileSd,
    honorLabels: r.honor_labels ?? false,
    honorTimestamps: r.honor_timestamps ?? true,
    relabelConfigs,
    metricRelabelConfigs,
    sampleLimit: r.sample_limit ?? 0,
    labelLimit: r.label_limit ?? 0,
    bodySizeLimit,
  } as const;
  return { ...resolved, fingerprint: fingerprintOf(resolved) };
}

/** A stable text of a resolved config (regexes by source). */
function fingerprintOf(c: Omit<ScrapeConfig, "fingerprint">): string {
  return JSON.stringify(c, (k, v) => (k === "re" ? undefined : v));
}

function resolvePath(p: string, options: ParseScrapeOptions): string {
  if (options.baseDir === undefined || p.startsWith("/")) return p;
  return `${options.baseDir.replace(/\/+$/, "")}/${p}`;
}

/** Globs are allowed in the last path element only, as in Prometheus. */
function checkSdFilePattern(p: string): string | undefined {
  const slash = p.lastIndexOf("/");
  const dir = slash < 0 ? "" : p.slice(0, slash);
  if (/[*?\[]/.test(dir)) return "globs are allowed in the file name only, not in directories";
  if (!/\.(json|ya?ml)$/.test(p)) return "must end in .json, .yml or .yaml";
  return undefined;
}

function compileRules(
  raw: readonly RawRelabel[],
  at: (...p: Path) => string,
  field: string,
  errors: string[],
): RelabelRule[] {
  const out: RelabelRule[] = [];
  raw.forEach((r, k) => {
    const where = (sub?: string) => sub === undefined ? at(field, k) : at(field, k, sub);
    const action = (r.action ?? "replace").toLowerCase() as RelabelAction;
    if (!RELABEL_ACTIONS.includes(action)) {
      errors.push(
        `${where("action")}: unknown relabel action "${r.action}" (one of ${
          RELABEL_ACTIONS.join(", ")
        })`,
      );
      return;
    }
    const problem = checkRule(action, r);
    if (problem) {
      errors.push(`${where(problem.field)}: ${problem.message}`);
      return;
    }
    try {
      out.push(compileRelabelRule({
        action,
        sourceLabels: r.source_labels,
        separator: r.separator,
        regex: r.regex,
        targetLabel: r.target_label,
        replacement: r.replacement,
        modulus: r.modulus,
      }));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      errors.push(`${where("regex")}: invalid regular expression: ${msg}`);
    }
  });
  return out;
}

const TEMPLATE_TARGET = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

/** Prometheus's cross-field checks of a relabel rule. */
function checkRule(
  action: RelabelAction,
  r: RawRelabel,
): { field?: string; message: string } | undefined {
  const target = r.target_label ?? "";
  const needsTarget = ["replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"];
  if (needsTarget.includes(action) && target === "") {
    return { field: "target_label", message: `is required for the ${action} action` };
  }
  if (action === "replace" && target !== "") {
    const ok = target.includes("$") ? TEMPLATE_TARGET.test(target) : LABEL_NAME.test(target);
    if (!ok) return { field: "target_label", message: `"${target}" is not a valid label name` };
  }
  if (
    ["hashmod", "lowercase", "uppercase", "keepequal", "dropequal"].includes(action) &&
    !LABEL_NAME.test(target)
  ) {
    return { field: "target_label", message: `"${target}" is not a valid label name` };
  }
  if (action === "hashmod" && r.modulus === undefined) {
    return { field: "modulus", message: "is required (non-zero) for the hashmod action" };
  }
  if (
    ["lowercase", "uppercase", "keepequal", "dropequal"].includes(action) &&
    r.replacement !== undefined && r.replacement !== "$1"
  ) {
    return { field: "replacement", message: `can not be set for the ${action} action` };
  }
  if (
    (action === "keepequal" || action === "dropequal") &&
    ((r.regex !== undefined && r.regex !== DEFAULT_RELABEL_REGEX) || r.modulus !== undefined ||
      (r.separator !== undefined && r.separator !== ";"))
  ) {
    return { message: `the ${action} action takes only source_labels and target_label` };
  }
  if (
    (action === "labeldrop" || action === "labelkeep") &&
    (r.source_labels !== undefined || r.target_label !== undefined || r.modulus !== undefined ||
      (r.separator !== undefined && r.separator !== ";") ||
      (r.replacement !== undefined && r.replacement !== "$1"))
  ) {
    return { message: `the ${action} action takes only regex` };
  }
  if (action === "labelmap" && !TEMPLATE_TARGET.test(r.replacement ?? "$1")) {
    return {
      field: "replacement",
      message: `"${r.replacement}" is not a valid label name template`,
    };
  }
  return undefined;
}
