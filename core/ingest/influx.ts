/**
 * InfluxDB line protocol parser (pure: text → rows + problems).
 *
 * `measurement[,tag=value…] field=value[,field=value…] [timestamp]`
 *
 * Mapping to Perch's model (as VictoriaMetrics does by default):
 * - every numeric field becomes the series `<measurement>_<field>`, also a
 *   field named `value` (`temp value=1` → `temp_value`);
 * - tags become labels;
 * - metric and label names are sanitized to Prometheus names: characters
 *   outside `[a-zA-Z0-9_:]` (`[a-zA-Z0-9_]` for labels) become `_`, a leading
 *   digit gets a `_` prefix (`cpu.load-1` → `cpu_load_1`);
 * - floats as is; integers `12i`, unsigned `12u`; booleans `t`/`true`/…
 *   become 1 and `f`/`false`/… 0; string fields are refused one by one (the
 *   other fields of the line are kept); NaN/Inf are refused (Influx has none);
 * - the timestamp is an integer in `precision` units (default ns) and is
 *   truncated to ms; a missing timestamp means `now`.
 *
 * Escaping: in the measurement, tag keys, tag values and field keys a
 * backslash before `,`, `=` or space makes it literal; any other backslash
 * stays as is. String field values may hold `\"` and `\\`. Lines starting
 * with `#` are comments. A newline always ends a line (as in VictoriaMetrics).
 *
 * A syntax error refuses the whole line; a bad field value refuses only that
 * field.
 *
 * @module
 */
import { ParsedRows } from "./rows.ts";
import {
  integerTextToMs,
  isIntegerText,
  parseNumber,
  sanitizeLabelName,
  sanitizeMetricName,
} from "./_util.ts";

/** Timestamp precision of line protocol input. */
export type InfluxPrecision = "ns" | "us" | "ms" | "s" | "m" | "h";

/** Options for {@linkcode parseInfluxLines}. */
export interface InfluxParseOptions {
  /** Unit of the timestamps. @default {"ns"} */
  readonly precision?: InfluxPrecision;
  /** Timestamp (ms) for lines without one. */
  readonly now: number;
}

/**
 * Maps an InfluxDB `precision` query parameter (v1: `n`, `ns`, `u`, `us`,
 * `µ`, `ms`, `s`, `m`, `h`; v2: `ns`, `us`, `ms`, `s`) to a precision, or
 * undefined when unknown. An empty value means ns.
 */
export function influxPrecision(param: string | null | undefined): InfluxPrecision | undefined {
  switch (param ?? "") {
    case "":
    case "n":
    case "ns":
      return "ns";
    case "u":
    case "us":
    case "µ":
    case "µs":
      return "us";
    case "ms":
      return "ms";
    case "s":
      return "s";
    case "m":
      return "m";
    case "h":
      return "h";
  }
  return undefined;
}

const DROP_DIGITS: Record<InfluxPrecision, number> = { ns: 6, us: 3, ms: 0, s: 0, m: 0, h: 0 };
const MULTIPLIER: Record<InfluxPrecision, number> = {
  ns: 1,
  us: 1,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const BACKSLASH = 92, COMMA = 44, SPACE = 32, EQUALS = 61, QUOTE = 34, HASH = 35, TAB = 9, CR = 13;

/** Parses line protocol into rows; never throws on bad input. */
export function parseInfluxLines(text: string, options: InfluxParseOptions): ParsedRows {
  const rows = new ParsedRows();
  const precision = options.precision ?? "ns";
  const p = new LineParser(text, rows, DROP_DIGITS[precision], MULTIPLIER[precision], options.now);
  let start = 0, lineNo = 0;
  const n = text.length;
  while (start <= n) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = n;
    lineNo++;
    let s = start, e = end;
    while (s < e && (text.charCodeAt(s) === SPACE || text.charCodeAt(s) === TAB)) s++;
    while (e > s && (text.charCodeAt(e - 1) === CR || text.charCodeAt(e - 1) === SPACE)) e--;
    if (s < e && text.charCodeAt(s) !== HASH) p.parseLine(s, e, lineNo);
    start = end + 1;
  }
  return rows;
}

