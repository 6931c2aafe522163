/**
 * A runner for Prometheus's PromQL test-script format (`promqltest`), as
 * summarised in `tests/promql/testdata/FORMAT.md`: `load`, `clear` and
 * `eval` blocks with expected results and `expect` lines.
 *
 * The runner knows nothing about the engine: it loads series into a
 * {@linkcode MemStore} and asks an {@linkcode EngineUnderTest} for answers.
 *
 * @module
 */
import {
  compareLabels,
  fromPairs,
  isStaleNaN,
  type Labels,
  STALE_NAN,
} from "../../core/model/mod.ts";
import { formatSeries } from "../../core/model/mod.ts";
import { MemStore } from "../../core/tsdb/mem_querier.ts";
import type { FloatHistogram } from "../../core/promql/float_histogram.ts";
import { histogramJson } from "../../routes/api_json.ts";
import {
  almostEqualFloat,
  ClassicHistogram,
  expandHistogramItem,
  type HistItem,
  histogramsMatch,
  histogramText,
  splitSequence,
} from "./_hist_notation.ts";

/**
 * A native histogram as the HTTP API writes it (no schema or hint): an
 * engine answering over HTTP returns these, compared with the JSON form of
 * the expected histogram.
 */
export interface JsonHistogram {
  readonly json: {
    readonly count: string;
    readonly sum: string;
    readonly buckets?: readonly (readonly [number, string, string, string])[];
  };
}

/** A histogram answer: the engine's value or its JSON form. */
export type TestHistogram = FloatHistogram | JsonHistogram;

/** One sample of a vector answer; `h` for a native histogram. */
interface TestSample {
  labels: Labels;
  v: number;
  h?: TestHistogram;
}

/** A query answer in the shape the runner compares. */
export type TestValue =
  | { type: "scalar"; v: number }
  | { type: "string"; v: string }
  | { type: "vector"; samples: TestSample[] }
  | {
    type: "matrix";
    series: {
      labels: Labels;
      t: ArrayLike<number>;
      v: ArrayLike<number>;
      histograms?: { t: ArrayLike<number>; h: readonly TestHistogram[] };
    }[];
  };

/** The outcome of one query: a value with annotations, or an error. */
export interface TestOutcome {
  value?: TestValue;
  error?: Error;
  warnings: string[];
  infos: string[];
}

/** What the runner needs from an engine. Times are ms since the epoch. */
export interface EngineUnderTest {
  /**
   * Called after each `load` block has been added to `store` (a new store
   * after `clear`), for engines that read their data elsewhere.
   */
  loaded?(store: MemStore): Promise<void>;
  /**
   * Normalises an annotation before expected and received ones are compared
   * (for an engine configured unlike the upstream harness).
   */
  annotation?(msg: string): string;
  instant(store: MemStore, expr: string, t: number): Promise<TestOutcome>;
  range(
    store: MemStore,
    expr: string,
    start: number,
    end: number,
    step: number,
  ): Promise<TestOutcome>;
}

/** The result of one `eval` block. */
export interface CaseResult {
  readonly file: string;
  readonly line: number;
  readonly expr: string;
  readonly status: "pass" | "fail" | "skip";
  /** Why it was skipped, or what differed. */
  readonly reason?: string;
}

/** One item of a value sequence: a float, a staleness marker, a native histogram, or no sample. */
export type SeqItem = number | "stale" | HistItem | undefined;

interface ExpectedSeries {
  labels: Labels;
  /** Per step; undefined = no point. */
  values: SeqItem[];
}

interface EvalCase {
  line: number;
  range: boolean;
  start: number;
  end: number;
  step: number;
  expr: string;
  fail: boolean;
  failMsg?: string;
  failRegex?: RegExp;
  ordered: boolean;
  warn?: Annot;
  info?: Annot;
  scalar?: number;
  str?: string;
  series: ExpectedSeries[];
  skip?: string;
}

