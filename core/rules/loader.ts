/**
 * Rule files: Prometheus rule YAML (`groups:`), plus the product spec's
 * threshold rules under a top-level `alerts:` list, validated as
 * `promtool check rules` does: every problem, each with file, group, rule
 * and reason.
 *
 * ```yaml
 * groups:
 *   - name: node
 *     interval: 30s          # default: global.evaluation_interval
 *     limit: 0               # most alerts/series per rule, 0 = none
 *     labels: { team: ops }  # added to every rule of the group
 *     rules:
 *       - alert: InstanceDown
 *         expr: up == 0
 *         for: 5m
 *         keep_firing_for: 1m
 *         labels: { severity: critical }
 *         annotations: { summary: "{{ $labels.instance }} is down" }
 *       - record: job:up:sum
 *         expr: sum by (job) (up)
 * alerts:                    # threshold form, each in a group of its own
 *   - id: freezer-warm
 *     name: FreezerWarm
 *     expression: freezer_temp_celsius
 *     operator: gt
 *     threshold: -10
 *     resolve_threshold: -15
 *     duration: 5m
 *     evaluation_interval: 30s
 * ```
 *
 * @module
 */
import {
  checkLabelName,
  checkLabelValue,
  checkMetricName,
  loadYaml,
  parseDuration,
  yaml,
} from "../model/mod.ts";
import { type Expr, formatExpr, parseExpr, PromQLParseError, valueTypeOf } from "../promql/mod.ts";
import { expandGlobs } from "./glob.ts";
import type { Rule, RuleError, RuleGroup } from "./rule.ts";
import {
  normaliseThresholdRule,
  parseThresholdRule,
  type ThresholdRule,
  thresholdWarnings,
} from "./threshold.ts";
import { checkAlertTemplate } from "../template/mod.ts";

/** What loading produced: the groups when there are no errors, and every problem. */
export interface LoadResult {
  readonly groups: RuleGroup[];
  /** Threshold rules found in files (their groups are in `groups` too). */
  readonly thresholdRules: ThresholdRule[];
  readonly errors: RuleError[];
  readonly warnings: RuleError[];
  /** The files read, after glob expansion. */
  readonly files: string[];
}

/** Options for loading. */
export interface LoadOptions {
  /** Interval of groups that do not set one, ms. */
  readonly defaultIntervalMs: number;
  /** Reads a file; defaults to `Deno.readTextFile`. */
  readonly readFile?: (path: string) => Promise<string>;
}

const GROUP_KEYS = new Set(["name", "interval", "limit", "rules", "labels", "query_offset"]);
const RULE_KEYS = new Set([
  "alert",
  "record",
  "expr",
  "for",
  "keep_firing_for",
  "labels",
  "annotations",
]);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function scalarString(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

function parseDur(v: unknown): number | undefined {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return v >= 0 ? v * 1000 : undefined;
  return typeof v === "string" ? parseDuration(v.trim()) : undefined;
}

/** Parses a string map (labels or annotations), reporting bad names and non-strings. */
function stringMap(
  v: unknown,
  what: "labels" | "annotations",
  err: (m: string) => void,
  templated: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isObj(v)) {
    err(`${what} must be a map`);
    return out;
  }
  for (const [k, raw] of Object.entries(v)) {
    const s = scalarString(raw);
    if (s === undefined) {
      err(`${what}.${k}: value must be a string`);
      continue;
    }
    const m = checkLabelName(k);
    if (m) err(`invalid ${what === "labels" ? "label" : "annotation"} name "${k}": ${m}`);
    if (what === "labels") {
      const vm = checkLabelValue(s);
      if (vm) err(`invalid label value for "${k}": ${vm}`);
    }
    if (templated) {
      const tm = checkAlertTemplate(s);
      if (tm) err(`${what}.${k}: ${tm}`);
    }
    out[k] = s;
  }
  return out;
}

