import assert from "node:assert/strict";
import process from "node:process";
import { fromPairs } from "./labels.ts";
import {
  compileAnchoredRegex,
  formatMatcher,
  MatcherRegexError,
  matchesAll,
  matchesEmpty,
  newMatcher,
} from "./matchers.ts";

Deno.test("newMatcher() implements = != =~ !~ with absent labels as empty", () => {
  const cases: [string, "=" | "!=" | "=~" | "!~", string, string, boolean][] = [
    ["job", "=", "node", "node", true],
    ["job", "=", "node", "nodes", false],
    ["job", "=", "", "", true],
    ["job", "!=", "node", "api", true],
    ["job", "!=", "node", "node", false],
    ["job", "!=", "", "", false],
    ["job", "=~", "no.*", "node", true],
    ["job", "=~", "no.*", "xnode", false], // Anchored at the start.
    ["job", "=~", "no", "node", false], // Anchored at the end.
    ["job", "=~", "a|b", "b", true],
    ["job", "=~", "a|b", "ab", false],
    ["job", "=~", ".*", "", true],
    ["job", "=~", ".+", "", false],
    ["job", "=~", ".+", "x", true],
    ["job", "=~", "(?i)NODE", "node", true],
    ["job", "=~", "x.y", "x\ny", true], // Dot matches newline, as in Prometheus.
    ["job", "!~", "no.*", "node", false],
    ["job", "!~", "no.*", "api", true],
    ["job", "!~", "", "", false],
    ["job", "=~", "10\\.0\\.0\\.\\d+", "10.0.0.42", true],
    ["job", "=~", "[[:alpha:]]+", "abc", true],
  ];
  for (const [name, type, value, input, want] of cases) {
    const m = newMatcher(type, name, value);
    assert.equal(m.matches(input), want, `${name}${type}"${value}" on "${input}"`);
  }
});

Deno.test("newMatcher() throws MatcherRegexError naming the pattern", () => {
  assert.throws(() => newMatcher("=~", "a", "(unclosed"), (e: unknown) => {
    assert.ok(e instanceof MatcherRegexError);
    assert.match(e.message, /\(unclosed/);
    return true;
  });
  // Backreferences are not RE2 and must be refused rather than run slowly.
  assert.throws(() => newMatcher("=~", "a", "(a)\\1"), MatcherRegexError);
});

Deno.test("regex matching stays linear on catastrophic-backtracking patterns", () => {
  const m = newMatcher("=~", "a", "(a+)+$");
  const input = "a".repeat(30_000) + "!";
  // Process CPU time, not wall time: waiting for a busy machine's cores does not count.
  const cpu0 = process.cpuUsage();
  assert.equal(m.matches(input), false);
  // A backtracking engine would take longer than the age of the universe here.
  const cpu = process.cpuUsage(cpu0);
  assert.ok((cpu.user + cpu.system) / 1000 < 5000);
});

Deno.test("matchesAll() requires every matcher", () => {
  const l = fromPairs([["__name__", "up"], ["job", "node"]]);
  assert.ok(matchesAll([newMatcher("=", "__name__", "up"), newMatcher("=~", "job", "n.*")], l));
  assert.ok(!matchesAll([newMatcher("=", "__name__", "up"), newMatcher("=", "job", "x")], l));
  assert.ok(matchesAll([newMatcher("=", "missing", "")], l));
  assert.ok(matchesAll([], l));
});

Deno.test("matchesEmpty() tells which matchers select series without the label", () => {
  assert.ok(matchesEmpty(newMatcher("=", "a", "")));
  assert.ok(matchesEmpty(newMatcher("=~", "a", ".*")));
  assert.ok(matchesEmpty(newMatcher("!=", "a", "x")));
  assert.ok(!matchesEmpty(newMatcher("=~", "a", ".+")));
  assert.ok(!matchesEmpty(newMatcher("=", "a", "x")));
});

Deno.test("compileAnchoredRegex() caches compiled patterns", () => {
  assert.equal(compileAnchoredRegex("ab+c"), compileAnchoredRegex("ab+c"));
});

Deno.test("formatMatcher() prints PromQL syntax", () => {
  assert.equal(formatMatcher(newMatcher("=~", "job", 'a"b')), 'job=~"a\\"b"');
});
