/**
 * Aggregation operators over one step's instant vector, as Prometheus's
 * `aggregation()` and `aggregationK()`: grouping by/without, Kahan sums,
 * incremental means on overflow, NaN handling of min/max, topk/bottomk.
 *
 * @module
 */
import {
  checkLabelValue,
  formatFloat,
  goQuote,
  type Label,
  type Labels,
  METRIC_NAME,
} from "../model/mod.ts";
import type { AggregateOp } from "./ast.ts";
import { QueryExecutionError } from "./errors.ts";
import { invalidQuantileWarning, KAHAN, Kahan, kahanInc, quantile } from "./functions.ts";
import { histogramString } from "./histogram_buckets.ts";
import { sampleOffset } from "./label_hash.ts";
import {
  ColumnVector,
  type ESample,
  keyOf,
  type StepVectors,
  type VectorColumns,
} from "./value.ts";

/** Grouping of an aggregation. */
export interface Grouping {
  readonly labels: readonly string[];
  readonly without: boolean;
  /** Group labels by input label set, reused across steps (label sets are shared). */
  readonly cache?: Map<Labels, Labels>;
}

/** Labels of the group a series belongs to. */
export function groupLabels(labels: Labels, g: Grouping): Labels {
  const cache = g.cache;
  if (cache) {
    const hit = cache.get(labels);
    if (hit) return hit;
    const gl = computeGroupLabels(labels, g);
    cache.set(labels, gl);
    return gl;
  }
  return computeGroupLabels(labels, g);
}

function computeGroupLabels(labels: Labels, g: Grouping): Labels {
  const out: Label[] = [];
  if (g.without) {
    for (const l of labels) {
      if (l.name !== METRIC_NAME && !g.labels.includes(l.name)) out.push(l);
    }
  } else {
    for (const l of labels) if (g.labels.includes(l.name)) out.push(l);
  }
  return out.length === labels.length ? labels : out;
}

interface Group {
  labels: Labels;
  dropName: boolean;
  count: number;
  value: number;
  kahan: Kahan;
  mean: number;
  incremental: boolean;
  values: number[];
  samples: ESample[];
}

/**
 * Evaluates a simple aggregation (everything except topk, bottomk, limitk,
 * limit_ratio and count_values) over one step.
 */
