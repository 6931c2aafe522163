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
