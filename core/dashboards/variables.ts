/**
 * Dashboard variables in queries: `label_values(...)` parsing and `$var`
 * interpolation. Browser-safe (no imports).
 *
 * @module
 */

/** A parsed `label_values([selector,] label)` variable query. */
export interface LabelValuesQuery {
  /** The series selector, or undefined for every series. */
  readonly selector?: string;
  readonly label: string;
}

/** The value that selects every option of a variable. */
export const ALL_VALUE = "$__all";

/** Parses `label_values(label)` or `label_values(selector, label)`. */
export function parseLabelValuesQuery(query: string): LabelValuesQuery | undefined {
  const m = /^\s*label_values\s*\(\s*(?:(.*?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(
    query,
  );
  if (!m) return undefined;
  return m[1] ? { selector: m[1], label: m[2]! } : { label: m[2]! };
}

/** Escapes regex metacharacters so a value matches itself in `=~`. */
export function escapeRegex(v: string): string {
  return v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Escapes `\\` and `"` so a value can sit inside a double-quoted PromQL string. */
export function escapeForString(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/** Built-in interval values substituted for `$__interval` and friends. */
export interface BuiltinIntervals {
  /** The query step, as a duration (`30s`). */
  readonly interval: string;
  /** `max(4 × scrape interval, interval + scrape interval)`, as a duration. */
  readonly rateInterval: string;
  /** The whole range, as a duration. */
  readonly range: string;
  /** The step, the rate interval and the range in ms; start and end of the range in ms. */
  readonly intervalMs?: number;
  readonly rateIntervalMs?: number;
  readonly rangeMs?: number;
  readonly from?: number;
  readonly to?: number;
}

const VAR_REF =
  /\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|\[\[([a-zA-Z_][a-zA-Z0-9_]*)\]\]|\$([a-zA-Z_][a-zA-Z0-9_]*)/g;

/**
 * Replaces `$name`, `${name}` and `[[name]]` in `expr`. Values are escaped
 * for a double-quoted PromQL string. Several values become `(a|b)` with each
 * value regex-escaped (for `=~` matchers, as Grafana does), and so does one
 * value of a variable in `regexVars` (multi-value or All variables); All
 * becomes `.*` unless the variable's options are given in `all`. Unknown
 * names are left alone.
 */
export function interpolate(
  expr: string,
  values: Readonly<Record<string, readonly string[]>>,
  builtins?: BuiltinIntervals,
  all?: Readonly<Record<string, readonly string[]>>,
  regexVars?: ReadonlySet<string>,
  allValues?: Readonly<Record<string, string>>,
): string {
  return expr.replace(VAR_REF, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    if (builtins) {
      const ms = (x: number | undefined) => (x === undefined ? whole : String(Math.round(x)));
      switch (name) {
        case "__interval":
        case "__step":
          return builtins.interval;
        case "__rate_interval":
          return builtins.rateInterval;
        case "__range":
          return builtins.range;
        case "__interval_ms":
          return ms(builtins.intervalMs);
        case "__rate_interval_ms":
          return ms(builtins.rateIntervalMs);
        case "__range_ms":
          return ms(builtins.rangeMs);
        case "__range_s":
          return builtins.rangeMs === undefined
            ? whole
            : String(Math.round(builtins.rangeMs / 1000));
        case "__from":
          return ms(builtins.from);
        case "__to":
          return ms(builtins.to);
      }
    }
    const v = values[name];
    if (!v) return whole;
    let list = v;
    if (v.includes(ALL_VALUE)) {
      // A custom all value (e.g. `.*`) goes in as written, as Grafana does.
      const custom = allValues?.[name];
      if (custom !== undefined) return custom;
      const opts = all?.[name];
      if (!opts || opts.length === 0) return ".*";
      list = opts;
    }
    if (list.length === 0) return "";
    if (list.length === 1 && !regexVars?.has(name)) return escapeForString(list[0]!);
    const alts = list.map((x) => escapeForString(escapeRegex(x)));
    return alts.length === 1 ? alts[0]! : `(${alts.join("|")})`;
  });
}

/**
 * Replaces variable references with text that parses, so a query with
 * variables can be checked: a duration inside `[...]`, an identifier
 * elsewhere; references inside quotes stay as they are.
 */
export function interpolateForParse(expr: string): string {
  let out = "";
  let quote = "";
  let depth = 0;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if (quote) {
      out += ch;
      if (ch === "\\" && quote !== "`") {
        out += expr[++i] ?? "";
      } else if (ch === quote) quote = "";
      continue;
    }
    if (ch === '"' || ch === "'" || ch === "`") {
      quote = ch;
      out += ch;
      continue;
    }
    if (ch === "[") depth++;
    if (ch === "]") depth--;
    VAR_REF.lastIndex = i;
    const m = ch === "$" || ch === "[" ? stickyMatch(expr, i) : undefined;
    if (m && !(ch === "[" && !m.startsWith("[["))) {
      out += depth > 0 && !m.startsWith("[[") ? "1m" : "__var__";
      if (m.startsWith("[[")) depth--;
      i += m.length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

function stickyMatch(s: string, i: number): string | undefined {
  const re = new RegExp(VAR_REF.source, "y");
  re.lastIndex = i;
  return re.exec(s)?.[0];
}

/** Replaces variable references in display text (titles): several values are joined with ", ". */
export function interpolateText(
  text: string,
  values: Readonly<Record<string, readonly string[]>>,
): string {
  return text.replace(VAR_REF, (whole, a?: string, b?: string, c?: string) => {
    const v = values[(a ?? b ?? c)!];
    return v ? v.map((x) => (x === ALL_VALUE ? "All" : x)).join(", ") : whole;
  });
}
