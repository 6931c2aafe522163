import assert from "node:assert/strict";
import { jsonFloat } from "./strconv.ts";

Deno.test("jsonFloat() writes floats as Prometheus's API: exponent form below 1e-6 and from 1e21", () => {
  const cases: [number, string][] = [
    [1e-7, "1e-07"],
    [0.000001, "0.000001"],
    [1.5e-300, "1.5e-300"],
    [123456789012345680000, "123456789012345680000"],
    [1e21, "1e+21"],
    [-2.5e22, "-2.5e+22"],
    [-0, "-0"],
    [NaN, "NaN"],
    [-Infinity, "-Inf"],
    [0.1, "0.1"],
  ];
  for (const [v, want] of cases) assert.equal(jsonFloat(v), want, String(v));
});
