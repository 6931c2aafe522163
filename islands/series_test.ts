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
  assert.deepEqual(h.lowers, [0, 0.1, 0.5]);
  assert.deepEqual(h.counts, [[2, 3], [2, 0], [1, 0]]);
  assert.equal(h.maxCount, 3);
});

Deno.test("toHeatmap() keeps a classic bucket without observations as an empty row", () => {
  const h = toHeatmap([
    { metric: { le: "0.1" }, values: [[1, "0"], [2, "0"]] },
    { metric: { le: "0.5" }, values: [[1, "2"], [2, "2"]] },
    { metric: { le: "+Inf" }, values: [[1, "2"], [2, "3"]] },
  ]);
  assert.deepEqual(h.bounds, [0.1, 0.5, Infinity]);
  assert.deepEqual(h.lowers, [0, 0.1, 0.5]);
  assert.deepEqual(h.counts, [[0, 0], [2, 2], [0, 1]]);
});

Deno.test("toHeatmap() draws native histograms: a row per populated bucket, series added up", () => {
  const h = toHeatmap([
    {
      metric: { job: "a" },
      values: [],
      histograms: [
        [1, { count: "3", sum: "1", buckets: [[3, "-0.001", "0.001", "1"], [0, "1", "2", "2"]] }],
        [2, { count: "1", sum: "1", buckets: [[1, "-2", "-1", "1"]] }],
      ],
    },
    {
      metric: { job: "b" },
      values: [],
      histograms: [[2, { count: "4", sum: "9", buckets: [[0, "1", "2", "4"]] }]],
    },
  ]);
  assert.deepEqual(h.xs, [1, 2]);
  assert.deepEqual(h.bounds, [-1, 0.001, 2]);
  assert.deepEqual(h.lowers, [-2, -0.001, 1]);
  assert.deepEqual(h.counts, [[0, 1], [1, 0], [2, 4]]);
  assert.equal(h.maxCount, 4);
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
