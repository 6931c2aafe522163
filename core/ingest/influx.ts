/**
 * InfluxDB line protocol parser (pure: text -> rows + problems).
 *
 * `measurement[,tag=value...] field=value[,field=value...] [timestamp]`
 *
 * Mapping to Perch's model (as VictoriaMetrics does by default):
 * - every numeric field becomes the series `<measurement>_<field>`, also a
 *   field named `value` (`temp value=1` -> `temp_value`);
 * - tags become labels;
 * - metric and label names are sanitized to Prometheus names: characters
 *   outside `[a-zA-Z0-9_:]` (`[a-zA-Z0-9_]` for labels) become `_`, a leading
 *   digit gets a `_` prefix (`cpu.load-1` -> `cpu_load_1`);
 * - floats as is; integers `12i`, unsigned `12u`; booleans `t`/`true`/...
 *   become 1 and `f`/`false`/... 0; string fields are refused one by one (the
 *   other fields of the line are kept); NaN/Inf are refused (Influx has none);
 * - the timestamp is an integer in `precision` units (default ns) and is
 *   truncated to ms; a missing timestamp means `now`.
 *
 * Escaping: in the measurement, tag keys, tag values and field keys a
 * backslash before `,`, `=` or space makes it literal; any other backslash
 * stays as is. String field values may hold `\"` and `\\`. Lines starting
 * with `#` are comments. A newline always ends a line (as in VictoriaMetrics).
 *
 * A syntax error refuses the whole line (counted as one rejected sample); a
 * bad field value refuses only that field.
 *
 * Speed: parsed series keys are cached across requests (see `seriesCache`),
 * each series is listed once per request (at its first line; every sample
 * keeps its own line in `sampleLine`), and plain decimals and timestamps are
 * read without slicing the text.
 *
 * @module
 */
