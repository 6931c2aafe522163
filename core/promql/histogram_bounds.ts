/**
 * Bucket boundaries of native histograms, as Prometheus defines them.
 *
 * An exponential schema s (-4...8) has base 2^(2^-s): bucket `i` of the
 * positive side covers (base^(i-1), base^i], and 1 is always a boundary
 * (bucket 0 ends at 1). For s >= 0 a bound is `frac × 2^exp` with `frac` one
 * of 2^s values in [0.5, 1); the fractions are computed once per schema with
 * exact integer arithmetic and rounded to the nearest float64, so they equal
 * the correctly rounded mathematical values. The last finite bound is
 * `Number.MAX_VALUE` (the next bucket counts ±Inf observations). Schema -53
 * uses the histogram's custom upper bounds; bucket `len(customValues)` is the
 * +Inf bucket and index -1 stands for -Inf.
 *
 * @module
 */

/** The schema of histograms with custom bucket bounds (NHCB). */
export const CUSTOM_SCHEMA = -53;

const FRACS: (Float64Array | undefined)[] = [];

/** Integer square root (floor) of a non-negative BigInt. */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** n / 2^scale rounded to the nearest float64 (ties to even). */
function toDouble(n: bigint, scale: number): number {
  const bits = n.toString(2).length;
  const shift = bits - 53;
  if (shift <= 0) return Number(n) * 2 ** -scale;
  let m = n >> BigInt(shift);
  const rem = n - (m << BigInt(shift));
  const half = 1n << BigInt(shift - 1);
  if (rem > half || (rem === half && (m & 1n) === 1n)) m += 1n;
  return Number(m) * 2 ** (shift - scale);
}

/** The 2^schema fractions 2^(j/2^schema - 1) for j = 0...2^schema-1. */
function fracs(schema: number): Float64Array {
  const cached = FRACS[schema];
  if (cached) return cached;
  const F = 256; // Fixed-point bits: far more than float64 needs.
  // r = 2^(1/2^schema), by `schema` square roots of 2.
  let r = 2n << BigInt(F);
  for (let k = 0; k < schema; k++) r = isqrt(r << BigInt(F));
  const n = 1 << schema;
  const out = new Float64Array(n);
  let v = 1n << BigInt(F); // r^j
  for (let j = 0; j < n; j++) {
    out[j] = toDouble(v, F + 1); // Halved: 2^(j/2^schema) / 2.
    v = (v * r) >> BigInt(F);
  }
  FRACS[schema] = out;
  return out;
}

/** frac × 2^exp without overflow of the power for very small exponents. */
function ldexp(frac: number, exp: number): number {
  if (exp < -1000) return frac * 2 ** (exp + 600) * 2 ** -600;
  return frac * 2 ** exp;
}

/** Upper bound of bucket `idx` of an exponential schema (-4...8). */
export function exponentialBound(idx: number, schema: number): number {
  if (schema < 0) {
    const exp = idx * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return ldexp(1, exp);
  }
  const frac = fracs(schema)[idx & ((1 << schema) - 1)]!;
  const exp = (idx >> schema) + 1;
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  return ldexp(frac, exp);
}

/** Upper bound of bucket `idx` for any schema; custom bounds need `customValues`. */
export function bucketBound(
  idx: number,
  schema: number,
  customValues: readonly number[] | undefined,
): number {
  if (schema !== CUSTOM_SCHEMA) return exponentialBound(idx, schema);
  const cv = customValues ?? [];
  if (idx === cv.length) return Infinity;
  if (idx === -1) return -Infinity;
  return cv[idx]!;
}

/** Index in schema `to` (<= `from`) of the bucket that holds bucket `idx` of schema `from`. */
export function targetIndex(idx: number, from: number, to: number): number {
  return ((idx - 1) >> (from - to)) + 1;
}