export function aggregate(
  op: AggregateOp,
  input: ESample[],
  g: Grouping,
  param: number,
  warn: (m: string) => void,
): ESample[] {
  if (op === "quantile" && (Number.isNaN(param) || param < 0 || param > 1) && input.length > 0) {
    warn(invalidQuantileWarning(param));
  }
  const groups = new Map<string, Group>();
  for (const s of input) {
    const gl = groupLabels(s.labels, g);
    const key = keyOf(gl);
    let grp = groups.get(key);
    const f = s.v;
    if (!grp) {
      const kahan = new Kahan();
      kahan.sum = f;
      grp = {
        labels: gl,
        dropName: s.dropName,
        count: 1,
        value: op === "stddev" || op === "stdvar" ? f - f : f, // NaN for NaN or ±Inf.
        kahan,
        mean: f,
        incremental: false,
        values: op === "quantile" ? [f] : [],
        samples: [],
      };
      groups.set(key, grp);
      continue;
    }
    grp.dropName ||= s.dropName;
    switch (op) {
      case "sum":
        grp.kahan.add(f);
        break;
      case "avg": {
        grp.count++;
        if (!grp.incremental) {
          const k = new Kahan();
          k.sum = grp.kahan.sum;
          k.c = grp.kahan.c;
          k.add(f);
          if (Number.isFinite(k.sum) || Number.isNaN(k.sum)) {
            grp.kahan = k;
            break;
          }
          grp.incremental = true;
          grp.mean = grp.kahan.sum / (grp.count - 1);
          grp.kahan.c /= grp.count - 1;
        }
        const q = (grp.count - 1) / grp.count;
        const k = new Kahan();
        k.sum = q * grp.mean;
        k.c = q * grp.kahan.c;
        k.add(f / grp.count);
        grp.mean = k.sum;
        grp.kahan.c = k.c;
        break;
      }
      case "count":
        grp.count++;
        break;
      case "group":
        break;
      case "max":
        if (grp.value < f || Number.isNaN(grp.value)) grp.value = f;
        break;
      case "min":
        if (grp.value > f || Number.isNaN(grp.value)) grp.value = f;
        break;
      case "stddev":
      case "stdvar": {
        grp.count++;
        const delta = f - grp.mean;
        grp.mean += delta / grp.count;
        grp.value += delta * (f - grp.mean);
        break;
      }
      case "quantile":
        grp.values.push(f);
        break;
      default:
        throw new Error(`BUG: aggregate() called for ${op}`);
    }
  }
  const out: ESample[] = [];
  for (const grp of groups.values()) {
    let v: number;
    switch (op) {
      case "sum":
        v = grp.kahan.value();
        break;
      case "avg":
        v = grp.incremental
          ? grp.mean + grp.kahan.c
          : grp.kahan.sum / grp.count + grp.kahan.c / grp.count;
        break;
      case "count":
        v = grp.count;
        break;
      case "group":
        v = 1;
        break;
      case "stddev":
        v = Math.sqrt(grp.value / grp.count);
        break;
      case "stdvar":
        v = grp.value / grp.count;
        break;
      case "quantile":
        v = quantile(param, grp.values);
        break;
      default:
        v = grp.value;
    }
    out.push({ labels: grp.labels, v, dropName: grp.dropName });
  }
  return out;
}

/** count_values: counts samples per group and distinct value, the value as label `label`. */
export function countValues(input: ESample[], g: Grouping, label: string): ESample[] {
  if (label === "" || checkLabelValue(label) !== undefined) {
    throw new QueryExecutionError(`invalid label name ${goQuote(label)}`);
  }
  const groups = new Map<string, ESample>();
  for (const s of input) {
    const value = s.h ? histogramString(s.h) : formatFloat(s.v);
    const gl = groupLabels(s.labels, g).filter((l) => l.name !== label);
    const labels = [...gl, { name: label, value }].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
    const key = keyOf(labels);
    const grp = groups.get(key);
    if (grp) grp.v++;
    else groups.set(key, { labels, v: 1, dropName: false });
  }
  return [...groups.values()];
}