import { ParsedRows } from "./rows.ts";
import {
  detach,
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

/** One `<measurement>_<field>` series of a series key, shared by all requests. */
interface FieldSeries {
  /** The field key as written (escapes kept). */
  readonly raw: string;
  /** Metric name. */
  readonly name: string;
  /** Raw key for the pipeline's cache: series key text, a space, raw field key. */
  readonly key: string;
  /** Parse call that last added this series to its rows, and its index there. */
  epoch: number;
  j: number;
}

/** A parsed series key (measurement and tags), shared by all requests. */
interface SeriesKeyEntry {
  readonly prefix: string;
  /** Label pairs; shared, so nobody may change them. */
  readonly labels: string[];
  /** Series by raw field key. */
  readonly fields: Map<string, FieldSeries>;
  /**
   * The field series last seen at each position of a line: agents write
   * fields in a stable order, so a field is usually found by comparing its
   * text here, with no slice and no map lookup.
   */
  readonly order: FieldSeries[];
}

/** Fields per line whose position is remembered in `SeriesKeyEntry.order`. */
const ORDER_MAX = 64;

/**
 * Parsed series keys by their raw text: agents send the same series again
 * and again, so a known series costs one lookup for its key and one per
 * field. Cleared when full.
 */
const seriesCache = new Map<string, SeriesKeyEntry>();
const SERIES_CACHE_MAX = 50_000;
const FIELDS_PER_KEY_MAX = 1_000;
/** Counts parse calls, so a series is added once per request (see FieldSeries.epoch). */
let parseEpoch = 0;

/** Exact powers of ten (all are exact doubles up to 1e22). */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

class LineParser {
  // Scratch space for the fields of one line, reused across lines.
  #fieldSeries: FieldSeries[] = [];
  #fieldValues: number[] = [];
  readonly #epoch = ++parseEpoch;

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
    // Series key (measurement and tags): up to the first unescaped space.
    let keyEnd = s;
    while (keyEnd < e) {
      const c = t.charCodeAt(keyEnd);
      if (c === SPACE) break;
      keyEnd += c === BACKSLASH ? 2 : 1;
    }
    if (keyEnd > e) keyEnd = e;
    const seriesKey = t.slice(s, keyEnd);
    let entry = seriesCache.get(seriesKey);
    if (entry === undefined) {
      entry = this.#seriesKey(s, e, line, keyEnd, seriesKey);
      if (entry === undefined) return;
    }
    this.#fields(s, e, line, keyEnd, seriesKey, entry);
  }

  /** Parses a series key not seen before, caches it, or reports the line. */
  #seriesKey(
    s: number,
    e: number,
    line: number,
    keyEnd: number,
    seriesKey: string,
  ): SeriesKeyEntry | undefined {
    const t = this.text;
    // Measurement.
    let i = this.#scan(s, e, false);
    if (i === s) return void this.#lineError(s, e, line, "missing measurement");
    const measurement = unescapeKey(t.slice(s, i));
    const labels: string[] = [];
    // Tags.
    while (i < e && t.charCodeAt(i) === COMMA) {
      const ks = i + 1;
      const ke = this.#scan(ks, e, true);
      if (ke === ks) {
        return void this.#lineError(s, e, line, `empty tag key at column ${ks - s + 1}`);
      }
      const key = unescapeKey(t.slice(ks, ke));
      if (ke >= e || t.charCodeAt(ke) !== EQUALS) {
        return void this.#lineError(s, e, line, `missing "=" after tag key "${key}"`);
      }
      const vs = ke + 1;
      const ve = this.#scan(vs, e, false);
      if (ve === vs) return void this.#lineError(s, e, line, `missing value of tag "${key}"`);
      labels.push(detach(sanitizeLabelName(key)), detach(unescapeKey(t.slice(vs, ve))));
      i = ve;
    }
    if (i !== keyEnd) throw new Error("BUG: influx series key scan disagrees with tag parse");
    const entry: SeriesKeyEntry = {
      prefix: detach(sanitizeMetricName(measurement) + "_"),
      labels,
      fields: new Map(),
      order: [],
    };
    if (seriesCache.size >= SERIES_CACHE_MAX) seriesCache.clear();
    seriesCache.set(detach(seriesKey), entry);
    return entry;
  }

  #fields(
    s: number,
    e: number,
    line: number,
    keyEnd: number,
    seriesKey: string,
    entry: SeriesKeyEntry,
  ): void {
    const t = this.text;
    let i = keyEnd;
    if (i >= e) return this.#lineError(s, e, line, "missing fields");
    while (i < e && t.charCodeAt(i) === SPACE) i++;
    if (i >= e) return this.#lineError(s, e, line, "missing fields");
    // Fields.
    const keys = this.#fieldSeries, values = this.#fieldValues;
    keys.length = 0;
    values.length = 0;
    for (;;) {
      const ks = i;
      const ke = this.#scan(ks, e, true);
      if (ke === ks) return this.#lineError(s, e, line, `empty field key at column ${ks - s + 1}`);
      if (ke >= e || t.charCodeAt(ke) !== EQUALS) {
        const key = unescapeKey(t.slice(ks, ke));
        return this.#lineError(s, e, line, `missing "=" after field key "${key}"`);
      }
      const fs = this.#fieldSeriesOf(entry, seriesKey, ks, ke, keys.length);
      const rawKey = fs.raw;
      const vs = ke + 1;
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
        keys.push(fs);
        values.push(STRING_FIELD);
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
        keys.push(fs);
        const fast = decimalRange(t, vs, ve);
        values.push(fast === fast ? fast : fieldValue(t.slice(vs, ve)));
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
      const tsEnd = i;
      while (i < e && t.charCodeAt(i) === SPACE) i++;
      if (i < e) {
        return this.#lineError(
          s,
          e,
          line,
          `unexpected text after the timestamp at column ${i - s + 1}`,
        );
      }
      ts = integerRangeToMs(t, tsStart, tsEnd, this.dropDigits, this.mul);
      if (ts !== ts) {
        const tsText = t.slice(tsStart, tsEnd);
        if (isIntegerText(tsText)) ts = integerTextToMs(tsText, this.dropDigits, this.mul);
        else {
          this.rows.invalidSamples += keys.length;
          return this.rows.addError(
            `line ${line} timestamp`,
            tsText,
            "timestamp must be an integer",
            line,
          );
        }
      }
      if (!Number.isSafeInteger(ts)) {
        this.rows.invalidSamples += keys.length;
        return this.rows.addError(
          `line ${line} timestamp`,
          t.slice(tsStart, tsEnd),
          "timestamp is out of range",
          line,
        );
      }
    }
    // Emit one sample per valid field; a series once per request.
    const rows = this.rows;
    for (let f = 0; f < keys.length; f++) {
      const v = values[f]!;
      const fs = keys[f]!;
      if (v !== v || v === STRING_FIELD) {
        const key = unescapeKey(fs.raw);
        rows.addError(
          `line ${line} field "${key}"`,
          key,
          v === STRING_FIELD
            ? "string field values are not supported, only numbers and booleans"
            : "field value must be a finite number, an integer (1i), an unsigned (1u) or a boolean",
          line,
        );
        rows.invalidSamples++;
        continue;
      }
      if (fs.epoch !== this.#epoch) {
        fs.epoch = this.#epoch;
        fs.j = rows.addSeries(fs.name, entry.labels, fs.key, "", line);
      }
      rows.addSample(fs.j, ts, v, line);
    }
  }

  /** The series of the field key text[ks, ke), the `nf`-th field of its line. */
  #fieldSeriesOf(
    entry: SeriesKeyEntry,
    seriesKey: string,
    ks: number,
    ke: number,
    nf: number,
  ): FieldSeries {
    const t = this.text;
    let fs: FieldSeries | undefined = entry.order[nf];
    if (fs !== undefined) {
      const raw = fs.raw, n = raw.length;
      if (n === ke - ks) {
        let q = 0;
        while (q < n && raw.charCodeAt(q) === t.charCodeAt(ks + q)) q++;
        if (q === n) return fs;
      }
    }
    const rawKey = t.slice(ks, ke);
    fs = entry.fields.get(rawKey);
    if (fs === undefined) {
      if (entry.fields.size >= FIELDS_PER_KEY_MAX) entry.fields.clear();
      const raw = detach(rawKey);
      fs = {
        raw,
        name: detach(entry.prefix + sanitizeLabelName(unescapeKey(raw))),
        key: detach(seriesKey + " " + raw),
        epoch: 0,
        j: 0,
      };
      entry.fields.set(raw, fs);
    }
    if (nf < ORDER_MAX) entry.order[nf] = fs;
    return fs;
  }
}

