/**
 * Alertmanager matcher syntax: `severity="critical"`, `team=~"a|b"`,
 * `env!=prod` (unquoted values allowed), and the JSON form silences use
 * (`{name, value, isRegex, isEqual}`).
 *
 * @module
 */
import { type Matcher, type MatchType, newMatcher } from "../model/mod.ts";

const MATCHER_RE = /^\s*([a-zA-Z_][a-zA-Z0-9_]*|"(?:[^"\\]|\\.)*")\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

/**
 * Parses one matcher string; returns an error message when it is not one.
 * Regexes are compiled (RE2, fully anchored).
 */
export function parseMatcher(text: string): Matcher | string {
  const m = MATCHER_RE.exec(text.replace(/^\s*\{(.*)\}\s*$/s, "$1"));
  if (!m) return `cannot parse matcher ${JSON.stringify(text)}: want name="value"`;
  let name = m[1]!;
  if (name.startsWith('"')) name = unescapeValue(name) ?? name;
  const value = unescapeValue(m[3]!);
  if (value === undefined) {
    return `cannot parse matcher ${JSON.stringify(text)}: unescaped double quote in the value`;
  }
  return compile(m[2] as MatchType, name, value);
}

/** A matcher in Alertmanager's API shape. */
export interface ApiMatcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual?: boolean;
}

/** Compiles an API matcher; returns an error message when the regex is bad. */
export function fromApiMatcher(m: ApiMatcher): Matcher | string {
  const eq = m.isEqual ?? true;
  const type: MatchType = m.isRegex ? (eq ? "=~" : "!~") : (eq ? "=" : "!=");
  return compile(type, m.name, m.value);
}

/** The API shape of a compiled matcher. */
export function toApiMatcher(m: Matcher): ApiMatcher {
  return {
    name: m.name,
    value: m.value,
    isRegex: m.type === "=~" || m.type === "!~",
    isEqual: m.type === "=" || m.type === "=~",
  };
}

/** True when every matcher matches the label map (absent labels read as ""). */
export function matchLabels(
  matchers: readonly Matcher[],
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const m of matchers) if (!m.matches(labels[m.name] ?? "")) return false;
  return true;
}

function compile(type: MatchType, name: string, value: string): Matcher | string {
  try {
    return newMatcher(type, name, value);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * A matcher value as Alertmanager reads it, quoted or not: `\n` is a line
 * feed, `\"` and `\\` are the character, any other backslash (a spurious
 * escape, or a last character) stays literal. A double quote other than the
 * two around a quoted value makes it malformed (undefined).
 */
function unescapeValue(raw: string): string | undefined {
  let open = raw.startsWith('"');
  const s = open ? raw.slice(1) : raw;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') {
      if (!open || i < s.length - 1) return undefined;
      open = false;
    } else if (c !== "\\" || i === s.length - 1) out += c;
    else {
      const n = s[++i]!;
      out += n === "n" ? "\n" : n === '"' || n === "\\" ? n : "\\" + n;
    }
  }
  return open ? undefined : out;
}