function parsePromQL(text: string, err: (m: string) => void): Expr | undefined {
  try {
    return parseExpr(text);
  } catch (e) {
    if (e instanceof PromQLParseError) {
      err(`could not parse expression: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

/** Parses and validates one rule file's text (after `loadYaml()`). Never throws on bad input. */
export function parseRuleFile(
  text: string,
  file: string,
  opts: { defaultIntervalMs: number },
): {
  groups: RuleGroup[];
  thresholdRules: ThresholdRule[];
  errors: RuleError[];
  warnings: RuleError[];
} {
  const errors: RuleError[] = [];
  const warnings: RuleError[] = [];
  const groups: RuleGroup[] = [];
  const thresholdRules: ThresholdRule[] = [];
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (e) {
    errors.push({ file, message: `cannot parse YAML: ${(e as Error).message.split("\n")[0]}` });
    return { groups, thresholdRules, errors, warnings };
  }
  if (doc === null || doc === undefined) return { groups, thresholdRules, errors, warnings };
  if (!isObj(doc)) {
    errors.push({ file, message: "a rule file must be a map with `groups:` and/or `alerts:`" });
    return { groups, thresholdRules, errors, warnings };
  }
  for (const k of Object.keys(doc)) {
    if (k !== "groups" && k !== "alerts") errors.push({ file, message: `unknown field "${k}"` });
  }
  const rawGroups = doc.groups ?? [];
  if (!Array.isArray(rawGroups)) errors.push({ file, message: "groups must be a list" });
  const seen = new Set<string>();
  (Array.isArray(rawGroups) ? rawGroups : []).forEach((g, gi) => {
    const groupName = isObj(g) && typeof g.name === "string" ? g.name : `#${gi + 1}`;
    const gerr = (message: string) => errors.push({ file, group: groupName, message });
    if (!isObj(g)) {
      gerr("a group must be a map");
      return;
    }
    for (const k of Object.keys(g)) if (!GROUP_KEYS.has(k)) gerr(`unknown field "${k}"`);
    if (typeof g.name !== "string" || g.name === "") gerr("group name must not be empty");
    else if (seen.has(g.name)) gerr(`groupname "${g.name}" is repeated in the same file`);
    else seen.add(g.name);
    let intervalMs = opts.defaultIntervalMs;
    if (g.interval !== undefined) {
      const ms = parseDur(g.interval);
      if (ms === undefined || ms <= 0) gerr(`invalid interval ${JSON.stringify(g.interval)}`);
      else intervalMs = ms;
    }
    let limit = 0;
    if (g.limit !== undefined) {
      if (typeof g.limit !== "number" || !Number.isInteger(g.limit) || g.limit < 0) {
        gerr("limit must be a non-negative integer");
      } else limit = g.limit;
    }
    const groupLabels = stringMap(g.labels, "labels", gerr, false);
    if (!Array.isArray(g.rules ?? [])) {
      gerr("rules must be a list");
      return;
    }
    const rules: Rule[] = [];
    const nameCount = new Map<string, number>();
    ((g.rules ?? []) as unknown[]).forEach((r, ri) => {
      const ruleName = isObj(r) ? scalarString(r.alert ?? r.record) : undefined;
      const rerr = (message: string) =>
        errors.push({ file, group: groupName, index: ri, rule: ruleName, message });
      if (!isObj(r)) {
        rerr("a rule must be a map");
        return;
      }
      for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) rerr(`unknown field "${k}"`);
      const isAlert = r.alert !== undefined, isRecord = r.record !== undefined;
      if (isAlert && isRecord) {
        rerr("only one of 'record' and 'alert' must be set");
        return;
      }
      if (!isAlert && !isRecord) {
        rerr("one of 'record' or 'alert' must be set");
        return;
      }
      if (typeof r.expr !== "string" || r.expr.trim() === "") {
        rerr("field 'expr' must be set in rule");
        return;
      }
      const query = parsePromQL(r.expr, rerr);
      if (isRecord) {
        const name = scalarString(r.record) ?? "";
        const nm = checkMetricName(name);
        if (nm) rerr(`invalid recording rule name "${name}": ${nm}`);
        if (r.for !== undefined) rerr("invalid field 'for' in recording rule");
        if (r.keep_firing_for !== undefined) {
          rerr("invalid field 'keep_firing_for' in recording rule");
        }
        if (r.annotations !== undefined) rerr("invalid field 'annotations' in recording rule");
        const labels = { ...groupLabels, ...stringMap(r.labels, "labels", rerr, false) };
        if (query) {
          const t = valueTypeOf(query);
          if (t !== "vector" && t !== "scalar") {
            rerr(`expression must return an instant vector or scalar, not ${t}`);
          }
        }
        const n = nameCount.get("r:" + name) ?? 0;
        nameCount.set("r:" + name, n + 1);
        if (query) {
          rules.push({
            kind: "recording",
            key: `${file}\u001f${groupName}\u001frecord:${name}\u001f${n}`,
            name,
            expr: formatExpr(query),
            query,
            labels,
          });
        }
      } else {
        const name = scalarString(r.alert) ?? "";
        if (name === "") rerr("alert name must not be empty");
        const forMs = parseDur(r.for);
        if (forMs === undefined) rerr(`invalid 'for' duration ${JSON.stringify(r.for)}`);
        const kff = parseDur(r.keep_firing_for);
        if (kff === undefined) {
          rerr(`invalid 'keep_firing_for' duration ${JSON.stringify(r.keep_firing_for)}`);
        }
        const labels = { ...groupLabels, ...stringMap(r.labels, "labels", rerr, true) };
        if ("alertname" in labels) rerr("label 'alertname' is set from the alert name");
        const annotations = stringMap(r.annotations, "annotations", rerr, true);
        if (query && valueTypeOf(query) !== "vector") {
          rerr(`alerting rule expression must return an instant vector, not ${valueTypeOf(query)}`);
        }
        const n = nameCount.get("a:" + name) ?? 0;
        nameCount.set("a:" + name, n + 1);
        if (query) {
          rules.push({
            kind: "alerting",
            key: `${file}\u001f${groupName}\u001falert:${name}\u001f${n}`,
            name,
            expr: formatExpr(query),
            query,
            forMs: forMs ?? 0,
            keepFiringForMs: kff ?? 0,
            labels,
            annotations,
            noData: "ok",
          });
        }
      }
    });
    groups.push({ name: groupName, file, intervalMs, limit, rules });
  });

  const rawAlerts = doc.alerts ?? [];
  if (!Array.isArray(rawAlerts)) errors.push({ file, message: "alerts must be a list" });
  (Array.isArray(rawAlerts) ? rawAlerts : []).forEach((a, ai) => {
    const name = isObj(a) ? scalarString(a.name) : undefined;
    const at = { file, group: "alerts", index: ai, rule: name };
    const parsed = parseThresholdRule(a);
    if (!parsed.ok) {
      for (const p of parsed.errors) errors.push({ ...at, message: `${p.field}: ${p.message}` });
      return;
    }
    const norm = normaliseThresholdRule(parsed.spec, {
      file,
      defaultIntervalMs: opts.defaultIntervalMs,
    });
    if (!norm.ok) {
      for (const p of norm.errors) errors.push({ ...at, message: `${p.field}: ${p.message}` });
      return;
    }
    if (seen.has(norm.group.name)) {
      errors.push({ ...at, message: `id: "${norm.rule.id}" is repeated in the same file` });
      return;
    }
    seen.add(norm.group.name);
    for (const w of thresholdWarnings(norm.rule)) warnings.push({ ...at, message: w });
    thresholdRules.push(norm.rule);
    groups.push(norm.group);
  });
  return { groups, thresholdRules, errors, warnings };
}