interface Annot {
  /** "some" = at least one; "none" = none; otherwise match lists. */
  mode: "some" | "none";
  msgs: string[];
  regexes: RegExp[];
}

const DURATION_RE =
  /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Parses a Prometheus duration (`1h30m`, `10s53ms`, `0`) into ms; bare numbers are seconds. */
export function parseDuration(s: string): number {
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const neg = s.startsWith("-");
  const m = DURATION_RE.exec(neg ? s.slice(1) : s);
  if (!m || s === "" || s === "-") throw new Error(`Cannot parse duration ${JSON.stringify(s)}`);
  const units = [365 * 86400000, 7 * 86400000, 86400000, 3600000, 60000, 1000, 1];
  let ms = 0;
  for (let i = 0; i < units.length; i++) if (m[i + 1]) ms += Number(m[i + 1]) * units[i]!;
  return neg ? -ms : ms;
}

const NUM = String.raw`[+-]?(?:inf|nan|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:e[+-]?\d+)?)`;
const EXPAND_RE = new RegExp(`^(${NUM})(?:([+-])(${NUM}))?x(\\d+)$`, "i");
const NUM_RE = new RegExp(`^${NUM}$`, "i");

function parseNumber(s: string): number {
  const l = s.toLowerCase().replaceAll("_", "");
  if (l === "inf" || l === "+inf") return Infinity;
  if (l === "-inf") return -Infinity;
  if (l === "nan" || l === "+nan" || l === "-nan") return NaN;
  const n = Number(l);
  if (Number.isNaN(n)) throw new Error(`Cannot parse number ${JSON.stringify(s)}`);
  return n;
}

/**
 * Expands a value sequence (`0+10x3 _ stale 1 _x2`) into per-step values;
 * undefined = no sample at that step, "stale" = a staleness marker.
 */
export function parseSequence(text: string): SeqItem[] {
  const out: SeqItem[] = [];
  for (const item of splitSequence(text)) {
    if (item.startsWith("{{")) {
      out.push(...expandHistogramItem(item, parseNumber));
      continue;
    }
    if (item === "_") {
      out.push(undefined);
      continue;
    }
    const gap = /^_x(\d+)$/.exec(item);
    if (gap) {
      for (let i = 0; i < Number(gap[1]); i++) out.push(undefined);
      continue;
    }
    if (item === "stale") {
      // Kept symbolic: JS arrays do not preserve the marker's NaN bit pattern.
      out.push("stale");
      continue;
    }
    if (NUM_RE.test(item)) {
      out.push(parseNumber(item));
      continue;
    }
    const m = EXPAND_RE.exec(item);
    if (!m) throw new Error(`Cannot parse value ${JSON.stringify(item)}`);
    let v = parseNumber(m[1]!);
    const delta = m[3] === undefined ? 0 : parseNumber(m[3]) * (m[2] === "-" ? -1 : 1);
    const n = Number(m[4]);
    out.push(v);
    for (let i = 0; i < n; i++) {
      v += delta;
      out.push(v);
    }
  }
  return out;
}

/** Reads a quoted string (`"`, `'` or backticks) at `pos`; returns value and end. */
function readQuoted(s: string, pos: number): [string, number] {
  const q = s[pos]!;
  let i = pos + 1;
  let out = "";
  while (i < s.length && s[i] !== q) {
    const c = s[i]!;
    if (c === "\\" && q !== "`") {
      const n = s[i + 1];
      i += 2;
      switch (n) {
        case "n":
          out += "\n";
          break;
        case "t":
          out += "\t";
          break;
        case "r":
          out += "\r";
          break;
        case "\\":
        case '"':
        case "'":
          out += n;
          break;
        case "u":
          out += String.fromCharCode(parseInt(s.slice(i, i + 4), 16));
          i += 4;
          break;
        default:
          out += "\\" + (n ?? "");
      }
      continue;
    }
    out += c;
    i++;
  }
  if (i >= s.length) throw new Error(`Unterminated string in ${JSON.stringify(s)}`);
  return [out, i + 1];
}

