/**
 * Prometheus text exposition format (0.0.4) and OpenMetrics 1.0 parser
 * (pure: text -> rows + problems).
 *
 * - `name{label="value",...} value [timestamp] [# exemplar]`; the name may also
 *   be quoted inside the braces (`{"my.metric",a="b"}`) as Prometheus 3
 *   allows, and `__name__` may be given as a label.
 * - Label values take the escapes `\\`, `\"` and `\n`; any other backslash
 *   stays as is. A trailing comma inside braces is fine.
 * - Values: decimal floats, `NaN`, `+Inf`, `-Inf` (case-insensitive).
 * - Timestamps: integer milliseconds in the Prometheus format; seconds (with
 *   a fraction) in OpenMetrics. OpenMetrics is chosen by the `openMetrics`
 *   option (from the Content-Type), or detected when the body ends with
 *   `# EOF`. Missing timestamp -> `now`.
 * - `# TYPE`, `# HELP` and `# UNIT` become metadata per family name.
 *   OpenMetrics types map to Perch's: `unknown` -> untyped,
 *   `gaugehistogram` -> histogram, `info`/`stateset` -> gauge.
 * - Exemplars are skipped; content after `# EOF` is an error.
 *
 * @module
 */
import type { MetricType } from "../model/mod.ts";
import { ParsedRows } from "./rows.ts";
import { detach, isIntegerText, parseNumber } from "./_util.ts";

/** Options for {@linkcode parsePrometheusText}. */
export interface PrometheusTextOptions {
  /** Timestamp (ms) for samples without one. */
  readonly now: number;
  /**
   * True for OpenMetrics (timestamps in seconds). When undefined, OpenMetrics
   * is assumed if the text ends with a `# EOF` line.
   */
  readonly openMetrics?: boolean;
}

const SPACE = 32, TAB = 9, CR = 13, HASH = 35, LBRACE = 123, RBRACE = 125, QUOTE = 34;
const EQUALS = 61, COMMA = 44, BACKSLASH = 92;

const TYPES: Record<string, MetricType> = {
  counter: "counter",
  gauge: "gauge",
  histogram: "histogram",
  summary: "summary",
  untyped: "untyped",
  unknown: "untyped",
  gaugehistogram: "histogram",
  info: "gauge",
  stateset: "gauge",
};

/** True when the text's last non-blank line is `# EOF`. */
export function endsWithEof(text: string): boolean {
  let e = text.length;
  while (e > 0) {
    const c = text.charCodeAt(e - 1);
    if (c !== SPACE && c !== TAB && c !== CR && c !== 10) break;
    e--;
  }
  return e >= 5 && text.slice(e - 5, e) === "# EOF" && (e === 5 || text.charCodeAt(e - 6) === 10);
}

/** Parses Prometheus text or OpenMetrics into rows; never throws on bad input. */
export function parsePrometheusText(text: string, options: PrometheusTextOptions): ParsedRows {
  const rows = new ParsedRows();
  const om = options.openMetrics ?? endsWithEof(text);
  const p = new TextParser(text, rows, options.now, om);
  const n = text.length;
  let start = 0, lineNo = 0;
  while (start <= n) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = n;
    lineNo++;
    let s = start, e = end;
    while (s < e && (text.charCodeAt(s) === SPACE || text.charCodeAt(s) === TAB)) s++;
    while (e > s) {
      const c = text.charCodeAt(e - 1);
      if (c !== CR && c !== SPACE && c !== TAB) break;
      e--;
    }
    if (s < e) {
      if (p.eof) {
        rows.addError(`line ${lineNo}`, text.slice(s, e), "unexpected content after # EOF", lineNo);
        break;
      }
      if (text.charCodeAt(s) === HASH) p.comment(s, e, lineNo);
      else p.sample(s, e, lineNo);
    }
    start = end + 1;
  }
  return rows;
}

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