/**
 * Loads every file matching `patterns`. On any error the caller must keep
 * its old rules; `groups` is then empty.
 */
export async function loadRuleFiles(
  patterns: readonly string[],
  opts: LoadOptions,
): Promise<LoadResult> {
  const read = opts.readFile ?? ((p: string) => Deno.readTextFile(p));
  await loadYaml();
  const files = await expandGlobs(patterns);
  const errors: RuleError[] = [];
  const warnings: RuleError[] = [];
  const groups: RuleGroup[] = [];
  const thresholdRules: ThresholdRule[] = [];
  const ids = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      text = await read(file);
    } catch (e) {
      errors.push({ file, message: `cannot read file: ${(e as Error).message}` });
      continue;
    }
    const r = parseRuleFile(text, file, opts);
    errors.push(...r.errors);
    warnings.push(...r.warnings);
    groups.push(...r.groups);
    for (const t of r.thresholdRules) {
      const other = ids.get(t.id);
      if (other !== undefined) {
        errors.push({
          file,
          group: "alerts",
          rule: t.name,
          message: `id "${t.id}" is also used in ${other}`,
        });
      }
      ids.set(t.id, file);
      thresholdRules.push(t);
    }
  }
  if (errors.length > 0) return { groups: [], thresholdRules: [], errors, warnings, files };
  return { groups, thresholdRules, errors, warnings, files };
}