/** Parses `name{a="b"} rest` into labels and the remaining text. */
export function parseSeriesLine(line: string): { labels: Labels; rest: string } {
  let i = 0;
  const pairs: [string, string][] = [];
  const nameM = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (nameM) {
    pairs.push(["__name__", nameM[0]]);
    i = nameM[0].length;
  }
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (line[i] === " " || line[i] === "\t" || line[i] === ",") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      if (i >= line.length) throw new Error(`Unterminated label set in ${JSON.stringify(line)}`);
      if (line[i] === '"' || line[i] === "'" || line[i] === "`") {
        const [str, end] = readQuoted(line, i);
        i = end;
        while (line[i] === " ") i++;
        if (line[i] === "=") {
          i++;
          while (line[i] === " ") i++;
          const [val, e2] = readQuoted(line, i);
          pairs.push([str, val]);
          i = e2;
        } else {
          pairs.push(["__name__", str]);
        }
        continue;
      }
      const lm = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!lm) throw new Error(`Cannot parse label at ${JSON.stringify(line.slice(i))}`);
      i += lm[0].length;
      while (line[i] === " ") i++;
      if (line[i] !== "=") throw new Error(`Expected = in ${JSON.stringify(line)}`);
      i++;
      while (line[i] === " ") i++;
      const [val, end] = readQuoted(line, i);
      pairs.push([lm[0], val]);
      i = end;
    }
  }
  if (i === 0) throw new Error(`Cannot parse series ${JSON.stringify(line)}`);
  return { labels: fromPairs(pairs), rest: line.slice(i).trim() };
}

/** Float comparison with the upstream harness's tolerance. */
export function almostEqual(a: number | "stale", b: number | "stale"): boolean {
  if (a === "stale" || b === "stale") return a === b;
  return almostEqualFloat(a, b);
}

/** One expected value against one result point (float or histogram). */
function itemMatches(want: SeqItem, got: number | "stale" | TestHistogram): boolean {
  if (want === undefined) return false;
  if (typeof want === "object") {
    if (typeof got !== "object") return false;
    return "json" in got ? jsonMatches(want, got.json) : histogramsMatch(want, got);
  }
  if (typeof got === "object") return false;
  return almostEqual(want, got);
}

/** An API float string as a number (`+Inf`, `-Inf`, `NaN` included). */
function apiFloat(s: string): number {
  return s === "+Inf" ? Infinity : s === "-Inf" ? -Infinity : Number(s);
}

/**
 * A histogram from the HTTP API against the JSON form of the expected one:
 * count, sum and every populated bucket (kind, bounds, count), floats with
 * the harness's tolerance. The JSON has no schema or hint to compare.
 */
function jsonMatches(want: HistItem, got: JsonHistogram["json"]): boolean {
  const exp = JSON.parse(histogramJson(want.h)) as JsonHistogram["json"];
  const near = (a: string, b: string) => almostEqualFloat(apiFloat(a), apiFloat(b));
  if (!near(exp.count, got.count) || !near(exp.sum, got.sum)) return false;
  const eb = exp.buckets ?? [], gb = got.buckets ?? [];
  return eb.length === gb.length && eb.every((b, k) => {
    const g = gb[k]!;
    return b[0] === g[0] && near(b[1], g[1]) && near(b[2], g[2]) && near(b[3], g[3]);
  });
}

function fmtNum(v: SeqItem | TestHistogram): string {
  if (v === undefined) return "_";
  if (typeof v === "object") {
    if ("json" in v) return JSON.stringify(v.json);
    return histogramText("hintSet" in v ? v.h : v);
  }
  return String(v);
}

