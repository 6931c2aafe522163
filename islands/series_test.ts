import assert from "node:assert/strict";
import { calcs, legendName, thresholdColor, toChartData, toHeatmap } from "./series.ts";

Deno.test("toChartData() aligns series on a shared x axis with gaps", () => {
  const d = toChartData([
    {
      legendFormat: "{{host}}",
      series: [
        { metric: { host: "a" }, values: [[10, "1"], [20, "2"]] },
        { metric: { host: "b" }, values: [[20, "5"], [30, "NaN"]] },
      ],
    },
  ]);
  assert.deepEqual(d.series.map((s) => s.name), ["a", "b"]);
  assert.deepEqual(d.data, [[10, 20, 30], [1, 2, null], [null, 5, null]]);
});

Deno.test("legendName() falls back to the selector form", () => {
  assert.equal(legendName({ __name__: "up", job: "x", a: "1" }, ""), 'up{a="1", job="x"}');
  assert.equal(legendName({}, ""), "{}");
  assert.equal(legendName({ code: "200" }, "HTTP {{code}} {{missing}}"), "HTTP 200 ");
});

Deno.test("calcs() ignores gaps", () => {
  assert.deepEqual(calcs([null, 2, 4, null, 6, null]), { min: 2, max: 6, avg: 4, last: 6 });
  assert.ok(Number.isNaN(calcs([null]).last));
});

Deno.test("toHeatmap() de-accumulates classic buckets", () => {
  const h = toHeatmap([
    { metric: { le: "0.1" }, values: [[1, "2"], [2, "3"]] },
    { metric: { le: "+Inf" }, values: [[1, "5"], [2, "3"]] },
    { metric: { le: "0.5" }, values: [[1, "4"], [2, "3"]] },
  ]);
  assert.deepEqual(h.bounds, [0.1, 0.5, Infinity]);
  assert.deepEqual(h.counts, [[2, 3], [2, 0], [1, 0]]);
  assert.equal(h.maxCount, 3);
});

Deno.test("thresholdColor() picks the highest threshold reached", () => {
  const t = [{ value: 80, color: "red" }, { value: 0, color: "green" }, {
    value: 50,
    color: "orange",
  }];
  assert.equal(thresholdColor(10, t, "x"), "green");
  assert.equal(thresholdColor(-5, t, "x"), "green");
  assert.equal(thresholdColor(50, t, "x"), "orange");
  assert.equal(thresholdColor(99, t, "x"), "red");
  assert.equal(thresholdColor(99, [], "x"), "x");
});
