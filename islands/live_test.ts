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

Deno.test("applyDelta() slides and appends native histogram points too", () => {
  const h = (c: string) => ({
    count: c,
    sum: "1",
    buckets: [[0, "1", "2", c]] as [number, string, string, string][],
  });
  const cur = [{
    metric: { h: "a" },
    values: [] as [number, string][],
    histograms: [[10, h("1")], [20, h("2")]] as [number, ReturnType<typeof h>][],
  }];
  const out = applyDelta(cur, {
    start: 20,
    series: [{ metric: { h: "a" }, values: [], histograms: [[20, h("2.5")], [30, h("3")]] }],
  });
  assert.deepEqual(out, [{
    metric: { h: "a" },
    values: [],
    histograms: [[20, h("2.5")], [30, h("3")]],
  }]);
  // A series whose histograms all slid out is gone.
  assert.deepEqual(applyDelta(out, { start: 40, series: [] }), []);
});