/** Runs one script; returns a result per `eval` block. */
export async function runScript(
  file: string,
  text: string,
  engine: EngineUnderTest,
): Promise<CaseResult[]> {
  const lines = text.split("\n");
  const results: CaseResult[] = [];
  let store = new MemStore();
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i]!.trim();
    if (raw === "" || raw.startsWith("#")) {
      i++;
      continue;
    }
    const start = i;
    const block: string[] = [raw];
    i++;
    if (raw === "clear") {
      store = new MemStore();
      continue;
    }
    while (i < lines.length && lines[i]!.trim() !== "") {
      const l = lines[i]!.trim();
      if (!l.startsWith("#")) block.push(l);
      i++;
    }
    const head = block[0]!;
    const load = /^(load|load_with_nhcb)\s+(\S+)$/.exec(head);
    if (load) {
      loadBlock(store, block.slice(1), parseDuration(load[2]!), load[1] === "load_with_nhcb");
      await engine.loaded?.(store);
      continue;
    }
    const c = parseEval(block, start + 1);
    if (!c) {
      results.push({
        file,
        line: start + 1,
        expr: head,
        status: "skip",
        reason: `unknown command`,
      });
      continue;
    }
    const skip = c.skip ?? skipReason(c.expr);
    if (skip) {
      results.push({ file, line: c.line, expr: c.expr, status: "skip", reason: skip });
      continue;
    }
    const problem = await runCase(c, store, engine);
    results.push({
      file,
      line: c.line,
      expr: c.expr,
      status: problem ? "fail" : "pass",
      reason: problem,
    });
  }
  return results;
}

/**
 * Loads one `load` block. With `nhcb`, classic histograms (`_bucket` with a
 * numeric `le`, `_count`, `_sum`) are also converted into custom-bucket
 * native histograms under the base name, as the upstream harness does.
 */
function loadBlock(store: MemStore, lines: string[], step: number, nhcb: boolean): void {
  const classic = new Map<string, { labels: Labels; at: Map<number, ClassicHistogram> }>();
  for (const l of lines) {
    if (/^\S+@st\s/.test(l)) continue; // Start timestamps: out of scope.
    const { labels, rest } = parseSeriesLine(l);
    const values = parseSequence(rest);
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (v === undefined) continue;
      if (typeof v === "object") store.addHistogram(labels, k * step, v.h.toNative());
      else store.add(labels, k * step, v === "stale" ? STALE_NAN : v);
    }
    const name = labels.find((x) => x.name === "__name__")?.value ?? "";
    const m = /^(.*)_(bucket|count|sum)$/.exec(name);
    if (!nhcb || !m) continue;
    const le = labels.find((x) => x.name === "le")?.value;
    const bound = le === undefined ? NaN : parseNumber(le);
    if (m[2] === "bucket" && Number.isNaN(bound)) continue;
    const base = fromPairs([
      ...labels.filter((x) => x.name !== "le" && x.name !== "__name__").map((x) =>
        [x.name, x.value] as [string, string]
      ),
      ["__name__", m[1]!],
    ]);
    const key = keyOfLabels(base);
    let entry = classic.get(key);
    if (!entry) classic.set(key, entry = { labels: base, at: new Map() });
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (typeof v !== "number") continue;
      let h = entry.at.get(k * step);
      if (!h) entry.at.set(k * step, h = new ClassicHistogram());
      if (m[2] === "bucket") h.setBucket(bound, v);
      else if (m[2] === "count") h.setCount(v);
      else h.setSum(v);
    }
  }
  for (const { labels, at } of classic.values()) {
    for (const [t, h] of at) store.addHistogram(labels, t, h.toNative().toNative());
  }
}

