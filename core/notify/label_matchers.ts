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
  if (name.startsWith('"')) name = unquote(name) ?? name;
  let value = m[3]!;
  if (value.startsWith('"')) {
    const u = unquote(value);
    if (u === undefined) return `cannot parse matcher ${JSON.stringify(text)}: bad quoted value`;
    value = u;
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

function unquote(s: string): string | undefined {
  if (s.length < 2 || !s.endsWith('"')) return undefined;
  let out = "";
  for (let i = 1; i < s.length - 1; i++) {
    const c = s[i]!;
    if (c !== "\\") {
      if (c === '"') return undefined;
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === "n") out += "\n";
    else if (n === "t") out += "\t";
    else if (n === undefined || i >= s.length - 1) return undefined;
    else out += n;
  }
  return out;
}
