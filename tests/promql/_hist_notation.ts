/**
 * The native histogram notation of Prometheus's test scripts
 * (`{{schema:0 sum:5 count:4 buckets:[1 2 1]}}`, expanding forms
 * `{{…}}x3`, `{{a}}+{{b}}x3`, `{{a}}-{{b}}x3`), the comparison the upstream
 * harness applies to histogram results, and the conversion of classic
 * histograms into custom-bucket ones for `load_with_nhcb`.
 *
 * @module
 */
import { COUNTER_RESET_HINTS } from "../../core/model/mod.ts";
import { FloatHistogram } from "../../core/promql/float_histogram.ts";

/** A histogram of a value sequence, and whether its counter reset hint was written out. */
export interface HistItem {
  readonly h: FloatHistogram;
  readonly hintSet: boolean;
}

/** Parses one `{{…}}` description (with the braces). */
function parseHistogramDesc(text: string, num: (s: string) => number): HistItem {
  const inner = text.trim().replace(/^\{\{/, "").replace(/\}\}$/, "").trim();
  const fields = new Map<string, string>();
  const re = /([a-z_]+):\s*(\[[^\]]*\]|\S+)/g;
  let m: RegExpExecArray | null;
  let consumed = "";
  while ((m = re.exec(inner)) !== null) {
    if (fields.has(m[1]!)) throw new Error(`duplicate key "${m[1]}" in histogram`);
    fields.set(m[1]!, m[2]!);
    consumed += m[0];
  }
  if (inner.replace(/\s+/g, "") !== consumed.replace(/\s+/g, "")) {
    throw new Error(`Cannot parse histogram description ${JSON.stringify(text)}`);
  }
  const list = (k: string) => {
    const v = fields.get(k);
    if (v === undefined) return undefined;
    return v.slice(1, -1).trim().split(/\s+/).filter((x) => x !== "").map(num);
  };
  const int = (k: string) => {
    const v = fields.get(k);
    if (v === undefined) return 0;
    if (!/^[+-]?\d+$/.test(v)) throw new Error(`${k} must be an integer, got ${v}`);
    return Number(v);
  };
  const float = (k: string) => {
    const v = fields.get(k);
    return v === undefined ? 0 : num(v);
  };
  const side = (bucketsKey: string, offsetKey: string) => {
    const cnt = list(bucketsKey) ?? [];
    const off = int(offsetKey);
    return { idx: cnt.map((_, k) => off + k), cnt };
  };
  for (const k of fields.keys()) {
    if (
      ![
        "schema",
        "sum",
        "count",
        "z_bucket",
        "z_bucket_w",
        "custom_values",
        "buckets",
        "offset",
        "n_buckets",
        "n_offset",
        "counter_reset_hint",
      ].includes(k)
    ) throw new Error(`unknown histogram field ${k}`);
  }
  const hintText = fields.get("counter_reset_hint");
  const hint = COUNTER_RESET_HINTS.find((x) => x === (hintText ?? "unknown"));
  if (hint === undefined) throw new Error(`unknown counter_reset_hint ${hintText}`);
  const p = side("buckets", "offset"), n = side("n_buckets", "n_offset");
  const cv = list("custom_values");
  const h = new FloatHistogram({
    schema: int("schema"),
    sum: float("sum"),
    count: float("count"),
    zeroCount: float("z_bucket"),
    zeroThreshold: float("z_bucket_w"),
    pIdx: p.idx,
    pCnt: p.cnt,
    nIdx: n.idx,
    nCnt: n.cnt,
    ...(cv ? { customValues: cv } : {}),
    hint,
  });
  return { h, hintSet: hintText !== undefined };
}

/**
 * Splits a value sequence into items, keeping each histogram item (with
 * its `x3`, `+{{…}}x3` or `-{{…}}x3` suffix) whole.
 */
export function splitSequence(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i < s.length) {
    while (s[i] === " " || s[i] === "\t") i++;
    if (i >= s.length) break;
    const start = i;
    if (s.startsWith("{{", i)) {
      const closeHist = () => {
        const end = s.indexOf("}}", i);
        if (end < 0) throw new Error(`Unterminated histogram in ${JSON.stringify(text)}`);
        i = end + 2;
      };
      closeHist();
      if ((s[i] === "+" || s[i] === "-") && s.startsWith("{{", i + 1)) {
        i++;
        closeHist();
      }
      while (i < s.length && s[i] !== " " && s[i] !== "\t") i++;
    } else {
      while (i < s.length && s[i] !== " " && s[i] !== "\t") i++;
    }
    out.push(s.slice(start, i));
  }
  return out;
}

/** Expands one histogram item of a sequence into its values. */
export function expandHistogramItem(item: string, num: (s: string) => number): HistItem[] {
  const m = /^(\{\{.*?\}\})(?:([+-])(\{\{.*?\}\}))?(?:x(\d+))?$/.exec(item);
  if (!m) throw new Error(`Cannot parse histogram item ${JSON.stringify(item)}`);
  const base = parseHistogramDesc(m[1]!, num);
  const times = m[4] === undefined ? undefined : Number(m[4]);
  if (m[2] === undefined) {
    if (times === undefined) return [base];
    return Array.from({ length: times + 1 }, () => base);
  }
  if (times === undefined) throw new Error(`Missing repetition in ${JSON.stringify(item)}`);
  const inc = parseHistogramDesc(m[3]!, num);
  const out: HistItem[] = [{ h: base.h, hintSet: inc.hintSet }];
  let cur = base.h;
  for (let k = 1; k <= times; k++) {
    if (cur.schema > inc.h.schema) {
      throw new Error(
        `error combining histograms: cannot merge from schema ${inc.h.schema} to ${cur.schema}`,
      );
    }
    const next = cur.copy();
    if (m[2] === "+") next.add(inc.h);
    else next.sub(inc.h);
    out.push({ h: next, hintSet: inc.hintSet });
    cur = next;
  }
  return out;
}

