import assert from "node:assert/strict";
import { splitCondition } from "./alert_condition.ts";

Deno.test("splitCondition() splits off a final comparison with a number", () => {
  const cases: [string, string, string, number][] = [
    ["rate(x[5m]) > 0.5", "rate(x[5m])", "gt", 0.5],
    ['up{job="a>b"} == 0', 'up{job="a>b"}', "eq", 0],
    ["a + b <= -1.5e3", "a + b", "le", -1500],
    ["(a > 1 and b) != 2", "(a > 1 and b)", "ne", 2],
    ["sum by (android) (x) >= 3", "sum by (android) (x)", "ge", 3],
  ];
  for (const [text, expression, operator, threshold] of cases) {
    assert.deepEqual(splitCondition(text), { expression, operator, threshold }, text);
  }
});

Deno.test("splitCondition() names what it cannot split without changing the meaning", () => {
  const err = (s: string) => {
    const r = splitCondition(s);
    assert.ok("error" in r, `${s} split as ${JSON.stringify(r)}`);
    return r.error;
  };
  assert.match(err("rate(x[5m])"), /must end in a comparison with a number/);
  assert.match(err("a > b"), /must end in a comparison with a number/);
  assert.match(err("> 1"), /must end in a comparison with a number/);
  assert.match(err("a > bool 1"), /leave out bool/);
  // `a > 1 and b > 2` is `(a > 1) and (b > 2)`, not `(a > 1 and b) > 2`.
  assert.match(err("a > 1 and b > 2"), /parentheses/);
  assert.match(err("a or b < 2"), /parentheses/);
  assert.match(err("a == 1 > 2"), /parentheses/);
});
