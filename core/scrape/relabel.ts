/**
 * Relabeling as Prometheus defines it (`relabel_configs`,
 * `metric_relabel_configs`): a pure function from a label set and a list of
 * rules to a new label set, or `null` when a rule drops it.
 *
 * Semantics follow Prometheus's model/relabel: source label values are joined
 * with `separator` and matched against `regex`, which is fully anchored and
 * runs with RE2 semantics (linear time, via re2js; `.` matches newlines). A
 * label set to the empty string is removed. `replacement` and a `replace`
 * target label expand `$1`, `${1}`, `$name` and `${name}` as Go's
 * `Regexp.Expand` does (`$$` is a literal `$`; `$1x` names group `1x`, which
 * is empty).
 *
 * @module
 */
import { RE2JS } from "re2js";
import { expandRegexp, md5 } from "../model/mod.ts";

/** The relabel actions Perch supports (all of Prometheus's). */
export type RelabelAction =
  | "replace"
  | "keep"
  | "drop"
  | "keepequal"
  | "dropequal"
  | "hashmod"
  | "labelmap"
  | "labeldrop"
  | "labelkeep"
  | "lowercase"
  | "uppercase";

/** Every action, for validation messages. */
export const RELABEL_ACTIONS: readonly RelabelAction[] = [
  "replace",
  "keep",
  "drop",
  "keepequal",
  "dropequal",
  "hashmod",
  "labelmap",
  "labeldrop",
  "labelkeep",
  "lowercase",
  "uppercase",
];

/** The default regex: matches anything and captures it as group 1. */
export const DEFAULT_RELABEL_REGEX = "(.*)";

/** One compiled relabel rule. Build with {@linkcode compileRelabelRule}. */
export interface RelabelRule {
  readonly action: RelabelAction;
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  /** The regex as written (unanchored). */
  readonly regex: string;
  readonly targetLabel: string;
  readonly replacement: string;
  readonly modulus: number;
  /** @internal The anchored, compiled regex. */
  readonly re: RE2JS;
}

/** Fields of a rule before compilation; defaults as in Prometheus. */
export interface RelabelRuleInput {
  readonly action?: RelabelAction;
  readonly sourceLabels?: readonly string[];
  /** @default {";"} */
  readonly separator?: string;
  /** @default {"(.*)"} */
  readonly regex?: string;
  readonly targetLabel?: string;
  /** @default {"$1"} */
  readonly replacement?: string;
  readonly modulus?: number;
}

/** Compiles a regex the way relabeling uses it: anchored, `.` matching newlines. */
export function compileRelabelRegex(regex: string): RE2JS {
  return RE2JS.compile(`^(?:${regex})$`, RE2JS.DOTALL);
}

/**
 * Compiles a rule; throws a `SyntaxError`-like error from re2js when the
 * regex is invalid (the config schema reports it with its path).
 */
