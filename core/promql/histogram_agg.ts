/**
 * Aggregation of one step's vector that holds native histograms, as
 * Prometheus's `aggregation()` treats them: `sum` and `avg` add histograms
 * (Kahan-compensated, switching `avg` to an incremental mean on overflow)
 * and refuse groups mixing floats and histograms; `count` and `group` count
 * them; `min`, `max`, `stddev`, `stdvar`, `quantile`, `topk` and `bottomk`
 * leave them out with an info; `limitk` and `limit_ratio` keep them.
 * Groups of floats only get exactly the float aggregation.
 *
 * @module
 */
import { METRIC_NAME } from "../model/mod.ts";
import type { AggregateOp } from "./ast.ts";
import { aggregate, aggregateK, type Grouping, groupLabels } from "./aggregations.ts";
import { type FloatHistogram, IncompatibleSchemaError } from "./float_histogram.ts";
import { ANNOTATIONS } from "./hist_annotations.ts";
import { type ESample, keyOf } from "./value.ts";

/** Where the annotations of an aggregation go. */
export interface AggNotes {
  /** For annotations about the aggregated expression (Prometheus's `e.Expr` position). */
  warn(msg: string): void;
  info(msg: string): void;
  /** For topk/bottomk infos (the aggregation's own position). */
  infoAgg(msg: string): void;
  /** The float aggregation's own warnings (invalid quantile). */
  floatWarn(msg: string): void;
}

const IGNORING = new Set<AggregateOp>(["min", "max", "stddev", "stdvar", "quantile"]);

/**
 * A running sum or mean of histograms, as Prometheus adds them up in `sum`,
 * `avg`, `sum_over_time` and `avg_over_time`: Kahan-compensated, and for the
 * mean a switch to an incremental mean once the sum would overflow. `add`
 * throws {@linkcode IncompatibleSchemaError} for a mix of exponential and
 * custom buckets.
 */
export class HistogramAccumulator {
  #value: FloatHistogram;
  #comp: FloatHistogram | undefined;
  #mean: FloatHistogram | undefined;
  #count = 1;
  #reset = false;
  #notReset = false;
  /** Custom bounds differed and were intersected at least once. */
  reconciled = false;

  constructor(readonly op: "sum" | "avg", first: FloatHistogram) {
    this.#value = first.copy();
    this.#see(first);
  }

  #see(h: FloatHistogram): void {
    if (h.hint === "reset") this.#reset = true;
    else if (h.hint === "not_reset") this.#notReset = true;
  }

  /** True when one histogram said "reset" and another "not_reset" (Prometheus warns). */
  get collision(): boolean {
    return this.#reset && this.#notReset;
  }

  /** Adds the next histogram. */
  add(h: FloatHistogram): void {
    this.#see(h);
    const count = ++this.#count;
    if (this.op === "sum") {
      const r = this.#value.kahanAdd(h, this.#comp);
      this.#comp = r.c;
      this.reconciled ||= r.reconciled;
      return;
    }
    if (!this.#mean) {
      const v = this.#value.copy();
      const r = v.kahanAdd(h, this.#comp?.copy());
      this.reconciled ||= r.reconciled;
      if (!v.hasOverflow()) {
        this.#value = v;
        this.#comp = r.c;
        return;
      }
      this.#mean = this.#value.copy().div(count - 1);
      this.#comp?.div(count - 1);
    }
    const q = (count - 1) / count;
    this.#comp?.mul(q);
    const r = this.#mean.mul(q).kahanAdd(h.copy().div(count), this.#comp);
    this.#comp = r.c;
    this.reconciled ||= r.reconciled;
  }

  /** The sum or mean with the compensation applied (not compacted). */
  result(): FloatHistogram {
    const comp = this.#comp;
    if (this.op === "sum") {
      if (comp && this.#value.add(comp).reconciled) this.reconciled = true;
      return this.#value;
    }
    if (this.#mean) {
      if (comp) this.#mean.add(comp);
      return this.#mean;
    }
    const out = this.#value.div(this.#count);
    if (comp) out.add(comp.div(this.#count));
    return out;
  }
}

/** sum or avg of one group's histograms; undefined when they cannot be combined. */
function sumOrAvg(
  op: "sum" | "avg",
  hs: readonly ESample[],
  notes: AggNotes,
): FloatHistogram | undefined {
  const acc = new HistogramAccumulator(op, hs[0]!.h!);
  let k = 1, out: FloatHistogram;
  try {
    for (; k < hs.length; k++) acc.add(hs[k]!.h!);
    out = acc.result();
  } catch (e) {
    if (!(e instanceof IncompatibleSchemaError)) throw e;
    const metric = hs[k]!.labels.find((l) => l.name === METRIC_NAME)?.value ?? "";
    notes.warn(ANNOTATIONS.mixedExponentialCustom(metric));
    if (acc.reconciled) notes.info(ANNOTATIONS.mismatchedCustomBuckets("aggregation"));
    return undefined;
  }
  if (acc.reconciled) notes.info(ANNOTATIONS.mismatchedCustomBuckets("aggregation"));
  if (acc.collision) notes.warn(ANNOTATIONS.counterResetCollision("aggregation"));
  return out.compact();
}

/**
 * A simple aggregation (not topk/bottomk/limitk/limit_ratio/count_values)
 * of a step that has at least one native histogram sample.
 */
export function aggregateWithHistograms(
  op: AggregateOp,
  input: ESample[],
  g: Grouping,
  param: number,
  notes: AggNotes,
): ESample[] {
  if (op === "count" || op === "group") return aggregate(op, input, g, param, notes.floatWarn);
  if (IGNORING.has(op)) {
    notes.info(ANNOTATIONS.ignoredInAggregation(op));
    return aggregate(op, input.filter((s) => !s.h), g, param, notes.floatWarn);
  }
  if (op !== "sum" && op !== "avg") {
    throw new Error(`BUG: aggregateWithHistograms() called for ${op}`);
  }
  const groups = new Map<string, ESample[]>();
  for (const s of input) {
    const key = keyOf(groupLabels(s.labels, g));
    const list = groups.get(key);
    if (list) list.push(s);
    else groups.set(key, [s]);
  }
  const out: ESample[] = [];
  for (const list of groups.values()) {
    const hists = list.filter((s) => s.h);
    if (hists.length === 0) {
      out.push(...aggregate(op, list, g, param, notes.floatWarn));
      continue;
    }
    if (hists.length !== list.length) {
      notes.warn(ANNOTATIONS.mixedFloatsHistogramsAgg());
      continue;
    }
    const h = sumOrAvg(op, hists, notes);
    if (!h) continue;
    out.push({
      labels: groupLabels(list[0]!.labels, g),
      v: 0,
      h,
      dropName: list.some((s) => s.dropName),
    });
  }
  return out;
}

/** topk, bottomk, limitk or limit_ratio of a step with native histograms. */
export function aggregateKWithHistograms(
  op: AggregateOp,
  input: ESample[],
  g: Grouping,
  param: number,
  notes: AggNotes,
): ESample[] {
  if (op === "topk" || op === "bottomk") {
    notes.infoAgg(ANNOTATIONS.ignoredInAggregation(op));
    return aggregateK(op, input.filter((s) => !s.h), g, param);
  }
  return aggregateK(op, input, g, param);
}
