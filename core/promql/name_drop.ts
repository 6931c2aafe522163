/**
 * Dropping `__name__` right after the function or operator that asks for
 * it (Prometheus without delayed name removal), and its check that no two
 * series of the result then share a label set.
 *
 * @module
 */
import { type Labels, METRIC_NAME } from "../model/mod.ts";
import { dropped } from "./engine_result.ts";
import { sameLabelsetError } from "./errors.ts";
import { ColumnVector, keyOf, type StepVectors } from "./value.ts";

/** `v` with `__name__` removed from every sample flagged to drop it (`v` itself when none is). */
export function dropNamesNow(v: StepVectors): StepVectors {
  const named = (l: Labels) => l.some((x) => x.name === METRIC_NAME);
  if (v.cols) {
    const { labels, dropName } = v.cols;
    if (!labels.some((l, s) => dropName[s] && named(l))) return v;
    return new ColumnVector({
      ...v.cols,
      labels: labels.map((l, s) => dropName[s] ? dropped(l, true) : l),
    });
  }
  if (!v.steps.some((step) => step.some((s) => s.dropName && named(s.labels)))) return v;
  // One dropped label set per input label set, so series keep one identity.
  const memo = new Map<Labels, Labels>();
  const drop = (l: Labels) => {
    let d = memo.get(l);
    if (d === undefined) memo.set(l, d = dropped(l, true));
    return d;
  };
  return {
    kind: "vector",
    steps: v.steps.map((step) =>
      step.map((s) => s.dropName && named(s.labels) ? { ...s, labels: drop(s.labels) } : s)
    ),
  };
}

/**
 * Prometheus's check after a function or operator that drops `__name__`:
 * series whose labels become equal without it may not both be in the
 * result ("vector cannot contain metrics with the same labelset"), so
 * `sum(rate({__name__=~"a|b"}[1m]))` fails as `rate(...)` alone does.
 * For a range-vector function any two such series in the whole result
 * collide; otherwise only two at the same step do. Labels must already be
 * without the dropped names.
 */
export function checkSameLabelset(v: StepVectors, wholeRange: boolean): void {
  // Distinct label sets first: without a collision there, no step has one.
  const seen = new Map<string, Labels>();
  const colliding = new Set<Labels>();
  const visit = (labels: Labels, drop: boolean) => {
    if (!drop) return;
    const k = keyOf(labels);
    const other = seen.get(k);
    if (other === undefined) seen.set(k, labels);
    else if (other !== labels) {
      colliding.add(other);
      colliding.add(labels);
    }
  };
  if (v.cols) {
    for (let s = 0; s < v.cols.labels.length; s++) visit(v.cols.labels[s]!, v.cols.dropName[s]!);
  } else {
    for (const step of v.steps) for (const s of step) visit(s.labels, s.dropName);
  }
  if (colliding.size === 0) return;
  if (wholeRange) {
    throw sameLabelsetError();
  }
  for (const step of v.steps) {
    const keys = new Set<string>();
    for (const s of step) {
      if (!s.dropName || !colliding.has(s.labels)) continue;
      const k = keyOf(s.labels);
      if (keys.has(k)) {
        throw sameLabelsetError();
      }
      keys.add(k);
    }
  }
}