function kFromParam(k: number): number {
  if (Number.isNaN(k)) throw new QueryExecutionError("Parameter value is NaN");
  if (k > Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  if (k < -Number.MAX_SAFE_INTEGER) return 0;
  return Math.trunc(k);
}

/** topk, bottomk, limitk and limit_ratio over one step; keeps each sample's labels. */
export function aggregateK(
  op: AggregateOp,
  input: ESample[],
  g: Grouping,
  param: number,
): ESample[] {
  if (op === "limit_ratio") {
    if (Number.isNaN(param)) throw new QueryExecutionError("Ratio value is NaN");
  }
  const k = op === "limit_ratio" ? 0 : kFromParam(param);
  if (op !== "limit_ratio" && k < 1) return [];
  const groups = new Map<string, ESample[]>();
  for (const s of input) {
    const key = keyOf(groupLabels(s.labels, g));
    let arr = groups.get(key);
    if (!arr) {
      arr = [];
      groups.set(key, arr);
    }
    arr.push(s);
  }
  const out: ESample[] = [];
  for (const arr of groups.values()) {
    switch (op) {
      case "topk":
      case "bottomk": {
        out.push(...selectK(arr, k, op === "topk"));
        break;
      }
      case "limitk":
        out.push(...arr.slice(0, k));
        break;
      case "limit_ratio":
        out.push(...limitRatio(arr, param));
        break;
      default:
        throw new Error(`BUG: aggregateK() called for ${op}`);
    }
  }
  return out;
}

/**
 * The k largest (or smallest) samples, chosen and ordered as Prometheus does,
 * so that ties resolve the same way: a bounded binary min-heap (max-heap for
 * bottomk) in Go's container/heap algorithm, where a later sample replaces
 * the heap top only when strictly better, then the heap array sorted
 * best-first by a stable sort (Go's sort.Sort is an insertion sort, stable,
 * for the small k seen in practice).
 */
function selectK(input: ESample[], k: number, top: boolean): ESample[] {
  // less(a, b): a belongs nearer the heap top (it is "worse"); NaN is worst.
  const less = (a: ESample, b: ESample) => {
    if (Number.isNaN(a.v) && !Number.isNaN(b.v)) return true;
    return top ? a.v < b.v : a.v > b.v;
  };
  const h: ESample[] = [];
  const up = (j: number) => {
    for (;;) {
      const i = (j - 1) >> 1;
      if (j <= 0 || !less(h[j]!, h[i]!)) break;
      [h[i], h[j]] = [h[j]!, h[i]!];
      j = i;
    }
  };
  const down = (i: number) => {
    const n = h.length;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n) break;
      let j = j1;
      if (j1 + 1 < n && less(h[j1 + 1]!, h[j1]!)) j = j1 + 1;
      if (!less(h[j]!, h[i]!)) break;
      [h[i], h[j]] = [h[j]!, h[i]!];
      i = j;
    }
  };
  for (const s of input) {
    if (h.length < k) {
      h.push(s);
      up(h.length - 1);
    } else if (less(h[0]!, s)) {
      h[0] = s;
      down(0);
    }
  }
  // Best first: a stable sort by the reversed heap order.
  return h.sort((a, b) => less(b, a) ? -1 : less(a, b) ? 1 : 0);
}

function limitRatio(arr: ESample[], ratio: number): ESample[] {
  const r = Math.max(-1, Math.min(1, ratio));
  return arr.filter((s) => {
    const f = sampleOffset(s.labels);
    return r >= 0 ? f < r : f >= 1 + r;
  });
}

/** Ops {@linkcode aggregateColumns} evaluates. */
export const COLUMN_AGG_OPS: ReadonlySet<AggregateOp> = new Set<AggregateOp>([
  "sum",
  "avg",
  "count",
  "group",
  "min",
  "max",
  "stddev",
  "stdvar",
  "quantile",
]);

/**
 * A simple aggregation (an op of {@linkcode COLUMN_AGG_OPS}) over every step
 * of a columnar vector. Each series' group is found once, not per sample;
 * per step the result is exactly what {@linkcode aggregate} gives for that
 * step's vector (same accumulation order, same output order). The result is
 * itself columnar (one column per group) when that keeps the order.
 */
