import assert from "node:assert/strict";
import { matchLabels, parseMatcher } from "./label_matchers.ts";

Deno.test("parseMatcher() reads Alertmanager matcher strings", () => {
  const f = (s: string, labels: Record<string, string>, want: boolean) => {
    const m = parseMatcher(s);
    assert.equal(typeof m, "object", `${s}: ${m}`);
    assert.equal(matchLabels([m as Exclude<typeof m, string>], labels), want, s);
  };
  f('severity="critical"', { severity: "critical" }, true);
  f('severity = "critical"', { severity: "warning" }, false);
  f("env!=prod", { env: "dev" }, true);
  f('team=~"a|b"', { team: "b" }, true);
  f('team=~"a|b"', { team: "ab" }, false);
  f('team!~"a.*"', { team: "abc" }, false);
  f('{job="x"}', { job: "x" }, true);
  f('msg="say \\"hi\\""', { msg: 'say "hi"' }, true);
  f('absent=""', {}, true);
  assert.equal(typeof parseMatcher("no operator"), "string");
  assert.equal(typeof parseMatcher('x=~"("'), "string");
});

Deno.test("parseMatcher() unescapes values as Alertmanager does, quoted or not", () => {
  const value = (s: string) => {
    const m = parseMatcher(s);
    return typeof m === "string" ? m : m.value;
  };
  assert.equal(value('a="x\\ny"'), "x\ny");
  assert.equal(value("a=x\\ny"), "x\ny");
  assert.equal(value('a="back\\\\slash"'), "back\\slash");
  // A spurious escape keeps its backslash: \t and \d are two characters, as in a regex.
  assert.equal(value('a="tab\\there"'), "tab\\there");
  assert.equal(value('a=~"\\d+"'), "\\d+");
  assert.equal(value("a=trailing\\"), "trailing\\");
  for (const bad of ['a="open', 'a="x"y"', 'a=x"y', 'a="esc\\"']) {
    assert.match(value(bad), /unescaped double quote/, bad);
  }
});
