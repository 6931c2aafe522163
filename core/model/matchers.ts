/**
 * Label matchers (`=`, `!=`, `=~`, `!~`) as PromQL defines them.
 *
 * Regular expressions use RE2 semantics through `re2js`, so matching runs in
 * time linear in the input: no pushed label or query can stall Perch. They
 * are fully anchored, as in Prometheus (`=~"a.*"` matches "abc", not "xabc").
 *
 * @module
 */
import { RE2JS } from "re2js";
import { getLabel, type Labels } from "./labels.ts";

/** The four matcher kinds. */
export type MatchType = "=" | "!=" | "=~" | "!~";

/** A compiled matcher against one label. */
export interface Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  /** True when a label value (`""` for an absent label) matches. */
  matches(value: string): boolean;
}

/** Thrown when a regular expression in a matcher does not compile. */
export class MatcherRegexError extends SyntaxError {
  constructor(readonly pattern: string, cause: unknown) {
    super(`Cannot compile regex ${JSON.stringify(pattern)}: ${errorText(cause)}`, { cause });
    this.name = "MatcherRegexError";
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const regexCache = new Map<string, (s: string) => boolean>();
const REGEX_CACHE_MAX = 1000;

/**
 * Compiles an anchored RE2 pattern into a test function; cached, since the
 * same patterns come back in every dashboard refresh.
 */
export function compileAnchoredRegex(pattern: string): (s: string) => boolean {
  const hit = regexCache.get(pattern);
  if (hit) return hit;
  let test: (s: string) => boolean;
  const literal = literalPrefixOnly(pattern);
  if (literal !== undefined) {
    test = (s) => s === literal;
  } else if (pattern === ".*") {
    test = () => true;
  } else if (pattern === ".+") {
    test = (s) => s.length > 0;
  } else {
    let re: RE2JS;
    try {
      re = RE2JS.compile(`^(?:${pattern})$`, RE2JS.DOTALL);
    } catch (e) {
      throw new MatcherRegexError(pattern, e);
    }
    test = (s) => re.matches(s);
  }
  if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear();
  regexCache.set(pattern, test);
  return test;
}

/** Returns the pattern itself when it has no regex metacharacters. */
function literalPrefixOnly(pattern: string): string | undefined {
  return /^[a-zA-Z0-9_\-:/ ]*$/.test(pattern) ? pattern : undefined;
}

/** Builds a matcher; throws {@linkcode MatcherRegexError} for a bad regex. */
export function newMatcher(type: MatchType, name: string, value: string): Matcher {
  switch (type) {
    case "=":
      return { type, name, value, matches: (v) => v === value };
    case "!=":
      return { type, name, value, matches: (v) => v !== value };
    case "=~": {
      const t = compileAnchoredRegex(value);
      return { type, name, value, matches: t };
    }
    case "!~": {
      const t = compileAnchoredRegex(value);
      return { type, name, value, matches: (v) => !t(v) };
    }
  }
}

/** True when every matcher matches the series' labels. */
export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  for (const m of matchers) if (!m.matches(getLabel(labels, m.name))) return false;
  return true;
}

/** True when the matcher matches the empty string (so absent labels match too). */
export function matchesEmpty(m: Matcher): boolean {
  return m.matches("");
}

/** Formats a matcher as PromQL text: `name="value"`. */
export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.type}${JSON.stringify(m.value)}`;
}