export function aggregateColumns(
  op: AggregateOp,
  cols: VectorColumns,
  g: Grouping,
  param: Float64Array | undefined,
  warn: (m: string) => void,
  tick: () => void,
  alloc: ColumnAlloc = FRESH,
): StepVectors {
  if (!COLUMN_AGG_OPS.has(op)) throw new Error(`BUG: aggregateColumns() called for ${op}`);
  const nSeries = cols.labels.length, nSteps = cols.steps;
  // Group index of each series.
  const groupOf = new Int32Array(nSeries);
  const groupIdx = new Map<string, number>();
  const groupLbls: Labels[] = [];
  for (let s = 0; s < nSeries; s++) {
    const gl = groupLabels(cols.labels[s]!, g);
    const key = keyOf(gl);
    let gi = groupIdx.get(key);
    if (gi === undefined) {
      gi = groupLbls.length;
      groupIdx.set(key, gi);
      groupLbls.push(gl);
    }
    groupOf[s] = gi;
  }
  const nG = groupLbls.length;
  const seenAt = new Int32Array(nG).fill(-1);
  const order = new Int32Array(nG);
  const count = new Float64Array(nG), value = new Float64Array(nG);
  const ksum = new Float64Array(nG), kc = new Float64Array(nG), mean = new Float64Array(nG);
  const incremental = new Uint8Array(nG), drop = new Uint8Array(nG);
  const values: number[][] = op === "quantile" ? Array.from({ length: nG }, () => []) : [];
  const { v: colV, present, dropName } = cols;
  if (SERIES_MAJOR_OPS.has(op)) return seriesMajor(op, cols, groupOf, groupLbls, tick, alloc);
  const out = new GroupGrid(groupLbls, nSteps, alloc);
  for (let i = 0; i < nSteps; i++) {
    tick();
    let nOrder = 0;
    for (let s = 0; s < nSeries; s++) {
      if (!present[s]![i]) continue;
      const f = colV[s]![i]!;
      const gi = groupOf[s]!;
      if (seenAt[gi] !== i) {
        seenAt[gi] = i;
        order[nOrder++] = gi;
        count[gi] = 1;
        value[gi] = op === "stddev" || op === "stdvar" ? f - f : f; // NaN for NaN or ±Inf.
        ksum[gi] = f;
        kc[gi] = 0;
        mean[gi] = f;
        incremental[gi] = 0;
        drop[gi] = dropName[s] ? 1 : 0;
        if (op === "quantile") {
          const vs = values[gi]!;
          vs.length = 0;
          vs.push(f);
        }
        continue;
      }
      if (dropName[s]) drop[gi] = 1;
      switch (op) {
        case "sum":
          kahanInc(f, ksum[gi]!, kc[gi]!);
          ksum[gi] = KAHAN.sum;
          kc[gi] = KAHAN.c;
          break;
        case "avg": {
          const n = ++count[gi]!;
          if (!incremental[gi]) {
            kahanInc(f, ksum[gi]!, kc[gi]!);
            if (Number.isFinite(KAHAN.sum) || Number.isNaN(KAHAN.sum)) {
              ksum[gi] = KAHAN.sum;
              kc[gi] = KAHAN.c;
              break;
            }
            incremental[gi] = 1;
            mean[gi] = ksum[gi]! / (n - 1);
            kc[gi] = kc[gi]! / (n - 1);
          }
          const q = (n - 1) / n;
          kahanInc(f / n, q * mean[gi]!, q * kc[gi]!);
          mean[gi] = KAHAN.sum;
          kc[gi] = KAHAN.c;
          break;
        }
        case "count":
          count[gi]!++;
          break;
        case "group":
          break;
        case "max":
          if (value[gi]! < f || Number.isNaN(value[gi]!)) value[gi] = f;
          break;
        case "min":
          if (value[gi]! > f || Number.isNaN(value[gi]!)) value[gi] = f;
          break;
        case "stddev":
        case "stdvar": {
          const n = ++count[gi]!;
          const delta = f - mean[gi]!;
          mean[gi] = mean[gi]! + delta / n;
          value[gi] = value[gi]! + delta * (f - mean[gi]!);
          break;
        }
        case "quantile":
          values[gi]!.push(f);
          break;
      }
    }
    const p = param ? param[i]! : NaN;
    if (op === "quantile" && (Number.isNaN(p) || p < 0 || p > 1) && nOrder > 0) {
      warn(invalidQuantileWarning(p));
    }
    out.order(i, order, nOrder);
    for (let k = 0; k < nOrder; k++) {
      const gi = order[k]!;
      let v: number;
      switch (op) {
        case "sum": {
          const sum = ksum[gi]!;
          v = !Number.isFinite(sum) && !Number.isNaN(sum) ? sum : sum + kc[gi]!;
          break;
        }
        case "avg":
          v = incremental[gi] ? mean[gi]! + kc[gi]! : ksum[gi]! / count[gi]! + kc[gi]! / count[gi]!;
          break;
        case "count":
          v = count[gi]!;
          break;
        case "group":
          v = 1;
          break;
        case "stddev":
          v = Math.sqrt(value[gi]! / count[gi]!);
          break;
        case "stdvar":
          v = value[gi]! / count[gi]!;
          break;
        case "quantile":
          v = quantile(p, values[gi]!);
          break;
        default:
          v = value[gi]!;
      }
      out.set(gi, i, v, drop[gi] === 1);
    }
  }
  return out.result();
}