/** Prometheus's `almost.Equal` with the harness's epsilon. */
export function almostEqualFloat(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const eps = 1e-6, minNormal = 2.2250738585072014e-308;
  const diff = Math.abs(a - b), sum = Math.abs(a) + Math.abs(b);
  if (a === 0 || b === 0 || sum < minNormal) return diff < eps * minNormal;
  return diff / Math.min(sum, Number.MAX_VALUE) < eps;
}

/** The harness's histogram comparison: both compacted, floats almost equal, the hint when written. */
export function histogramsMatch(exp: HistItem, got: FloatHistogram): boolean {
  const e = exp.h.copy().compact(), g = got.copy().compact();
  const near = (x: number[], y: number[]) =>
    x.length === y.length && x.every((v, k) => almostEqualFloat(v, y[k]!));
  const sameIdx = (x: number[], y: number[]) =>
    x.length === y.length && x.every((v, k) => v === y[k]);
  if (e.schema !== g.schema || !almostEqualFloat(e.count, g.count)) return false;
  if (!almostEqualFloat(e.sum, g.sum)) return false;
  if (e.usesCustomBuckets) {
    const a = e.customValues ?? [], b = g.customValues ?? [];
    if (a.length !== b.length || a.some((v, k) => v !== b[k])) return false;
  }
  if (e.zeroThreshold !== g.zeroThreshold || !almostEqualFloat(e.zeroCount, g.zeroCount)) {
    return false;
  }
  if (!sameIdx(e.nIdx, g.nIdx) || !near(e.nCnt, g.nCnt)) return false;
  if (!sameIdx(e.pIdx, g.pIdx) || !near(e.pCnt, g.pCnt)) return false;
  return !exp.hintSet || e.hint === g.hint;
}

/** The test notation of a histogram (for failure messages). */
export function histogramText(h: FloatHistogram): string {
  const c = h.copy().compact();
  const parts: string[] = [];
  if (c.schema !== 0) parts.push(`schema:${c.schema}`);
  if (c.count !== 0) parts.push(`count:${c.count}`);
  if (c.sum !== 0) parts.push(`sum:${c.sum}`);
  if (c.zeroCount !== 0) parts.push(`z_bucket:${c.zeroCount}`);
  if (c.zeroThreshold !== 0) parts.push(`z_bucket_w:${c.zeroThreshold}`);
  if (c.usesCustomBuckets) parts.push(`custom_values:[${(c.customValues ?? []).join(" ")}]`);
  if (c.hint !== "unknown") parts.push(`counter_reset_hint:${c.hint}`);
  const side = (idx: number[], cnt: number[], b: string) => {
    if (idx.length === 0) return;
    const first = idx[0]!, last = idx[idx.length - 1]!;
    const dense = new Array<number>(last - first + 1).fill(0);
    idx.forEach((i, k) => dense[i - first] = cnt[k]!);
    parts.push(`${b === "buckets" ? "offset" : "n_offset"}:${first} ${b}:[${dense.join(" ")}]`);
  };
  side(c.pIdx, c.pCnt, "buckets");
  side(c.nIdx, c.nCnt, "n_buckets");
  return `{{${parts.join(" ")}}}`;
}

/** One classic histogram at one timestamp, gathered from `_bucket`, `_count` and `_sum`. */
export class ClassicHistogram {
  #buckets: { le: number; count: number }[] = [];
  #count: number | undefined;
  #sum = 0;

  /** Records the cumulative count of the bucket with upper bound `le`. */
  setBucket(le: number, count: number): void {
    if (Number.isNaN(le)) return;
    const i = this.#buckets.findIndex((b) => b.le >= le);
    if (i >= 0 && this.#buckets[i]!.le === le) return;
    if (i < 0) this.#buckets.push({ le, count });
    else this.#buckets.splice(i, 0, { le, count });
  }

  setCount(count: number): void {
    this.#count = count;
  }

  setSum(sum: number): void {
    this.#sum = sum;
  }

  /** The custom-bucket histogram Prometheus's converter makes of it. */
  toNative(): FloatHistogram {
    const buckets = this.#buckets.slice();
    const count = this.#count ?? (buckets.length > 0 ? buckets[buckets.length - 1]!.count : 0);
    if (buckets.length === 0 || buckets[buckets.length - 1]!.le !== Infinity) {
      buckets.push({ le: Infinity, count });
    }
    const integral = buckets.every((b) => Number.isInteger(b.count)) && Number.isInteger(count);
    const cnt: number[] = [];
    let prev = 0;
    for (const b of buckets) {
      cnt.push(b.count - prev);
      prev = b.count;
    }
    const idx = cnt.map((_, k) => k);
    // Integer histograms are compacted keeping gaps of up to two empty buckets.
    const keep = cnt.map((c, k) => {
      if (c !== 0) return true;
      if (!integral) return false;
      let lo = k, hi = k;
      while (lo > 0 && cnt[lo - 1] === 0) lo--;
      while (hi < cnt.length - 1 && cnt[hi + 1] === 0) hi++;
      return lo > 0 && hi < cnt.length - 1 && hi - lo + 1 <= 2;
    });
    return new FloatHistogram({
      schema: -53,
      count,
      sum: this.#sum,
      pIdx: idx.filter((_, k) => keep[k]),
      pCnt: cnt.filter((_, k) => keep[k]),
      customValues: buckets.slice(0, -1).map((b) => b.le),
    });
  }
}
