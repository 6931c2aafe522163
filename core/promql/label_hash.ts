/**
 * Prometheus's label set hash (`labels.Hash()` of the default string
 * labels: XXH64, seed 0, over each name and value prefixed by its length),
 * and the sampling offset `limit_ratio` derives from it, so Perch keeps the
 * same series for a ratio as Prometheus does.
 *
 * @module
 */
import type { Labels } from "../model/mod.ts";

const M = (1n << 64n) - 1n;
const P1 = 0x9E3779B185EBCA87n, P2 = 0xC2B2AE3D27D4EB4Fn, P3 = 0x165667B19E3779F9n;
const P4 = 0x85EBCA77C2B2AE63n, P5 = 0x27D4EB2F165667C5n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M;
}

function round(acc: bigint, input: bigint): bigint {
  acc = (acc + input * P2) & M;
  return (rotl(acc, 31n) * P1) & M;
}

function mergeRound(acc: bigint, val: bigint): bigint {
  acc ^= round(0n, val);
  return (acc * P1 + P4) & M;
}

/** XXH64 of `b` with seed 0. */
export function xxhash64(b: Uint8Array): bigint {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u64 = (p: number) => view.getBigUint64(p, true);
  const n = b.length;
  let p = 0, h: bigint;
  if (n >= 32) {
    let v1 = (P1 + P2) & M, v2 = P2, v3 = 0n, v4 = (M + 1n - P1) & M;
    for (; p + 32 <= n; p += 32) {
      v1 = round(v1, u64(p));
      v2 = round(v2, u64(p + 8));
      v3 = round(v3, u64(p + 16));
      v4 = round(v4, u64(p + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = mergeRound(mergeRound(mergeRound(mergeRound(h, v1), v2), v3), v4);
  } else h = P5;
  h = (h + BigInt(n)) & M;
  for (; p + 8 <= n; p += 8) {
    h ^= round(0n, u64(p));
    h = (rotl(h, 27n) * P1 + P4) & M;
  }
  if (p + 4 <= n) {
    h ^= (BigInt(view.getUint32(p, true)) * P1) & M;
    h = (rotl(h, 23n) * P2 + P3) & M;
    p += 4;
  }
  for (; p < n; p++) {
    h ^= (BigInt(b[p]!) * P5) & M;
    h = (rotl(h, 11n) * P1) & M;
  }
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  return h ^ (h >> 32n);
}

const UTF8 = new TextEncoder();
/** A lone surrogate standing for a raw byte (see core/model/strconv.ts). */
const RAW_BYTE_REGEXP = /[\udc80-\udcff]/u;

/** The bytes of a label string: UTF-8, with lone surrogates U+DC80...U+DCFF as the raw bytes they stand for. */
function stringBytes(s: string): ArrayLike<number> {
  if (!RAW_BYTE_REGEXP.test(s)) return UTF8.encode(s);
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xdc80 && c <= 0xdcff) out.push(c - 0xdc00);
    else for (const b of UTF8.encode(ch)) out.push(b);
  }
  return out;
}

/** Prometheus's `labels.Hash()` of a (sorted) label set. */
export function labelsHash(labels: Labels): bigint {
  const bytes: number[] = [];
  const add = (s: string) => {
    const b = stringBytes(s);
    if (b.length < 255) bytes.push(b.length);
    else bytes.push(255, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff);
    for (let i = 0; i < b.length; i++) bytes.push(b[i]!);
  };
  for (const l of labels) {
    add(l.name);
    add(l.value);
  }
  return xxhash64(Uint8Array.from(bytes));
}

/**
 * Offsets already computed, by label set: `limit_ratio` asks at every step
 * for the same series (the same Labels object), and a hash costs tens of µs.
 */
const OFFSETS = new WeakMap<Labels, number>();

/** The sampling offset in [0, 1] of a label set: its hash over 2^64. */
export function sampleOffset(labels: Labels): number {
  let f = OFFSETS.get(labels);
  if (f === undefined) OFFSETS.set(labels, f = Number(labelsHash(labels)) / 2 ** 64);
  return f;
}