/** Unescapes `\,`, `\=`, `\ ` (other backslashes stay). */
function unescapeKey(s: string): string {
  let out = "";
  let last = 0;
  for (let i = 0; i < s.length - 1; i++) {
    if (s.charCodeAt(i) !== BACKSLASH) continue;
    const c = s.charCodeAt(i + 1);
    if (c === COMMA || c === EQUALS || c === SPACE) {
      out += s.slice(last, i);
      last = i + 1;
      i++;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

/**
 * Parsed series keys (measurement + tags text) and field names, shared by
 * all requests: agents send the same series again and again. The label
 * arrays are shared, so nobody may change them. Cleared when full.
 */
const seriesCache = new Map<string, { prefix: string; labels: string[] }>();
const fieldNames = new Map<string, string>();
const SERIES_CACHE_MAX = 50_000;

class LineParser {
  // Scratch space for the fields of one line, reused across lines.
  #fieldKeys: string[] = [];
  #fieldValues: number[] = [];

  constructor(
    readonly text: string,
    readonly rows: ParsedRows,
    readonly dropDigits: number,
    readonly mul: number,
    readonly now: number,
  ) {}

  /** Refuses a whole line; it counts as one rejected sample (at least one was lost). */
  #lineError(s: number, e: number, line: number, message: string): void {
    this.rows.addError(`line ${line}`, this.text.slice(s, e), message, line);
    this.rows.invalidSamples++;
  }

  /** Scans a key or tag value from i until an unescaped stop char; returns the end. */
  #scan(i: number, e: number, stopEquals: boolean): number {
    const t = this.text;
    while (i < e) {
      const c = t.charCodeAt(i);
      if (c === BACKSLASH && i + 1 < e) {
        i += 2;
        continue;
      }
      if (c === COMMA || c === SPACE || (stopEquals && c === EQUALS)) break;
      i++;
    }
    return i;
  }

  parseLine(s: number, e: number, line: number): void {
    const t = this.text;
    // Measurement.
    let i = this.#scan(s, e, false);
    if (i === s) return this.#lineError(s, e, line, "missing measurement");
    const mEnd = i;
    // Series key (measurement and tags) seen before: reuse its parse.
    let keyEnd = mEnd;
    while (keyEnd < e && t.charCodeAt(keyEnd) !== SPACE) {
      keyEnd += t.charCodeAt(keyEnd) === BACKSLASH ? 2 : 1;
    }
    if (keyEnd > e) keyEnd = e;
    const seriesKey = t.slice(s, keyEnd);
    const known = seriesCache.get(seriesKey);
    if (known !== undefined) {
      this.#fields(s, e, line, keyEnd, seriesKey, known.prefix, known.labels);
      return;
    }
    const measurement = unescapeKey(t.slice(s, mEnd));
    const labels: string[] = [];
    // Tags.
    while (i < e && t.charCodeAt(i) === COMMA) {
      const ks = i + 1;
      const ke = this.#scan(ks, e, true);
      if (ke === ks) return this.#lineError(s, e, line, `empty tag key at column ${ks - s + 1}`);
      const key = unescapeKey(t.slice(ks, ke));
      if (ke >= e || t.charCodeAt(ke) !== EQUALS) {
        return this.#lineError(s, e, line, `missing "=" after tag key "${key}"`);
      }
      const vs = ke + 1;
      const ve = this.#scan(vs, e, false);
      if (ve === vs) return this.#lineError(s, e, line, `missing value of tag "${key}"`);
      labels.push(sanitizeLabelName(key), unescapeKey(t.slice(vs, ve)));
      i = ve;
    }
    if (i !== keyEnd) throw new Error("BUG: influx series key scan disagrees with tag parse");
    const prefix = sanitizeMetricName(measurement) + "_";
    if (seriesCache.size >= SERIES_CACHE_MAX) seriesCache.clear();
    seriesCache.set(seriesKey, { prefix, labels });
    this.#fields(s, e, line, keyEnd, seriesKey, prefix, labels);
  }

  #fields(
    s: number,
    e: number,
    line: number,
    keyEnd: number,
    seriesKey: string,
    prefix: string,
    labels: string[],
  ): void {
    const t = this.text;
    let i = keyEnd;
    if (i >= e) return this.#lineError(s, e, line, "missing fields");
    while (i < e && t.charCodeAt(i) === SPACE) i++;
    if (i >= e) return this.#lineError(s, e, line, "missing fields");
    // Fields.
    const keys = this.#fieldKeys, values = this.#fieldValues;
    keys.length = 0;
    values.length = 0;
    let firstKeyEnd = -1;
    for (;;) {
      const ks = i;
      const ke = this.#scan(ks, e, true);
      if (firstKeyEnd < 0) firstKeyEnd = ke;
      if (ke === ks) return this.#lineError(s, e, line, `empty field key at column ${ks - s + 1}`);
      const rawKey = t.slice(ks, ke);
      if (ke >= e || t.charCodeAt(ke) !== EQUALS) {
        return this.#lineError(s, e, line, `missing "=" after field key "${unescapeKey(rawKey)}"`);
      }
      let vs = ke + 1;
      let ve: number;
      if (vs < e && t.charCodeAt(vs) === QUOTE) {
        ve = vs + 1;
        while (ve < e) {
          const c = t.charCodeAt(ve);
          if (c === BACKSLASH) ve += 2;
          else if (c === QUOTE) break;
          else ve++;
        }
        if (ve >= e) {
          return this.#lineError(
            s,
            e,
            line,
            `unterminated string value of field "${unescapeKey(rawKey)}"`,
          );
        }
        ve++;
        keys.push(rawKey);
        values.push(STRING_FIELD);
        vs = ve;
      } else {
        ve = vs;
        while (ve < e) {
          const c = t.charCodeAt(ve);
          if (c === COMMA || c === SPACE) break;
          ve++;
        }
        if (ve === vs) {
          return this.#lineError(s, e, line, `missing value of field "${unescapeKey(rawKey)}"`);
        }
        keys.push(rawKey);
        values.push(fieldValue(t.slice(vs, ve)));
      }
      i = ve;
      if (i < e && t.charCodeAt(i) === COMMA) {
        i++;
        continue;
      }
      break;
    }
    // Timestamp.
    while (i < e && t.charCodeAt(i) === SPACE) i++;
    let ts = this.now;
    if (i < e) {
      const tsStart = i;
      while (i < e && t.charCodeAt(i) !== SPACE) i++;
      const tsText = t.slice(tsStart, i);
      while (i < e && t.charCodeAt(i) === SPACE) i++;
      if (i < e) {
        return this.#lineError(
          s,
          e,
          line,
          `unexpected text after the timestamp at column ${i - s + 1}`,
        );
      }
      if (!isIntegerText(tsText)) {
        this.rows.invalidSamples += keys.length;
        return this.rows.addError(
          `line ${line} timestamp`,
          tsText,
          "timestamp must be an integer",
          line,
        );
      }
      ts = integerTextToMs(tsText, this.dropDigits, this.mul);
      if (!Number.isSafeInteger(ts)) {
        this.rows.invalidSamples += keys.length;
        return this.rows.addError(
          `line ${line} timestamp`,
          tsText,
          "timestamp is out of range",
          line,
        );
      }
    }
    // Emit one series per valid field.
    for (let f = 0; f < keys.length; f++) {
      const v = values[f]!;
      const rawKey = keys[f]!;
      if (v !== v || v === STRING_FIELD) {
        const key = unescapeKey(rawKey);
        this.rows.addError(
          `line ${line} field "${key}"`,
          key,
          v === STRING_FIELD
            ? "string field values are not supported, only numbers and booleans"
            : "field value must be a finite number, an integer (1i), an unsigned (1u) or a boolean",
          line,
        );
        this.rows.invalidSamples++;
        continue;
      }
      let suffix = fieldNames.get(rawKey);
      if (suffix === undefined) {
        suffix = sanitizeLabelName(unescapeKey(rawKey));
        if (fieldNames.size >= SERIES_CACHE_MAX) fieldNames.clear();
        fieldNames.set(rawKey, suffix);
      }
      const name = prefix + suffix;
      // The first field's raw key is one slice of the line (series key,
      // spaces, field key): unique per series and cheaper than a concat.
      const key = f === 0 ? t.slice(s, firstKeyEnd) : seriesKey + " " + rawKey;
      const j = this.rows.addSeries(name, labels, key, "", line);
      this.rows.addSample(j, ts, v);
    }
  }
}

/** Marker for a string field (Infinity never comes out of fieldValue). */
const STRING_FIELD = Infinity;

/** The number a field value stands for, or NaN when it is invalid. */
function fieldValue(s: string): number {
  const n = s.length;
  const last = s.charCodeAt(n - 1);
  if (last === 105 /* i */) {
    const d = s.slice(0, n - 1);
    return isIntegerText(d) ? Number(d) : NaN;
  }
  if (last === 117 /* u */) {
    const d = s.slice(0, n - 1);
    return isIntegerText(d) && d.charCodeAt(0) !== 45 && d.charCodeAt(0) !== 43 ? Number(d) : NaN;
  }
  switch (s) {
    case "t":
    case "T":
    case "true":
    case "True":
    case "TRUE":
      return 1;
    case "f":
    case "F":
    case "false":
    case "False":
    case "FALSE":
      return 0;
  }
  const v = parseNumber(s);
  if (v === undefined || !Number.isFinite(v)) return NaN;
  return v;
}