export function compileRelabelRule(input: RelabelRuleInput): RelabelRule {
  const regex = input.regex ?? DEFAULT_RELABEL_REGEX;
  return {
    action: input.action ?? "replace",
    sourceLabels: input.sourceLabels ?? [],
    separator: input.separator ?? ";",
    regex,
    targetLabel: input.targetLabel ?? "",
    replacement: input.replacement ?? "$1",
    modulus: input.modulus ?? 0,
    re: compileRelabelRegex(regex),
  };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Applies `rules` in order to `labels` and returns the resulting labels, or
 * `null` when a `keep`/`drop`/`keepequal`/`dropequal` rule drops the set.
 * The input is not modified. Empty values are treated as absent.
 */
export function relabel(
  labels: ReadonlyMap<string, string>,
  rules: readonly RelabelRule[],
): Map<string, string> | null {
  const lb = new Map<string, string>();
  for (const [k, v] of labels) if (v !== "") lb.set(k, v);
  for (const rule of rules) {
    if (!applyRule(rule, lb)) return null;
  }
  return lb;
}

/** Sets `name` to `value`, deleting it when `value` is empty (as labels.Builder). */
function setLabel(lb: Map<string, string>, name: string, value: string): void {
  if (value === "") lb.delete(name);
  else lb.set(name, value);
}

function applyRule(rule: RelabelRule, lb: Map<string, string>): boolean {
  let val: string;
  if (rule.sourceLabels.length === 1) {
    val = lb.get(rule.sourceLabels[0]!) ?? "";
  } else {
    const parts: string[] = [];
    for (const name of rule.sourceLabels) parts.push(lb.get(name) ?? "");
    val = parts.join(rule.separator);
  }
  switch (rule.action) {
    case "drop":
      return !rule.re.matches(val);
    case "keep":
      return rule.re.matches(val);
    case "dropequal":
      return (lb.get(rule.targetLabel) ?? "") !== val;
    case "keepequal":
      return (lb.get(rule.targetLabel) ?? "") === val;
    case "replace": {
      // Fast path of Prometheus: an empty value with the default regex sets
      // (or deletes) the target literally when no template is involved.
      if (
        val === "" && rule.regex === DEFAULT_RELABEL_REGEX && !rule.targetLabel.includes("$") &&
        !rule.replacement.includes("$")
      ) {
        setLabel(lb, rule.targetLabel, rule.replacement);
        return true;
      }
      const m = rule.re.matcher(val);
      if (!m.matches()) return true;
      const groups = captureGroups(rule.re, m, val);
      const target = expandTemplate(rule.targetLabel, groups, rule.re);
      if (!LABEL_NAME.test(target)) return true;
      const res = expandTemplate(rule.replacement, groups, rule.re);
      setLabel(lb, target, res);
      return true;
    }
    case "lowercase":
      setLabel(lb, rule.targetLabel, val.toLowerCase());
      return true;
    case "uppercase":
      setLabel(lb, rule.targetLabel, val.toUpperCase());
      return true;
    case "hashmod":
      setLabel(lb, rule.targetLabel, String(hashMod(val, rule.modulus)));
      return true;
    case "labelmap": {
      // Iterate over a snapshot: labels set here are not visited again.
      for (const [name, value] of [...lb]) {
        const m = rule.re.matcher(name);
        if (!m.matches()) continue;
        const res = expandTemplate(rule.replacement, captureGroups(rule.re, m, name), rule.re);
        setLabel(lb, res, value);
      }
      return true;
    }
    case "labeldrop":
      for (const name of [...lb.keys()]) if (rule.re.matches(name)) lb.delete(name);
      return true;
    case "labelkeep":
      for (const name of [...lb.keys()]) if (!rule.re.matches(name)) lb.delete(name);
      return true;
    default:
      throw new Error(`BUG: unknown relabel action ${(rule as RelabelRule).action}`);
  }
}

/** Captured groups of a successful full match; undefined for groups that did not take part. */
function captureGroups(
  re: RE2JS,
  m: ReturnType<RE2JS["matcher"]>,
  _input: string,
): (string | undefined)[] {
  const n = re.groupCount();
  const out: (string | undefined)[] = new Array(n + 1);
  for (let i = 0; i <= n; i++) {
    const g = m.group(i);
    out[i] = g === null ? undefined : g;
  }
  return out;
}

/** Relabeling's `Regexp.Expand`: `groups` by index, names through the regexp. */
function expandTemplate(
  template: string,
  groups: readonly (string | undefined)[],
  re: RE2JS,
): string {
  return expandRegexp(template, (i) => groups[i], (name) => {
    const index = re.namedGroups()[name];
    return index === undefined ? undefined : groups[index];
  });
}

/** Prometheus's hashmod: the last 8 bytes of the MD5 as a big-endian uint64, modulo `modulus`. */
export function hashMod(value: string, modulus: number): number {
  const h = md5(value);
  let x = 0n;
  for (let i = 8; i < 16; i++) x = (x << 8n) | BigInt(h[i]!);
  return Number(x % BigInt(modulus));
}