/** Unescapes a label value or quoted name: `\\`, `\"`, `\n`. */
function unescapeValue(s: string): string {
  let out = "";
  let last = 0;
  for (let i = 0; i < s.length - 1; i++) {
    if (s.charCodeAt(i) !== BACKSLASH) continue;
    const c = s.charCodeAt(i + 1);
    if (c === BACKSLASH || c === QUOTE || c === 110 /* n */) {
      out += s.slice(last, i) + (c === 110 ? "\n" : s[i + 1]);
      last = i + 2;
      i++;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

/** Unescapes HELP text: `\\` and `\n`. */
function unescapeHelp(s: string): string {
  if (s.indexOf("\\") < 0) return s;
  return s.replace(/\\([\\n])/g, (_m, c: string) => c === "n" ? "\n" : "\\");
}

/** A parsed series, shared by all requests. */
interface PromSeries {
  readonly name: string;
  /** Label pairs; shared, so nobody may change them. */
  readonly labels: string[];
  /** The series text, the pipeline's cache key. */
  readonly key: string;
  /** Parse call that last added this series to its rows, and its index there. */
  epoch: number;
  j: number;
}

/**
 * Parsed series by their text (`name{labels}` as written): targets expose
 * the same series at every scrape. Cleared when full.
 */
const seriesCache = new Map<string, PromSeries>();
const SERIES_CACHE_MAX = 100_000;
/** Counts parse calls, so a series is added once per request. */
let parseEpoch = 0;

/**
 * Where the series text of a sample line starting at s ends, found quickly:
 * after the name when no `{` follows, else after the `}` closing the labels
 * (skipping quoted strings). -1 when there is no such end. Only used as a
 * cache key; the full parse decides what is valid.
 */
function seriesTextEnd(t: string, s: number, e: number): number {
  let i = s;
  let c = 0;
  while (i < e) {
    c = t.charCodeAt(i);
    if (c === LBRACE || c === SPACE || c === TAB) break;
    i++;
  }
  if (i >= e) return -1;
  if (c !== LBRACE) return i;
  for (i++; i < e; i++) {
    c = t.charCodeAt(i);
    if (c === RBRACE) return i + 1;
    if (c !== QUOTE) continue;
    for (i++; i < e; i++) {
      c = t.charCodeAt(i);
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) break;
    }
  }
  return -1;
}

class SyntaxProblem {
  constructor(readonly message: string) {}
}

class TextParser {
  eof = false;
  // Position after the last quoted string read.
  #pos = 0;
  // Results of #parseSeries.
  #name = "";
  #labels: string[] = EMPTY;
  readonly #epoch = ++parseEpoch;

  constructor(
    readonly text: string,
    readonly rows: ParsedRows,
    readonly now: number,
    readonly openMetrics: boolean,
  ) {}

  /** Reads a quoted string starting at i (on the quote); sets #pos after it. */
  #quoted(i: number, e: number): string | SyntaxProblem {
    const t = this.text;
    const qs = i + 1;
    let j = qs;
    let esc = false;
    while (j < e) {
      const c = t.charCodeAt(j);
      if (c === BACKSLASH) {
        esc = true;
        j += 2;
        continue;
      }
      if (c === QUOTE) break;
      j++;
    }
    if (j >= e) return new SyntaxProblem(`unterminated quoted string at column ${i + 1}`);
    this.#pos = j + 1;
    const raw = t.slice(qs, j);
    return esc ? unescapeValue(raw) : raw;
  }

  comment(s: number, e: number, line: number): void {
    const t = this.text;
    let i = s + 1;
    while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
    const ws = i;
    while (i < e && t.charCodeAt(i) !== SPACE && t.charCodeAt(i) !== TAB) i++;
    const word = t.slice(ws, i);
    if (word === "EOF") {
      if (i === e) this.eof = true;
      return;
    }
    if (word !== "HELP" && word !== "TYPE" && word !== "UNIT") return; // plain comment
    while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
    let name: string;
    if (i < e && t.charCodeAt(i) === QUOTE) {
      const r = this.#quoted(i, e);
      if (r instanceof SyntaxProblem) return this.#err(s, e, line, r.message);
      name = r;
      i = this.#pos;
    } else {
      const ns = i;
      while (i < e && t.charCodeAt(i) !== SPACE && t.charCodeAt(i) !== TAB) i++;
      name = t.slice(ns, i);
    }
    if (name === "") return this.#err(s, e, line, `missing metric name after # ${word}`);
    while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
    const rest = t.slice(i, e);
    const old = this.rows.metadata.get(name) ??
      { type: "untyped" as MetricType, help: "", unit: "" };
    if (word === "TYPE") {
      const type = TYPES[rest];
      if (type === undefined) {
        return this.rows.addError(`line ${line} type`, rest, `unknown metric type "${rest}"`, line);
      }
      this.rows.metadata.set(name, { ...old, type });
    } else if (word === "HELP") {
      this.rows.metadata.set(name, { ...old, help: unescapeHelp(rest) });
    } else {
      this.rows.metadata.set(name, { ...old, unit: rest });
    }
  }

  #err(s: number, e: number, line: number, message: string): void {
    this.rows.addError(`line ${line}`, this.text.slice(s, e), message, line);
    this.rows.invalidSamples++;
  }

  /**
   * Parses the metric name and labels of a sample line from s; sets
   * {@linkcode #name} and {@linkcode #labels} and returns where they end, or
   * -1 after reporting the line.
   */
  #parseSeries(s: number, e: number, line: number): number {
    const t = this.text;
    let i = s;
    let name = "";
    if (isNameStart(t.charCodeAt(i))) {
      i++;
      while (i < e && isNameChar(t.charCodeAt(i))) i++;
      name = t.slice(s, i);
      if (i < e) {
        const c = t.charCodeAt(i);
        if (c !== LBRACE && c !== SPACE && c !== TAB) {
          return this.#fail(s, e, line, `invalid character ${JSON.stringify(t[i])} in metric name`);
        }
      }
    } else if (t.charCodeAt(i) !== LBRACE) {
      return this.#fail(s, e, line, `invalid character ${JSON.stringify(t[i])} at line start`);
    }
    let labels: string[] = EMPTY;
    if (i < e && t.charCodeAt(i) === LBRACE) {
      labels = [];
      i++;
      for (;;) {
        while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
        if (i >= e) return this.#fail(s, e, line, "missing } after labels");
        let c = t.charCodeAt(i);
        if (c === RBRACE) {
          i++;
          break;
        }
        let lname: string;
        const col = i - s + 1;
        if (c === QUOTE) {
          const r = this.#quoted(i, e);
          if (r instanceof SyntaxProblem) return this.#fail(s, e, line, r.message);
          lname = r;
          i = this.#pos;
        } else if (isNameStart(c) && c !== 58) {
          const ls = i;
          i++;
          while (i < e && isNameChar(t.charCodeAt(i)) && t.charCodeAt(i) !== 58) i++;
          lname = t.slice(ls, i);
        } else {
          return this.#fail(s, e, line, `invalid label name at column ${col}`);
        }
        while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
        c = i < e ? t.charCodeAt(i) : -1;
        if (c === COMMA || c === RBRACE) {
          // A quoted string without "=": the metric name (Prometheus 3 syntax).
          if (t.charCodeAt(s + col - 1) !== QUOTE) {
            return this.#fail(s, e, line, `missing "=" after label name "${lname}"`);
          }
          if (name !== "") return this.#fail(s, e, line, "metric name given twice");
          name = lname;
          if (c === COMMA) i++;
          continue;
        }
        if (c !== EQUALS) return this.#fail(s, e, line, `missing "=" after label name "${lname}"`);
        i++;
        while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
        if (i >= e || t.charCodeAt(i) !== QUOTE) {
          return this.#fail(s, e, line, `label value of "${lname}" must be quoted`);
        }
        const r = this.#quoted(i, e);
        if (r instanceof SyntaxProblem) return this.#fail(s, e, line, r.message);
        i = this.#pos;
        if (lname === "__name__") {
          if (name !== "") return this.#fail(s, e, line, "metric name given twice");
          name = r;
        } else {
          for (let k = 0; k < labels.length; k += 2) {
            if (labels[k] === lname) {
              return this.#fail(s, e, line, `duplicate label "${lname}"`);
            }
          }
          labels.push(lname, r);
        }
        while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
        c = i < e ? t.charCodeAt(i) : -1;
        if (c === COMMA) {
          i++;
          continue;
        }
        if (c === RBRACE) {
          i++;
          break;
        }
        return this.#fail(s, e, line, `expected "," or "}" at column ${i - s + 1}`);
      }
    }
    if (name === "") return this.#fail(s, e, line, "missing metric name");
    this.#name = name;
    this.#labels = labels;
    return i;
  }

  #fail(s: number, e: number, line: number, message: string): number {
    this.#err(s, e, line, message);
    return -1;
  }

  sample(s: number, e: number, line: number): void {
    const t = this.text;
    // A series seen before (same text) costs one lookup.
    const quickEnd = seriesTextEnd(t, s, e);
    const rawKey = quickEnd > s ? t.slice(s, quickEnd) : "";
    let series = rawKey === "" ? undefined : seriesCache.get(rawKey);
    let i: number;
    if (series !== undefined) i = quickEnd;
    else {
      i = this.#parseSeries(s, e, line);
      if (i < 0) return;
      const key = detach(t.slice(s, i));
      series = { name: detach(this.#name), labels: this.#labels.map(detach), key, epoch: 0, j: 0 };
      if (i === quickEnd) {
        if (seriesCache.size >= SERIES_CACHE_MAX) seriesCache.clear();
        seriesCache.set(key, series);
      }
    }
    // Value.
    if (i >= e) return this.#err(s, e, line, "missing value");
    if (t.charCodeAt(i) !== SPACE && t.charCodeAt(i) !== TAB) {
      return this.#err(s, e, line, `expected a space before the value at column ${i - s + 1}`);
    }
    while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
    const vs = i;
    while (i < e && t.charCodeAt(i) !== SPACE && t.charCodeAt(i) !== TAB) i++;
    const vText = t.slice(vs, i);
    const v = parseNumber(vText);
    if (v === undefined) {
      this.rows.addError(
        `line ${line} value`,
        vText,
        "value must be a number, NaN, +Inf or -Inf",
        line,
      );
      this.rows.invalidSamples++;
      return;
    }
    // Timestamp and exemplar.
    while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
    let ts = this.now;
    if (i < e && t.charCodeAt(i) !== HASH) {
      const ts0 = i;
      while (i < e && t.charCodeAt(i) !== SPACE && t.charCodeAt(i) !== TAB) i++;
      const tsText = t.slice(ts0, i);
      if (this.openMetrics) {
        const sec = parseNumber(tsText);
        if (sec === undefined || !Number.isFinite(sec)) {
          this.rows.addError(
            `line ${line} timestamp`,
            tsText,
            "timestamp must be a number of seconds",
            line,
          );
          this.rows.invalidSamples++;
          return;
        }
        ts = Math.round(sec * 1000);
      } else {
        if (!isIntegerText(tsText)) {
          this.rows.addError(
            `line ${line} timestamp`,
            tsText,
            "timestamp must be integer milliseconds",
            line,
          );
          this.rows.invalidSamples++;
          return;
        }
        ts = Number(tsText);
      }
      if (!Number.isSafeInteger(ts)) {
        this.rows.addError(`line ${line} timestamp`, tsText, "timestamp is out of range", line);
        this.rows.invalidSamples++;
        return;
      }
      while (i < e && (t.charCodeAt(i) === SPACE || t.charCodeAt(i) === TAB)) i++;
    }
    if (i < e && t.charCodeAt(i) !== HASH) {
      return this.#err(s, e, line, `unexpected text at column ${i - s + 1}`);
    }
    // Anything after "#" is an exemplar: skipped.
    if (series.epoch !== this.#epoch) {
      series.epoch = this.#epoch;
      series.j = this.rows.addSeries(series.name, series.labels, series.key, "", line);
    }
    this.rows.addSample(series.j, ts, v, line);
  }
}

const EMPTY: string[] = [];