const SERIES_MAJOR_OPS: ReadonlySet<AggregateOp> = new Set<AggregateOp>([
  "sum",
  "count",
  "group",
  "min",
  "max",
]);

/**
 * sum, count, group, min and max accumulated one series column at a time
 * (cache-friendly, no per-sample branching on the op) into a group × step
 * grid. Samples of a group at a step still meet in series order, so sums are
 * bit-identical to the step-at-a-time path; output per step is ordered by
 * each group's first present series, as there.
 */
function seriesMajor(
  op: AggregateOp,
  cols: VectorColumns,
  groupOf: Int32Array,
  groupLbls: Labels[],
  tick: () => void,
  alloc: ColumnAlloc,
): StepVectors {
  const nSeries = cols.labels.length, nSteps = cols.steps, nG = groupLbls.length;
  const cells = nG * nSteps;
  // First present series of each group at each step (-1: group absent).
  const first = new Int32Array(cells).fill(-1);
  const acc = new Float64Array(cells), comp = new Float64Array(cells);
  const drop = new Uint8Array(cells);
  for (let s = 0; s < nSeries; s++) {
    tick();
    const v = cols.v[s]!, p = cols.present[s]!, d = cols.dropName[s] ? 1 : 0;
    const base = groupOf[s]! * nSteps;
    for (let i = 0; i < nSteps; i++) {
      if (!p[i]) continue;
      const idx = base + i, f = v[i]!;
      if (first[idx]! < 0) {
        first[idx] = s;
        acc[idx] = op === "count" ? 1 : f;
        drop[idx] = d;
        continue;
      }
      if (d) drop[idx] = 1;
      if (op === "sum") {
        const sum = acc[idx]!;
        const t = sum + f;
        if (!Number.isFinite(t) && !Number.isNaN(t)) comp[idx] = 0;
        else if (Math.abs(sum) >= Math.abs(f)) comp[idx] = comp[idx]! + ((sum - t) + f);
        else comp[idx] = comp[idx]! + ((f - t) + sum);
        acc[idx] = t;
      } else if (op === "count") acc[idx] = acc[idx]! + 1;
      else if (op === "max") {
        const cur = acc[idx]!;
        if (cur < f || Number.isNaN(cur)) acc[idx] = f;
      } else if (op === "min") {
        const cur = acc[idx]!;
        if (cur > f || Number.isNaN(cur)) acc[idx] = f;
      }
    }
  }
  const out = new GroupGrid(groupLbls, nSteps, alloc);
  const order = new Int32Array(nG);
  for (let i = 0; i < nSteps; i++) {
    let n = 0, sorted = true, last = -1;
    for (let gi = 0; gi < nG; gi++) {
      const f = first[gi * nSteps + i]!;
      if (f < 0) continue;
      if (f < last) sorted = false;
      last = f;
      order[n++] = gi;
    }
    if (!sorted) {
      order.subarray(0, n).sort((a, b) => first[a * nSteps + i]! - first[b * nSteps + i]!);
    }
    out.order(i, order, n);
    for (let k = 0; k < n; k++) {
      const gi = order[k]!, idx = gi * nSteps + i;
      let v: number;
      if (op === "sum") {
        const sum = acc[idx]!;
        v = !Number.isFinite(sum) && !Number.isNaN(sum) ? sum : sum + comp[idx]!;
      } else if (op === "group") v = 1;
      else v = acc[idx]!;
      out.set(gi, i, v, drop[idx] === 1);
    }
  }
  // Scratch as large as the output grid: freed now, not at the next full collection.
  for (const a of [first, acc, comp, drop]) a.buffer.transfer(0);
  return out.result();
}