function skipReason(expr: string): string | undefined {
  if (/\binfo\s*\(/.test(expr)) return "info() is out of scope";
  return undefined;
}

function keyOfLabels(l: Labels): string {
  return l.map((x) => `${x.name}\xff${x.value}`).join("\xff");
}

function parseEval(block: string[], line: number): EvalCase | undefined {
  const head = block[0]!;
  const m =
    /^(eval|eval_fail|eval_ordered|eval_warn|eval_info)\s+(instant\s+at\s+(\S+)|range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+))\s+(.+)$/
      .exec(head);
  if (!m) return undefined;
  const range = m[3] === undefined;
  const c: EvalCase = {
    line,
    range,
    start: parseDuration(range ? m[4]! : m[3]!),
    end: range ? parseDuration(m[5]!) : parseDuration(m[3]!),
    step: range ? parseDuration(m[6]!) : 0,
    expr: m[7]!.trim(),
    fail: m[1] === "eval_fail",
    ordered: m[1] === "eval_ordered",
    series: [],
  };
  if (m[1] === "eval_warn") c.warn = { mode: "some", msgs: [], regexes: [] };
  if (m[1] === "eval_info") c.info = { mode: "some", msgs: [], regexes: [] };
  for (const l of block.slice(1)) {
    const em = /^expected_fail_message\s+(.*)$/.exec(l);
    if (em) {
      c.failMsg = em[1]!.trim();
      continue;
    }
    const er = /^expected_fail_regexp\s+(.*)$/.exec(l);
    if (er) {
      c.failRegex = new RegExp(er[1]!.trim());
      continue;
    }
    const ex = /^expect\s+(\S+)(.*)$/.exec(l);
    if (ex) {
      const kind = ex[1]!;
      let rest = ex[2]!.trim();
      if (kind === "range") {
        c.skip = "range vector expectation";
        continue;
      }
      if (kind === "string") {
        c.str = rest.startsWith("`") ? rest.slice(1, -1) : readQuoted(rest, 0)[0];
        continue;
      }
      let msg: string | undefined;
      let regex: RegExp | undefined;
      const mm = /^(msg|regex)\s*:\s?(.*)$/.exec(rest);
      if (mm) {
        if (mm[1] === "msg") msg = mm[2]!.trim();
        else regex = new RegExp(mm[2]!.trim());
        rest = "";
      }
      switch (kind) {
        case "fail":
          c.fail = true;
          if (msg !== undefined) c.failMsg = msg;
          if (regex) c.failRegex = regex;
          break;
        case "ordered":
          c.ordered = true;
          break;
        case "warn":
        case "info": {
          const a = c[kind] ?? { mode: "some", msgs: [], regexes: [] };
          if (msg !== undefined) a.msgs.push(msg);
          if (regex) a.regexes.push(regex);
          c[kind] = a;
          break;
        }
        case "no_warn":
          c.warn = { mode: "none", msgs: [], regexes: [] };
          break;
        case "no_info":
          c.info = { mode: "none", msgs: [], regexes: [] };
          break;
        default:
          c.skip = `unknown expectation ${kind}`;
      }
      continue;
    }
    if (NUM_RE.test(l)) {
      c.scalar = parseNumber(l);
      continue;
    }
    const { labels, rest } = parseSeriesLine(l);
    c.series.push({ labels, values: parseSequence(rest) });
  }
  return c;
}

function checkAnnot(
  kind: string,
  a: Annot | undefined,
  got: string[],
  norm: (s: string) => string = (s) => s,
): string | undefined {
  if (!a) return undefined;
  if (a.mode === "none") {
    return got.length > 0 ? `unexpected ${kind}: ${got.join("; ")}` : undefined;
  }
  if (got.length === 0) return `expected ${kind} annotation, got none`;
  if (a.msgs.length === 0 && a.regexes.length === 0) return undefined;
  const matchers = [
    ...a.msgs.map((m) => (s: string) => norm(s) === norm(m)),
    ...a.regexes.map((r) => (s: string) => r.test(s)),
  ];
  for (const m of matchers) {
    if (!got.some(m)) return `expected ${kind} not found among: ${got.join("; ")}`;
  }
  for (const g of got) {
    if (!matchers.some((m) => m(g))) return `unexpected ${kind}: ${g}`;
  }
  return undefined;
}

