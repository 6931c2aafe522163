import assert from "node:assert/strict";
import { applyDelta } from "./live.ts";

Deno.test("applyDelta() slides the window, appends, replaces and drops empty series", () => {
  const cur = [
    { metric: { h: "a" }, values: [[10, "1"], [20, "2"], [30, "3"]] as [number, string][] },
    { metric: { h: "b" }, values: [[10, "9"]] as [number, string][] },
  ];
  const out = applyDelta(cur, {
    start: 20,
    series: [
      { metric: { h: "a" }, values: [[30, "3.5"], [40, "4"]] },
      { metric: { h: "c" }, values: [[15, "0"], [40, "7"]] },
    ],
  });
  assert.deepEqual(out, [
    { metric: { h: "a" }, values: [[20, "2"], [30, "3.5"], [40, "4"]] },
    { metric: { h: "c" }, values: [[40, "7"]] },
  ]);
  // The input is untouched.
  assert.equal(cur[0]!.values.length, 3);
});
