/**
 * Binary operators over one step: arithmetic, comparisons (filter or `bool`),
 * set operators and vector matching with on/ignoring/group_left/group_right,
 * as Prometheus's `VectorBinop`, `VectorAnd/Or/Unless` and
 * `VectorscalarBinop`.
 *
 * @module
 */
import { type Label, type Labels, METRIC_NAME } from "../model/mod.ts";
import { type BinaryOp, isComparisonOp, type VectorMatching } from "./ast.ts";
import { QueryExecutionError } from "./errors.ts";
import { goPow } from "./functions.ts";
import { type ESample, keyOf } from "./value.ts";

/** Applies an arithmetic or comparison operator; `keep` false filters the sample. */
export function applyOp(op: BinaryOp, l: number, r: number): { v: number; keep: boolean } {
  switch (op) {
    case "+":
      return { v: l + r, keep: true };
    case "-":
      return { v: l - r, keep: true };
    case "*":
      return { v: l * r, keep: true };
    case "/":
      return { v: l / r, keep: true };
    case "%":
      return { v: l % r, keep: true };
    case "^":
      return { v: goPow(l, r), keep: true };
    case "atan2":
      return { v: Math.atan2(l, r), keep: true };
    case "==":
      return { v: l, keep: l === r };
    case "!=":
      return { v: l, keep: l !== r };
    case ">":
      return { v: l, keep: l > r };
    case "<":
      return { v: l, keep: l < r };
    case ">=":
      return { v: l, keep: l >= r };
    case "<=":
      return { v: l, keep: l <= r };
    default:
      throw new Error(`BUG: applyOp() called for ${op}`);
  }
}

/** Scalar op scalar; comparisons yield 0 or 1. */
export function scalarBinop(op: BinaryOp, l: number, r: number): number {
  const { v, keep } = applyOp(op, l, r);
  if (isComparisonOp(op)) return keep ? 1 : 0;
  return v;
}