async function runCase(
  c: EvalCase,
  store: MemStore,
  engine: EngineUnderTest,
): Promise<string | undefined> {
  let out: TestOutcome;
  try {
    out = c.range
      ? await engine.range(store, c.expr, c.start, c.end, c.step)
      : await engine.instant(store, c.expr, c.start);
  } catch (e) {
    out = { error: e instanceof Error ? e : new Error(String(e)), warnings: [], infos: [] };
  }
  if (c.fail) {
    if (!out.error) return "expected an error, got a result";
    const msg = out.error.message;
    if (c.failMsg !== undefined && msg !== c.failMsg) {
      return `error message ${JSON.stringify(msg)}, expected ${JSON.stringify(c.failMsg)}`;
    }
    if (c.failRegex && !c.failRegex.test(msg)) {
      return `error message ${JSON.stringify(msg)} does not match ${c.failRegex}`;
    }
    return undefined;
  }
  if (out.error) return `unexpected error: ${out.error.message}`;
  const v = out.value!;
  const norm = engine.annotation;
  const ann = checkAnnot("warning", c.warn, out.warnings, norm) ??
    checkAnnot("info", c.info, out.infos, norm);
  const diff = c.range ? compareRange(c, v) : compareInstant(c, v);
  return diff ?? ann ?? await rangeCheck(c, v, store, engine);
}

/**
 * As the upstream harness does, runs an instant eval again as a range query
 * from t-1m to t+1m at 1m steps and compares the middle step.
 */
async function rangeCheck(
  c: EvalCase,
  v: TestValue,
  store: MemStore,
  engine: EngineUnderTest,
): Promise<string | undefined> {
  if (c.range || c.ordered || c.str !== undefined || v.type === "matrix" || v.type === "string") {
    return undefined;
  }
  if (/\b(start|end|range|step)\s*\(\s*\)/.test(c.expr)) return undefined;
  let out: TestOutcome;
  try {
    out = await engine.range(store, c.expr, c.start - 60_000, c.start + 60_000, 60_000);
  } catch (e) {
    return `range-query check: ${e instanceof Error ? e.message : e}`;
  }
  if (out.error) return `range-query check: unexpected error: ${out.error.message}`;
  if (out.value?.type !== "matrix") return `range-query check: got ${out.value?.type}`;
  const samples: TestSample[] = [];
  for (const s of out.value.series) {
    for (let i = 0; i < s.t.length; i++) {
      if (s.t[i] === c.start) samples.push({ labels: s.labels, v: s.v[i]! });
    }
    const h = s.histograms;
    for (let i = 0; i < (h?.t.length ?? 0); i++) {
      if (h!.t[i] === c.start) samples.push({ labels: s.labels, v: 0, h: h!.h[i]! });
    }
  }
  const asValue: TestValue = c.scalar !== undefined && samples.length === 1
    ? { type: "scalar", v: samples[0]!.v }
    : { type: "vector", samples };
  const diff = compareInstant(c, asValue);
  return diff === undefined ? undefined : `range-query check: ${diff}`;
}

