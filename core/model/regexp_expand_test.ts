import assert from "node:assert/strict";
import { expandRegexp } from "./mod.ts";

Deno.test("expandRegexp() expands groups by index and name as Go's Regexp.Expand", () => {
  const groups = ["whole", "a", undefined, "c"];
  const names: Record<string, number> = { host: 1, grüße: 3 };
  const f = (t: string) =>
    expandRegexp(t, (i) => groups[i], (n) => (n in names ? groups[names[n]!] : undefined));
  const cases: [string, string][] = [
    ["plain", "plain"],
    ["$1-${3}-$0", "a-c-whole"],
    ["$2|$9|${nope}", "||"], // unmatched, missing, unknown: empty
    ["$1x", ""], // the name is "1x": no such group
    ["${1}x $host.$grüße", "ax a.c"],
    ["$$1 $", "$1 $"],
    ["${1 ${} $-", "${1 ${} $-"], // malformed: the `$` stays
    ["$01 $123456789", " "], // leading zero or more than 8 digits: a name no group has
  ];
  for (const [t, want] of cases) assert.equal(f(t), want, t);
});