/** Vector op scalar (or scalar op vector when `swap`). */
export function vectorScalarBinop(
  op: BinaryOp,
  vec: ESample[],
  scalar: number,
  swap: boolean,
  returnBool: boolean,
): ESample[] {
  const out: ESample[] = [];
  const cmp = isComparisonOp(op);
  for (const s of vec) {
    const l = swap ? scalar : s.v, r = swap ? s.v : scalar;
    let { v, keep } = applyOp(op, l, r);
    if (cmp && swap) v = r;
    if (returnBool) {
      v = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    out.push({ labels: s.labels, v, dropName: s.dropName || !cmp || returnBool });
  }
  return out;
}

/** The match signature of a series for vector matching. */
export function signature(labels: Labels, on: boolean, names: readonly string[]): string {
  let s = "";
  if (on) {
    for (const l of labels) if (names.includes(l.name)) s += `${l.name}\xff${l.value}\xff`;
  } else {
    for (const l of labels) {
      if (l.name !== METRIC_NAME && !names.includes(l.name)) s += `${l.name}\xff${l.value}\xff`;
    }
  }
  return s;
}

function matchLabels(labels: Labels, on: boolean, names: readonly string[]): Labels {
  return labels.filter((l) =>
    on ? names.includes(l.name) : l.name !== METRIC_NAME && !names.includes(l.name)
  );
}

/** Formats labels as Prometheus's `labels.String()`: `{a="b", c="d"}`. */
export function labelsString(labels: Labels): string {
  return `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(", ")}}`;
}

const DEFAULT_MATCHING: VectorMatching = {
  card: "one-to-one",
  on: false,
  labels: [],
  include: [],
};

function resultLabels(
  ls: Labels,
  rs: Labels,
  m: VectorMatching,
): Labels {
  const map = new Map<string, string>();
  for (const l of ls) map.set(l.name, l.value);
  if (m.card === "one-to-one") {
    if (m.on) {
      for (const k of [...map.keys()]) if (!m.labels.includes(k)) map.delete(k);
    } else {
      for (const k of m.labels) map.delete(k);
    }
  }
  for (const name of m.include) {
    let v = "";
    for (const l of rs) if (l.name === name) v = l.value;
    if (v !== "") map.set(name, v);
    else map.delete(name);
  }
  const out: Label[] = [];
  for (const [name, value] of map) out.push({ name, value });
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** Vector op vector for arithmetic and comparison operators. */
export function vectorBinop(
  op: BinaryOp,
  lhsIn: ESample[],
  rhsIn: ESample[],
  matching: VectorMatching | undefined,
  returnBool: boolean,
): ESample[] {
  const m = matching ?? DEFAULT_MATCHING;
  if (m.card === "many-to-many") {
    throw new QueryExecutionError("many-to-many only allowed for set operators");
  }
  let lhs = lhsIn, rhs = rhsIn;
  const swapped = m.card === "one-to-many";
  if (swapped) [lhs, rhs] = [rhs, lhs];
  const right = new Map<string, ESample>();
  for (const rs of rhs) {
    const sig = signature(rs.labels, m.on, m.labels);
    const dup = right.get(sig);
    if (dup) {
      const side = swapped ? "left" : "right";
      throw new QueryExecutionError(
        `found duplicate series for the match group ${
          labelsString(matchLabels(rs.labels, m.on, m.labels))
        } on the ${side} hand-side of the operation: [${labelsString(dup.labels)}, ${
          labelsString(rs.labels)
        }];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    right.set(sig, rs);
  }
  const cmp = isComparisonOp(op);
  const matched = new Map<string, Set<string> | null>();
  const out: ESample[] = [];
  for (const ls of lhs) {
    const sig = signature(ls.labels, m.on, m.labels);
    const rs = right.get(sig);
    if (!rs) continue;
    const fl = swapped ? rs.v : ls.v, fr = swapped ? ls.v : rs.v;
    let { v, keep } = applyOp(op, fl, fr);
    if (returnBool) {
      v = keep ? 1 : 0;
      keep = true;
    }
    // Matching errors are raised even for samples a comparison filters out.
    const labels = resultLabels(ls.labels, rs.labels, m);
    const seen = matched.get(sig);
    if (m.card === "one-to-one") {
      if (seen !== undefined) {
        throw new QueryExecutionError(
          "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
        );
      }
      matched.set(sig, null);
    } else {
      const k = keyOf(labels);
      if (!seen) matched.set(sig, new Set([k]));
      else if (seen.has(k)) {
        throw new QueryExecutionError(
          "multiple matches for labels: grouping labels must ensure unique matches",
        );
      } else seen.add(k);
    }
    if (!keep) continue;
    out.push({ labels, v, dropName: ls.dropName || !cmp || returnBool });
  }
  return out;
}

/** `and`, `or`, `unless` with their matching. */
export function setOp(
  op: "and" | "or" | "unless",
  lhs: ESample[],
  rhs: ESample[],
  matching: VectorMatching | undefined,
): ESample[] {
  const m = matching ?? { ...DEFAULT_MATCHING, card: "many-to-many" as const };
  switch (op) {
    case "and": {
      if (lhs.length === 0 || rhs.length === 0) return [];
      const r = new Set(rhs.map((s) => signature(s.labels, m.on, m.labels)));
      return lhs.filter((s) => r.has(signature(s.labels, m.on, m.labels)));
    }
    case "or": {
      if (lhs.length === 0) return rhs;
      if (rhs.length === 0) return lhs;
      const l = new Set(lhs.map((s) => signature(s.labels, m.on, m.labels)));
      return [...lhs, ...rhs.filter((s) => !l.has(signature(s.labels, m.on, m.labels)))];
    }
    case "unless": {
      if (lhs.length === 0 || rhs.length === 0) return lhs;
      const r = new Set(rhs.map((s) => signature(s.labels, m.on, m.labels)));
      return lhs.filter((s) => !r.has(signature(s.labels, m.on, m.labels)));
    }
  }
}