function compareRange(c: EvalCase, v: TestValue): string | undefined {
  if (v.type !== "matrix") return `expected a matrix, got ${v.type}`;
  const steps = Math.floor((c.end - c.start) / c.step) + 1;
  const got = v.series;
  for (let k = 1; k < got.length; k++) {
    if (compareLabels(got[k - 1]!.labels, got[k]!.labels) >= 0) {
      return "matrix is not sorted by labels";
    }
  }
  const exp = [...c.series].sort((a, b) => compareLabels(a.labels, b.labels));
  const nonEmpty = exp.filter((e) => e.values.some((x) => x !== undefined));
  if (got.length !== nonEmpty.length) {
    return `expected ${nonEmpty.length} series, got ${got.length}: ${
      got.map((s) => formatSeries(s.labels)).join(", ")
    }`;
  }
  for (let k = 0; k < got.length; k++) {
    const g = got[k]!, e = nonEmpty[k]!;
    if (compareLabels(g.labels, e.labels) !== 0) {
      return `expected series ${formatSeries(e.labels)}, got ${formatSeries(g.labels)}`;
    }
    const want: SeqItem[] = new Array(steps).fill(undefined);
    for (let s = 0; s < e.values.length && s < steps; s++) want[s] = e.values[s];
    const have: (number | "stale" | TestHistogram | undefined)[] = new Array(steps).fill(
      undefined,
    );
    const points: [number, number | "stale" | TestHistogram][] = [];
    for (let p = 0; p < g.t.length; p++) {
      points.push([g.t[p]!, isStaleNaN(g.v[p]!) ? "stale" : g.v[p]!]);
    }
    const gh = g.histograms;
    for (let p = 0; p < (gh?.t.length ?? 0); p++) points.push([gh!.t[p]!, gh!.h[p]!]);
    for (const [t, value] of points) {
      const s = (t - c.start) / c.step;
      if (!Number.isInteger(s) || s < 0 || s >= steps) return `point at unexpected time ${t}`;
      if (have[s] !== undefined) return `two points at time ${t}`;
      have[s] = value;
    }
    for (let s = 0; s < steps; s++) {
      const a = want[s], b = have[s];
      if ((a === undefined) !== (b === undefined) || (a !== undefined && !itemMatches(a, b!))) {
        return `${formatSeries(e.labels)}: expected ${want.map(fmtNum).join(" ")}, got ${
          have.map(fmtNum).join(" ")
        }`;
      }
    }
  }
  return undefined;
}

function compareInstant(c: EvalCase, v: TestValue): string | undefined {
  if (c.str !== undefined) {
    if (v.type !== "string") return `expected a string, got ${v.type}`;
    return v.v === c.str
      ? undefined
      : `expected string ${JSON.stringify(c.str)}, got ${JSON.stringify(v.v)}`;
  }
  if (c.scalar !== undefined) {
    if (v.type !== "scalar") return `expected scalar ${c.scalar}, got ${v.type}`;
    return almostEqual(v.v, c.scalar) ? undefined : `expected scalar ${c.scalar}, got ${v.v}`;
  }
  if (v.type === "scalar" || v.type === "string") {
    return `expected a vector, got ${v.type} ${v.v}`;
  }
  if (v.type === "matrix") {
    if (c.series.length === 0 && v.series.length === 0) return undefined;
    return "received a range result on instant evaluation";
  }
  const got = v.samples;
  const show = (s: TestSample) => `${formatSeries(s.labels)} ${fmtNum(s.h ?? s.v)}`;
  if (got.length !== c.series.length) {
    return `expected ${c.series.length} samples, got ${got.length}: ${got.map(show).join(", ")}`;
  }
  const used = new Set<number>();
  for (let k = 0; k < c.series.length; k++) {
    const e = c.series[k]!;
    if (e.values.length !== 1) return `expected one value per series for ${formatSeries(e.labels)}`;
    const idx = got.findIndex((g, j) => !used.has(j) && compareLabels(g.labels, e.labels) === 0);
    if (idx < 0) {
      return `missing ${formatSeries(e.labels)}; got ${got.map(show).join(", ")}`;
    }
    if (c.ordered && idx !== k) {
      return `${formatSeries(e.labels)} at position ${idx}, expected ${k}`;
    }
    used.add(idx);
    const g = got[idx]!;
    if (!itemMatches(e.values[0], g.h ?? (isStaleNaN(g.v) ? "stale" : g.v))) {
      return `${formatSeries(e.labels)}: expected ${fmtNum(e.values[0])}, got ${
        fmtNum(g.h ?? g.v)
      }`;
    }
  }
  return undefined;
}
