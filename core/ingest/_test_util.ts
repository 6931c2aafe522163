/**
 * Test helpers: render parsed rows as short text lines so table tests read
 * like the input, and a seeded random generator for property tests.
 *
 * @module
 */
import type { ParsedRows } from "./rows.ts";

/**
 * Renders rows as `name{k="v",…} value @t` per sample (labels in input
 * order) and `ERR <field>: <message>` per problem.
 */
export function renderRows(rows: ParsedRows): string[] {
  const out: string[] = [];
  for (let i = 0; i < rows.sampleCount; i++) {
    const j = rows.sampleSeries[i]!;
    const l = rows.seriesLabels[j]!;
    let s = rows.seriesName[j]!;
    if (l.length > 0) {
      const parts: string[] = [];
      for (let k = 0; k < l.length; k += 2) parts.push(`${l[k]}=${JSON.stringify(l[k + 1])}`);
      s += `{${parts.join(",")}}`;
    }
    out.push(`${s} ${formatValue(rows.sampleV[i]!)} @${rows.sampleT[i]}`);
  }
  for (const e of rows.errors) out.push(`ERR ${e.field}: ${e.message}`);
  return out;
}

function formatValue(v: number): string {
  if (v !== v) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** A small seeded PRNG (mulberry32); `next()` in [0, 1). */
export function seededRandom(seed: number): { next(): number; int(n: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

/**
 * Random text built from `alphabet` pieces and random characters, to fuzz
 * parsers: mostly syntax fragments, sometimes any UTF-16 unit.
 */
export function randomText(
  rnd: ReturnType<typeof seededRandom>,
  alphabet: readonly string[],
  maxPieces: number,
): string {
  let s = "";
  const n = rnd.int(maxPieces);
  for (let i = 0; i < n; i++) {
    if (rnd.next() < 0.1) s += String.fromCharCode(rnd.int(0x10000));
    else s += alphabet[rnd.int(alphabet.length)];
  }
  return s;
}
