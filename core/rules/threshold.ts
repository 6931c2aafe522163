/**
 * The product spec's threshold rule form
 * (`{id, name, expression, operator, threshold, duration, evaluation_interval,
 * labels, annotations, resolve_threshold?}`), its validation, and its
 * normalisation into an {@linkcode AlertingRule} in a group of its own.
 *
 * The rule's API expression is `(<expression>) <op> <threshold>`; the evaluator
 * queries `<expression>` alone and compares per series, so that a firing
 * instance can use `resolve_threshold` instead (hysteresis).
 *
 * @module
 */
import {
  checkLabelName,
  durationFieldMs,
  type FieldIssue,
  fieldIssues,
  formatFloat,
  parsedNumber,
  z,
} from "../model/mod.ts";
import { parseExpr, PromQLParseError, valueTypeOf } from "../promql/mod.ts";
import {
  type AlertingRule,
  OPERATOR_SYMBOL,
  type RuleGroup,
  type ThresholdOperator,
} from "./rule.ts";
import { checkAlertTemplate } from "../template/mod.ts";

const ID_REGEXP = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function durationField() {
  return parsedNumber(
    durationFieldMs,
    "must be a duration such as 30s, 5m, 1h30m, or a number of seconds",
  );
}

function buildSchema() {
  const finite = z.number({ error: "must be a number" }).check(
    z.refine(Number.isFinite, "must be finite"),
  );

  return z.strictObject({
    id: z.optional(
      z.string().check(
        z.regex(ID_REGEXP, "must be 1-128 characters of A-Z a-z 0-9 _ . - (URL-safe)"),
      ),
    ),
    name: z.string({ error: "must be a string" }).check(z.minLength(1, "must not be empty")),
    expression: z.string({ error: "must be a string" }).check(z.minLength(1, "must not be empty")),
    operator: z.enum(["gt", "lt", "ge", "le", "eq", "ne"], {
      error: "must be one of gt, lt, ge, le, eq, ne",
    }),
    threshold: finite,
    resolve_threshold: z.optional(finite),
    duration: z.prefault(durationField(), 0),
    evaluation_interval: z.optional(durationField()),
    keep_firing_for: z.prefault(durationField(), 0),
    labels: z.prefault(z.record(z.string(), z.string({ error: "must be a string" })), {}),
    annotations: z.prefault(z.record(z.string(), z.string({ error: "must be a string" })), {}),
    no_data: z.prefault(z.enum(["ok", "firing"], { error: "must be ok or firing" }), "ok"),
  });
}

let built: ReturnType<typeof buildSchema> | undefined;

/**
 * The threshold rule as written in a file or sent to `POST /api/v1/alerts`;
 * built at its first use (rules load after start-up).
 */
export function thresholdRuleSchema(): ReturnType<typeof buildSchema> {
  return built ??= buildSchema();
}

/** A validated threshold rule; durations in ms. */
export type ThresholdRuleSpec = z.output<ReturnType<typeof thresholdRuleSchema>>;

/** A threshold rule with its id and evaluation interval filled in. */
export interface ThresholdRule extends ThresholdRuleSpec {
  readonly id: string;
  readonly evaluation_interval: number;
}

/** Derives an id from a name: lowercase, URL-safe. */
export function slugId(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "");
  return (s || "rule").slice(0, 128);
}

/** Validates the shape (zod) of a threshold rule; returns the spec or every problem. */
export function parseThresholdRule(
  input: unknown,
): { ok: true; spec: ThresholdRuleSpec } | { ok: false; errors: FieldIssue[] } {
  const r = thresholdRuleSchema().safeParse(input);
  if (r.success) return { ok: true, spec: r.data };
  return {
    ok: false,
    errors: fieldIssues(r.error),
  };
}

/**
 * Checks what the schema cannot (PromQL, label names, templates, hysteresis
 * direction) and builds the rule's group. `file` is the rule file or `"api"`.
 */
