import assert from "node:assert/strict";
import { formatE, formatF, formatG } from "./go_float.ts";

Deno.test("Go number formatting rounds half to even on the exact binary value", () => {
  const g: [number, number, string][] = [
    [12345, 4, "1.234e+04"], // exact tie: 4 is even
    [12355, 4, "1.236e+04"], // exact tie: 5 is odd
    [100.25, 4, "100.2"],
    [100.75, 4, "100.8"],
    [0.125, 2, "0.12"], // 0.125 is exact in binary
    [2.675, 3, "2.67"], // 2.67499999999999982236431605997495353221893310546875
    [1.0000000000000002, 17, "1.0000000000000002"],
    [999.95, 4, "1000"], // 999.950000000000045474735088646411895751953125
    [1e21, -1, "1e+21"],
    [1e21, 4, "1e+21"],
    [1e-7, -1, "1e-07"],
    [1e-7, 4, "1e-07"],
    [-2.5, 1, "-2"],
    [-0.00001234, 4, "-1.234e-05"],
    [0.0001234, 4, "0.0001234"],
    [123456, -1, "123456"],
    [1234567, -1, "1.234567e+06"],
    [5e-324, 4, "4.941e-324"],
    [NaN, 4, "NaN"],
    [Infinity, -1, "+Inf"],
    [-Infinity, 4, "-Inf"],
    [0, 4, "0"],
    [-0, -1, "-0"],
  ];
  for (const [v, p, want] of g) assert.equal(formatG(v, p), want, `%.${p}g of ${v}`);
  const f: [number, number, string][] = [
    [0.5, 0, "0"],
    [1.5, 0, "2"],
    [2.5, 0, "2"],
    [0.125, 2, "0.12"],
    [0.375, 2, "0.38"],
    [1e21, 2, "1000000000000000000000.00"],
    [1e-7, 6, "0.000000"],
    [-1e-7, 3, "-0.000"],
    [1.005, 2, "1.00"],
    [NaN, 2, "NaN"],
    [-Infinity, 2, "-Inf"],
  ];
  for (const [v, p, want] of f) assert.equal(formatF(v, p), want, `%.${p}f of ${v}`);
  assert.equal(formatE(12345, 3), "1.234e+04");
  assert.equal(formatE(0, 2), "0.00e+00");
  assert.equal(formatE(1, -1), "1e+00");
  assert.equal(formatE(123.25, -1), "1.2325e+02");
});

Deno.test("formatG() agrees with toPrecision() except on exact decimal ties", () => {
  // toPrecision rounds ties up, Go to even; elsewhere both are exact.
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 2000; k++) {
    const v = (rand() - 0.5) * 10 ** Math.floor(rand() * 30 - 15);
    const p = 1 + Math.floor(rand() * 12);
    const js = Number(v.toPrecision(p));
    const go = Number(formatG(v, p));
    if (js !== go) {
      // Only possible on an exact tie, where Go's result has an even last digit.
      assert.ok(
        Math.abs(js - v) === Math.abs(go - v),
        `${v} %.${p}g: ${formatG(v, p)} vs ${v.toPrecision(p)}`,
      );
    }
  }
});
