/**
 * Dashboard validation: the schema plus the rules between fields (unique
 * panel ids, panels inside the 24 columns and not overlapping, every query
 * parses, variable queries are `label_values(...)`). Every problem is
 * reported at once, each with the path of the field it concerns.
 *
 * @module
 */
import { fieldIssues } from "../model/mod.ts";
import { parseExpr } from "../promql/mod.ts";
import {
  type Dashboard,
  dashboardSchema,
  GRID_COLUMNS,
  type GridPos,
  MAX_PANELS,
  type NestedPanel,
} from "./schema.ts";
import { matcherRegex } from "./display.ts";
import { parseTimeExpr } from "./time_range.ts";
import { interpolateForParse, parseLabelValuesQuery } from "./variables.ts";

/** One problem, with the dotted path of the field (`panels.2.targets.0.expr`). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** The outcome of {@linkcode validateDashboard}. */
export type ValidationResult =
  | { readonly ok: true; readonly dashboard: Dashboard }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Checks a PromQL expression (with variables) and returns the parse error, if any. */
export function checkQuery(expr: string): string | undefined {
  try {
    parseExpr(interpolateForParse(expr));
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Validates an untrusted dashboard document. */
export function validateDashboard(input: unknown): ValidationResult {
  const parsed = dashboardSchema().safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      errors: fieldIssues(parsed.error).map((i) => ({ path: i.field, message: i.message })),
    };
  }
  const d = parsed.data;
  const errors: FieldError[] = [];
  const now = Date.now();
  if (parseTimeExpr(d.time.from, now) === undefined) {
    errors.push({ path: "time.from", message: `cannot parse time "${d.time.from}"` });
  }
  if (parseTimeExpr(d.time.to, now) === undefined) {
    errors.push({ path: "time.to", message: `cannot parse time "${d.time.to}"` });
  }
  if (d.refresh !== "" && d.refresh !== "off" && !/^\d+(ms|s|m|h)$/.test(d.refresh)) {
    errors.push({ path: "refresh", message: `must be a duration like 30s or empty` });
  }

  const varNames = new Map<string, number>();
  d.variables.forEach((v, i) => {
    if (varNames.has(v.name)) {
      errors.push({
        path: `variables.${i}.name`,
        message: `duplicate variable name "${v.name}" (also variables.${varNames.get(v.name)})`,
      });
    } else varNames.set(v.name, i);
    if (v.type === "query") {
      const q = parseLabelValuesQuery(v.query);
      if (!q) {
        errors.push({
          path: `variables.${i}.query`,
          message: "must be label_values(label) or label_values(selector, label)",
        });
      } else if (q.selector) {
        const err = checkQuery(q.selector);
        if (err) errors.push({ path: `variables.${i}.query`, message: err });
      }
    }
  });

  const ids = new Map<number, string>();
  let total = 0;
  const checkPanel = (p: NestedPanel, path: string) => {
    total++;
    const seen = ids.get(p.id);
    if (seen !== undefined) {
      errors.push({ path: `${path}.id`, message: `duplicate panel id ${p.id} (also ${seen})` });
    } else ids.set(p.id, path);
    if (p.gridPos.x + p.gridPos.w > GRID_COLUMNS) {
      errors.push({
        path: `${path}.gridPos`,
        message: `x + w = ${p.gridPos.x + p.gridPos.w} exceeds ${GRID_COLUMNS} columns`,
      });
    }
    if (p.repeat !== undefined && !varNames.has(p.repeat)) {
      errors.push({ path: `${path}.repeat`, message: `no variable named "${p.repeat}"` });
    }
    const refIds = new Set<string>();
    p.targets.forEach((t, k) => {
      const err = checkQuery(t.expr);
      if (err) errors.push({ path: `${path}.targets.${k}.expr`, message: err });
      if (refIds.has(t.refId)) {
        errors.push({ path: `${path}.targets.${k}.refId`, message: `duplicate refId ${t.refId}` });
      }
      refIds.add(t.refId);
    });
    const o = p.options;
    if (o.min !== undefined && o.max !== undefined && o.min >= o.max) {
      errors.push({ path: `${path}.options.max`, message: "must be greater than min" });
    }
    o.overrides?.forEach((ov, k) => {
      if (ov.matcher.type === "regex" && !matcherRegex(ov.matcher.value)) {
        errors.push({
          path: `${path}.options.overrides.${k}.matcher.value`,
          message: "not a regular expression",
        });
      }
    });
  };
  d.panels.forEach((p, i) => {
    checkPanel(p, `panels.${i}`);
    if (p.panels !== undefined && p.type !== "row") {
      errors.push({ path: `panels.${i}.panels`, message: "only rows hold panels" });
    }
    p.panels?.forEach((n, k) => checkPanel(n, `panels.${i}.panels.${k}`));
    for (let j = 0; j < i; j++) {
      if (overlaps(d.panels[j]!.gridPos, p.gridPos)) {
        errors.push({
          path: `panels.${i}.gridPos`,
          message: `overlaps panel ${d.panels[j]!.id} ("${d.panels[j]!.title}")`,
        });
      }
    }
  });
  if (total > MAX_PANELS) {
    errors.push({
      path: "panels",
      message: `${total} panels; at most ${MAX_PANELS} (rows included)`,
    });
  }
  return errors.length ? { ok: false, errors } : { ok: true, dashboard: d };
}
