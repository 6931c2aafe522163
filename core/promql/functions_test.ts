import assert from "node:assert/strict";
import { quantile } from "./functions.ts";

/** Prometheus's quantile, as written before: sort with NaN first, keep ties in input order. */
function reference(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const v = [...values].sort((a, b) => (Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b));
  const rank = q * (v.length - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(v.length - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return v[lower]! * (1 - weight) + v[upper]! * weight;
}

Deno.test("quantile() gives Prometheus's answer bit for bit, NaN, ±0 and ±Inf included", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const special = [NaN, 0, -0, Infinity, -Infinity, 1e308, -1e308];
  for (let round = 0; round < 2000; round++) {
    const n = 1 + Math.floor(rnd() * 12);
    const values = Array.from(
      { length: n },
      () =>
        rnd() < 0.3 ? special[Math.floor(rnd() * special.length)]! : Math.round(rnd() * 20) - 10,
    );
    for (const q of [0, 0.1, 0.25, 0.5, 0.9, 1, -0.5, 1.5, NaN]) {
      const want = reference(q, values), got = quantile(q, values);
      assert.ok(Object.is(got, want), `quantile(${q}, [${values.map(String)}]): ${got} ≠ ${want}`);
    }
    assert.equal(values.length, n, "the input is left as it is");
  }
});