/** Where columns come from (a query's arena, or fresh arrays). */
export interface ColumnAlloc {
  /** Values: contents unspecified (read only where present). */
  floats(n: number): Float64Array;
  /** Flags: zeroed. */
  bytes(n: number): Uint8Array;
}

const FRESH: ColumnAlloc = {
  floats: (n) => new Float64Array(n),
  bytes: (n) => new Uint8Array(n),
};

/**
 * The output of an aggregation over all steps, written group by group: one
 * column per group when, at every step, the groups come in group order (the
 * order columns give) and each keeps one `__name__` drop flag; otherwise
 * per-step samples in the order each step gave.
 */
class GroupGrid {
  readonly #v: Float64Array[] = [];
  readonly #present: Uint8Array[] = [];
  /** Per group: its drop flag, -1 before its first sample. */
  readonly #drop: Int8Array;
  /** Per step, the groups in output order; kept only once some step is out of group order. */
  #orders: Int32Array[] | undefined;
  #dropVaries = false;
  #count = 0;
  #dropAt: Uint8Array;

  constructor(readonly labels: Labels[], readonly steps: number, alloc: ColumnAlloc) {
    for (let gi = 0; gi < labels.length; gi++) {
      this.#v.push(alloc.floats(steps));
      this.#present.push(alloc.bytes(steps));
    }
    this.#drop = new Int8Array(labels.length).fill(-1);
    this.#dropAt = alloc.bytes(labels.length * steps);
  }

  /** Records the output order of step `i`: groups `order[0, n)`. */
  order(i: number, order: Int32Array, n: number): void {
    if (!this.#orders) {
      let sorted = true;
      for (let k = 1; k < n && sorted; k++) sorted = order[k]! > order[k - 1]!;
      if (sorted) return;
      // Steps so far were in group order: rebuild theirs from presence.
      this.#orders = [];
      for (let j = 0; j < i; j++) {
        const o: number[] = [];
        for (let gi = 0; gi < this.labels.length; gi++) if (this.#present[gi]![j]) o.push(gi);
        this.#orders.push(Int32Array.from(o));
      }
    }
    this.#orders.push(order.slice(0, n));
  }

  /** Group `gi`'s value at step `i`. */
  set(gi: number, i: number, v: number, dropName: boolean): void {
    this.#v[gi]![i] = v;
    this.#present[gi]![i] = 1;
    this.#count++;
    const d = dropName ? 1 : 0;
    this.#dropAt[gi * this.steps + i] = d;
    if (this.#drop[gi] === -1) this.#drop[gi] = d;
    else if (this.#drop[gi] !== d) this.#dropVaries = true;
  }

  result(): StepVectors {
    const nG = this.labels.length, n = this.steps;
    if (!this.#orders && !this.#dropVaries) {
      return new ColumnVector({
        labels: this.labels,
        dropName: Array.from(this.#drop, (d) => d === 1),
        v: this.#v,
        present: this.#present,
        count: this.#count,
        steps: n,
      });
    }
    const steps: ESample[][] = new Array(n);
    for (let i = 0; i < n; i++) {
      const step: ESample[] = [];
      const emit = (gi: number) =>
        step.push({
          labels: this.labels[gi]!,
          v: this.#v[gi]![i]!,
          dropName: this.#dropAt[gi * n + i] === 1,
        });
      if (this.#orders) { for (const gi of this.#orders[i]!) emit(gi); }
      else for (let gi = 0; gi < nG; gi++) if (this.#present[gi]![i]) emit(gi);
      steps[i] = step;
    }
    return { kind: "vector", steps };
  }
}
