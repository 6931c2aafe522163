/**
 * Small helpers shared by the function-call evaluators.
 *
 * @module
 */
import { type Label, type Labels, type Matcher, METRIC_NAME } from "../model/mod.ts";
import type { Expr } from "./ast.ts";
import type { Evaluator } from "./engine.ts";

/** The expression inside any parentheses. */
export function unwrap(e: Expr): Expr {
  while (e.type === "ParenExpr") e = e.expr;
  return e;
}

/** Evaluates an argument that must be a string. */
export function stringArg(ev: Evaluator, e: Expr, ts: Float64Array): string {
  const v = ev.eval(e, ts);
  if (v.kind !== "string") throw new Error("BUG: expected a string argument");
  return v.s;
}

/** The label set with `name` set to `value` (removed when empty), sorted. */
export function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: Label[] = labels.filter((l) => l.name !== name);
  if (value !== "") {
    out.push({ name, value });
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return out;
}

/** Labels of `absent()`'s output: the equality matchers' labels, as Prometheus derives them. */
export function absentLabels(arg: Expr): Labels {
  const e = unwrap(arg);
  let matchers: readonly Matcher[];
  if (e.type === "VectorSelector") matchers = e.matchers;
  else if (e.type === "MatrixSelector") matchers = e.vectorSelector.matchers;
  else return [];
  const map = new Map<string, string>();
  const has = new Set<string>();
  for (const m of matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === "=" && !has.has(m.name)) {
      map.set(m.name, m.value);
      has.add(m.name);
    } else {
      map.delete(m.name);
    }
  }
  const out: Label[] = [];
  for (const [name, value] of map) if (value !== "") out.push({ name, value });
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}