export function normaliseThresholdRule(
  spec: ThresholdRuleSpec,
  opts: { file: string; defaultIntervalMs: number },
): { ok: true; rule: ThresholdRule; group: RuleGroup } | { ok: false; errors: FieldIssue[] } {
  const errors: FieldIssue[] = [];
  const id = spec.id ?? slugId(spec.name);
  let query;
  try {
    query = parseExpr(spec.expression);
    const t = valueTypeOf(query);
    if (t !== "vector" && t !== "scalar") {
      errors.push({
        field: "expression",
        message: `must return an instant vector or scalar, not ${t}`,
      });
    }
  } catch (e) {
    if (!(e instanceof PromQLParseError)) throw e;
    errors.push({ field: "expression", message: e.message });
  }
  const op = spec.operator as ThresholdOperator;
  const rt = spec.resolve_threshold;
  if (rt !== undefined) {
    if (op === "eq" || op === "ne") {
      errors.push({ field: "resolve_threshold", message: `not allowed with operator ${op}` });
    } else if ((op === "gt" || op === "ge") && rt > spec.threshold) {
      errors.push({
        field: "resolve_threshold",
        message: `must not be above threshold ${spec.threshold} for operator ${op}`,
      });
    } else if ((op === "lt" || op === "le") && rt < spec.threshold) {
      errors.push({
        field: "resolve_threshold",
        message: `must not be below threshold ${spec.threshold} for operator ${op}`,
      });
    }
  }
  for (const [k, v] of Object.entries(spec.labels)) {
    const m = checkLabelName(k);
    if (m) errors.push({ field: `labels.${k}`, message: m });
    if (k === "alertname") errors.push({ field: `labels.${k}`, message: "is set from name" });
    const tm = checkAlertTemplate(v);
    if (tm) errors.push({ field: `labels.${k}`, message: tm });
  }
  for (const [k, v] of Object.entries(spec.annotations)) {
    const m = checkLabelName(k);
    if (m) errors.push({ field: `annotations.${k}`, message: m });
    const tm = checkAlertTemplate(v);
    if (tm) errors.push({ field: `annotations.${k}`, message: tm });
  }
  const interval = spec.evaluation_interval ?? opts.defaultIntervalMs;
  if (interval <= 0) errors.push({ field: "evaluation_interval", message: "must be positive" });
  if (errors.length > 0 || !query) return { ok: false, errors };

  const rule: ThresholdRule = { ...spec, id, evaluation_interval: interval };
  const alerting: AlertingRule = {
    kind: "alerting",
    key: `threshold\u001f${id}`,
    name: spec.name,
    expr: `(${spec.expression}) ${OPERATOR_SYMBOL[op]} ${formatFloat(spec.threshold)}`,
    query,
    forMs: spec.duration,
    keepFiringForMs: spec.keep_firing_for,
    labels: spec.labels,
    annotations: spec.annotations,
    threshold: { op, value: spec.threshold, resolve: rt },
    noData: spec.no_data,
    thresholdId: id,
  };
  return {
    ok: true,
    rule,
    group: {
      name: `threshold/${id}`,
      file: opts.file,
      intervalMs: interval,
      limit: 0,
      rules: [alerting],
    },
  };
}

/** Warnings that do not reject a rule (an interval too long for its duration). */
export function thresholdWarnings(rule: ThresholdRule): string[] {
  if (rule.duration > 0 && rule.evaluation_interval > rule.duration / 2) {
    return [
      `evaluation_interval ${rule.evaluation_interval / 1000}s is longer than half the duration ` +
      `${rule.duration / 1000}s: the alert fires late or misses short breaches`,
    ];
  }
  return [];
}

/** The rule as the API returns it: durations as Prometheus durations in seconds. */
export function thresholdRuleJSON(rule: ThresholdRule): Record<string, unknown> {
  return {
    id: rule.id,
    name: rule.name,
    expression: rule.expression,
    operator: rule.operator,
    threshold: rule.threshold,
    ...(rule.resolve_threshold !== undefined ? { resolve_threshold: rule.resolve_threshold } : {}),
    duration: rule.duration / 1000,
    evaluation_interval: rule.evaluation_interval / 1000,
    keep_firing_for: rule.keep_firing_for / 1000,
    labels: rule.labels,
    annotations: rule.annotations,
    no_data: rule.no_data,
    expr: `(${rule.expression}) ${OPERATOR_SYMBOL[rule.operator]} ${formatFloat(rule.threshold)}`,
  };
}
