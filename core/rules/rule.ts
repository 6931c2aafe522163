/**
 * The internal rule model every source (Prometheus rule YAML, the product
 * spec's threshold form in files or from the API) is normalised into.
 *
 * @module
 */
import type { Expr } from "../promql/mod.ts";

/** The product spec's comparison operators. */
export type ThresholdOperator = "gt" | "lt" | "ge" | "le" | "eq" | "ne";

/** PromQL symbol of each operator. */
export const OPERATOR_SYMBOL: Readonly<Record<ThresholdOperator, string>> = {
  gt: ">",
  lt: "<",
  ge: ">=",
  le: "<=",
  eq: "==",
  ne: "!=",
};

/** Applies a threshold operator. */
export function compareThreshold(op: ThresholdOperator, v: number, threshold: number): boolean {
  switch (op) {
    case "gt":
      return v > threshold;
    case "lt":
      return v < threshold;
    case "ge":
      return v >= threshold;
    case "le":
      return v <= threshold;
    case "eq":
      return v === threshold;
    case "ne":
      return v !== threshold;
  }
}

/**
 * What to do when a threshold rule's series are absent.
 * - `ok` (default): absence is "no problem"; an instance whose series is gone
 *   (after the engine's 5 m lookback staleness) resolves.
 * - `firing`: absence is an alarm; an instance whose series is gone stays
 *   active, and when the expression returns nothing at all an instance with
 *   the rule's labels only (plus `perch_nodata="true"`) becomes active.
 */
export type NoDataPolicy = "ok" | "firing";

/** The threshold part of a rule from the product spec's form. */
export interface ThresholdCondition {
  readonly op: ThresholdOperator;
  readonly value: number;
  /** Hysteresis: once firing, the instance stays firing while `op(v, resolve)` holds. */
  readonly resolve?: number;
}

/** An alerting rule. */
export interface AlertingRule {
  readonly kind: "alerting";
  /** Stable identity across reloads and restarts (state in KV is keyed by it). */
  readonly key: string;
  /** The `alertname`. */
  readonly name: string;
  /** The rule's expression as shown by the API (for threshold rules, `(<expression>) > threshold`). */
  readonly expr: string;
  /** What is queried: the whole expression, or the threshold rule's `expression` alone. */
  readonly query: Expr;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Set for threshold rules: the comparison is applied per series by the evaluator. */
  readonly threshold?: ThresholdCondition;
  readonly noData: NoDataPolicy;
  /** Id of the threshold rule it came from. */
  readonly thresholdId?: string;
}

/** A recording rule. */
export interface RecordingRule {
  readonly kind: "recording";
  readonly key: string;
  /** The metric name written. */
  readonly name: string;
  readonly expr: string;
  readonly query: Expr;
  readonly labels: Readonly<Record<string, string>>;
}

/** Either kind of rule. */
export type Rule = AlertingRule | RecordingRule;

/** A group of rules evaluated together, in order, at one interval. */
export interface RuleGroup {
  readonly name: string;
  /** The rule file, or `"api"` for rules created through the API. */
  readonly file: string;
  readonly intervalMs: number;
  /** Most alerts/series a rule of the group may produce; 0 = no limit. */
  readonly limit: number;
  readonly rules: readonly Rule[];
}

/** One problem found while loading rules, with where it is. */
export interface RuleError {
  readonly file: string;
  readonly group?: string;
  /** 0-based index of the rule within its group (or the `alerts:` list). */
  readonly index?: number;
  readonly rule?: string;
  readonly message: string;
}

/** Formats a rule error as promtool does: `file: group "g", rule 2 (name): reason`. */
export function formatRuleError(e: RuleError): string {
  let s = e.file;
  if (e.group !== undefined) s += `: group "${e.group}"`;
  if (e.index !== undefined) s += `, rule ${e.index + 1}`;
  if (e.rule) s += ` (${e.rule})`;
  return `${s}: ${e.message}`;
}

/** The key of a group, as Prometheus names it in metrics: `file;name`. */
export function groupKey(g: { file: string; name: string }): string {
  return `${g.file};${g.name}`;
}