/** Marker for a string field (Infinity never comes out of fieldValue). */
const STRING_FIELD = Infinity;

/**
 * Parses `[+-]digits[.digits]` in text[s, e) with at most 15 digits, exactly
 * as `Number()` would (an exact integer divided by an exact power of ten is
 * correctly rounded); NaN for anything else, which the caller parses the
 * slow way.
 */
function decimalRange(t: string, s: number, e: number): number {
  let i = s;
  let c = t.charCodeAt(i);
  const neg = c === 45;
  if (neg || c === 43) i++;
  let m = 0, digits = 0, frac = -1;
  for (; i < e; i++) {
    c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0;
    else return NaN;
  }
  if (digits === 0 || digits > 15) return NaN;
  const v = frac > 0 ? m / POW10[frac]! : m;
  return neg ? -v : v;
}

/**
 * Converts the integer timestamp text[s, e) to ms like
 * {@linkcode integerTextToMs}, without slicing, when the kept digits are at
 * most 15; NaN otherwise (also for non-integer text), for the slow path.
 */
function integerRangeToMs(t: string, s: number, e: number, drop: number, mul: number): number {
  let i = s;
  const c0 = t.charCodeAt(i);
  const neg = c0 === 45;
  if (neg || c0 === 43) i++;
  const keep = e - i - drop;
  if (e - i === 0 || keep > 15) return NaN;
  let head = 0, tailNonZero = false;
  for (let k = 0; i < e; i++, k++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
    if (k < keep) head = head * 10 + (c - 48);
    else if (c !== 48) tailNonZero = true;
  }
  if (drop === 0) return (neg ? -head : head) * mul;
  if (!neg || (head === 0 && !tailNonZero)) return head;
  return -(head + (tailNonZero ? 1 : 0));
}

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
