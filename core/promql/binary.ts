/**
 * Binary operators over one step: arithmetic, comparisons (filter or `bool`),
 * set operators and vector matching with on/ignoring/group_left/group_right,
 * as Prometheus's `VectorBinop`, `VectorAnd/Or/Unless` and
 * `VectorscalarBinop`.
 *
 * @module
 */
import { type Label, type Labels, METRIC_NAME } from "../model/mod.ts";
import { type BinaryOp, isComparisonOp, isTrimOp, type VectorMatching } from "./ast.ts";
import { QueryExecutionError } from "./errors.ts";
import { type FloatHistogram, IncompatibleSchemaError } from "./float_histogram.ts";
import { goPow } from "./functions.ts";
import { ANNOTATIONS } from "./hist_annotations.ts";
import { trimHistogram } from "./histogram_fns.ts";
import { type ESample, keyOf } from "./value.ts";

/** An annotation of a binary operation (Prometheus reports the last one of each step). */
export interface BinopNote {
  readonly warn: boolean;
  readonly msg: string;
}

/** The result of one element-wise operation involving a native histogram. */
interface HistElem {
  v: number;
  h?: FloatHistogram;
  keep: boolean;
  /** An info to report; the sample is still evaluated. */
  info?: BinopNote;
  /**
   * A failure to report, as Prometheus's error result: incompatible types
   * (an info), a layout clash or conflicting counter resets (warnings).
   */
  error?: BinopNote;
}

function incompatible(lhs: string, op: BinaryOp, rhs: string): HistElem {
  return {
    v: 0,
    keep: false,
    error: { warn: false, msg: ANNOTATIONS.incompatibleTypes(lhs, op, rhs) },
  };
}

/** Histogram + or - histogram, as Prometheus: collisions fail the sample with a warning. */
function addOrSub(op: "+" | "-", l: FloatHistogram, r: FloatHistogram): HistElem {
  const h = l.copy();
  let res;
  try {
    res = op === "+" ? h.add(r) : h.sub(r);
  } catch (e) {
    if (!(e instanceof IncompatibleSchemaError)) throw e;
    return {
      v: 0,
      keep: false,
      error: { warn: true, msg: ANNOTATIONS.incompatibleBucketLayout(op) },
    };
  }
  if (op === "-") h.hint = "gauge";
  const what = op === "+" ? "addition" : "subtraction";
  const out: HistElem = { v: 0, h: h.compact(), keep: true };
  if (res.reconciled) out.info = { warn: false, msg: ANNOTATIONS.mismatchedCustomBuckets(what) };
  if (res.collision) out.error = { warn: true, msg: ANNOTATIONS.counterResetCollision(what) };
  return out;
}

/**
 * One element-wise operation where at least one side is a native histogram
 * or the operator trims (Prometheus's vectorElemBinop): `*` by a float,
 * histogram `/` float, `+`/`-` between histograms, `==`/`!=` between
 * histograms, trims of a histogram; anything else yields nothing and an info.
 */
function histElemBinop(
  op: BinaryOp,
  lf: number,
  rf: number,
  lh: FloatHistogram | undefined,
  rh: FloatHistogram | undefined,
): HistElem {
  if (!lh && !rh) return incompatible("float", op, "float"); // A trim of floats.
  if (!lh) {
    if (op === "*") return { v: 0, h: rh!.copy().mul(lf).compact(), keep: true };
    return incompatible("float", op, "histogram");
  }
  if (!rh) {
    if (op === "*") return { v: 0, h: lh.copy().mul(rf).compact(), keep: true };
    if (op === "/") return { v: 0, h: lh.copy().div(rf).compact(), keep: true };
    if (op === "</" || op === ">/") {
      return { v: 0, h: trimHistogram(lh, rf, op === "</"), keep: true };
    }
    return incompatible("histogram", op, "float");
  }
  if (op === "+" || op === "-") return addOrSub(op, lh, rh);
  if (op === "==") return { v: 0, h: lh, keep: lh.equals(rh) };
  if (op === "!=") return { v: 0, h: lh, keep: !lh.equals(rh) };
  return incompatible("histogram", op, "histogram");
}

/** True when the operator keeps `__name__` (comparisons and trims, unless `bool`). */
function keepsName(op: BinaryOp): boolean {
  return isComparisonOp(op) || isTrimOp(op);
}

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
  if (isTrimOp(op)) {
    throw new QueryExecutionError(`operator "${op}" not allowed for Scalar operations`);
  }
  const { v, keep } = applyOp(op, l, r);
  if (isComparisonOp(op)) return keep ? 1 : 0;
  return v;
}

/**
 * Vector op scalar (or scalar op vector when `swap`). `note` receives the
 * step's last annotation, if any.
 */
export function vectorScalarBinop(
  op: BinaryOp,
  vec: ESample[],
  scalar: number,
  swap: boolean,
  returnBool: boolean,
  note?: (n: BinopNote) => void,
): ESample[] {
  const out: ESample[] = [];
  const cmp = isComparisonOp(op), keep0 = keepsName(op), trim = isTrimOp(op);
  let last: BinopNote | undefined;
  for (const s of vec) {
    const l = swap ? scalar : s.v, r = swap ? s.v : scalar;
    let v: number, keep: boolean, h: FloatHistogram | undefined;
    if (s.h || trim) {
      const e = histElemBinop(op, l, r, swap ? undefined : s.h, swap ? s.h : undefined);
      // Failures other than warnings drop the sample (infos of the result are not reported).
      if (e.error && !e.error.warn) {
        last = e.error;
        continue;
      }
      ({ v, keep, h } = e);
      if (cmp && swap) h = s.h;
    } else {
      ({ v, keep } = applyOp(op, l, r));
      if (cmp && swap) v = r;
    }
    if (returnBool) {
      v = keep ? 1 : 0;
      h = undefined;
      keep = true;
    }
    if (!keep) continue;
    const dropName = s.dropName || !keep0 || returnBool;
    out.push(h ? { labels: s.labels, v: 0, h, dropName } : { labels: s.labels, v, dropName });
  }
  if (last && note) note(last);
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

/**
 * Vector op vector for arithmetic and comparison operators. `note` receives
 * the step's last annotation, if any.
 */
export function vectorBinop(
  op: BinaryOp,
  lhsIn: ESample[],
  rhsIn: ESample[],
  matching: VectorMatching | undefined,
  returnBool: boolean,
  note?: (n: BinopNote) => void,
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
  const keep0 = keepsName(op), trim = isTrimOp(op);
  const matched = new Map<string, Set<string> | null>();
  const out: ESample[] = [];
  let last: BinopNote | undefined;
  for (const ls of lhs) {
    const sig = signature(ls.labels, m.on, m.labels);
    const rs = right.get(sig);
    if (!rs) continue;
    const fl = swapped ? rs.v : ls.v, fr = swapped ? ls.v : rs.v;
    let v: number, keep: boolean, h: FloatHistogram | undefined;
    if (ls.h || rs.h || trim) {
      const e = histElemBinop(op, fl, fr, swapped ? rs.h : ls.h, swapped ? ls.h : rs.h);
      if (e.error) {
        last = e.error;
        continue;
      }
      if (e.info) last = e.info;
      ({ v, keep, h } = e);
    } else ({ v, keep } = applyOp(op, fl, fr));
    if (returnBool) {
      v = keep ? 1 : 0;
      h = undefined;
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
    const dropName = ls.dropName || !keep0 || returnBool;
    out.push(h ? { labels, v: 0, h, dropName } : { labels, v, dropName });
  }
  if (last && note) note(last);
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
