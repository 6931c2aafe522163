/**
 * Packs a sequence of safe integers x[0..n) whose first element the decoder
 * already knows. Per sequence it picks the cheapest of 4 orders (values,
 * deltas, delta-of-deltas, distance from a line) × 3 residual codes (fixed-width frame of
 * reference, mixed-radix frame of reference, sparse exceptions from a base).
 * See FORMAT.md (## Chunk) for the bit layout.
 *
 * @module
 */
import { bitLength, BitReader, BitWriter, unzigzag, varintBits, zigzag } from "./_bitstream.ts";

/** Largest |x| the caller may pass, so that every residual and range stays a safe integer. */
export const INTSEQ_MAX_ABS = 2 ** 49;

const FIXED = 0;
const RADIX = 1;
const SPARSE = 2;
const RICE = 3;
/** Rice: a quotient of ESC or more is written as ESC one-bits and then z in full. */
const ESC = 24;
const MAX = 65536;
const zs = new Float64Array(MAX);
/** Mixed radix is used only while one digit is <= 26 bits, so a group holds >= 2 digits. */
const MAX_RADIX = 2 ** 26;
/** Groups of mixed-radix digits stay below 2^52. */
const GROUP_LIMIT = 2 ** 52;

const res = [
  new Float64Array(MAX),
  new Float64Array(MAX),
  new Float64Array(MAX),
  new Float64Array(MAX),
];
/** Order 3: residuals from the line x[0] + i·slope (timestamps with scrape jitter). */
const LINEAR = 3;
const dec = new Float64Array(MAX);

/** Digits per group and bits per full group for radix `r`. */
function radixGroup(r: number): { k: number; bits: number } {
  let k = 1;
  let p = r;
  while (p * r <= GROUP_LIMIT) {
    p *= r;
    k++;
  }
  return { k, bits: bitLength(p - 1) };
}

function radixBits(r: number, m: number): number {
  const { k, bits } = radixGroup(r);
  const rem = m % k;
  return Math.floor(m / k) * bits + (rem === 0 ? 0 : bitLength(r ** rem - 1));
}

interface Choice {
  bits: number;
  method: number;
  min: number;
  range: number; // max - min
  base: number; // SPARSE; RICE: center
  exceptions: number; // SPARSE; RICE: k
  zWidth: number; // RICE: bits of the largest z
}

/** Sets a choice of method with its bits, min and range (the other fields 0). */
function setChoice(c: Choice, bits: number, method: number, min: number, range: number): void {
  c.bits = bits;
  c.method = method;
  c.min = min;
  c.range = range;
  c.base = 0;
  c.exceptions = 0;
  c.zWidth = 0;
}

const newChoice = (): Choice => ({
  bits: 0,
  method: FIXED,
  min: 0,
  range: 0,
  base: 0,
  exceptions: 0,
  zWidth: 0,
});
/** The best choice so far and the one being made, swapped (encodeIntSeq allocates none). */
let bestChoice = newChoice();
let nextChoice = newChoice();

const sel = new Float64Array(MAX);
/** Residuals per bit length of their z (tryRice). */
const lengths = new Int32Array(54);

/** The k-th smallest of a[0..n) (Wirth's selection; reorders a). */
function kth(a: Float64Array, n: number, k: number): number {
  let l = 0;
  let h = n - 1;
  while (l < h) {
    const x = a[k];
    let i = l;
    let j = h;
    do {
      while (a[i] < x) i++;
      while (x < a[j]) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) l = i;
    if (k < i) h = j;
  }
  return a[k];
}

/** Bits of the Rice code of zs[0..m) with parameter k. */
function riceBits(m: number, k: number, zWidth: number, limit: number): number {
  const inv = 2 ** -k;
  let bits = 0;
  for (let i = 0; i < m && bits < limit; i++) {
    const q = Math.floor(zs[i] * inv);
    bits += q < ESC ? q + 1 + k : ESC + zWidth;
  }
  return bits;
}

/**
 * A lower bound of riceBits with parameter k, from the counts per bit length
 * ({@linkcode lengths}): a z of bit length L >= 1 is at least 2^(L-1), so its
 * quotient at least 2^(L-1-k); an escape costs at least ESC + 1 + k, as the
 * widest z has more than k bits then. On residuals spread evenly Rice loses
 * by about a bit a value, and this bound shows it without a pass over them.
 */
function riceLowerBound(k: number): number {
  let bits = 0;
  for (let len = 0; len < lengths.length; len++) {
    const c = lengths[len];
    if (c === 0) continue;
    const q = len - 1 >= k ? 2 ** (len - 1 - k) : 0;
    bits += c * ((q < ESC ? q : ESC) + 1 + k);
  }
  return bits;
}

/**
 * Cheapest residual code for r[0..m), into `out`, given the residuals'
 * smallest and largest and the candidate and votes of a majority vote
 * over them in order (see {@linkcode ORDER_STATS}).
 */
function choose(
  r: Float64Array,
  m: number,
  out: Choice,
  min: number,
  max: number,
  cand: number,
  votes: number,
): void {
  if (m === 0) {
    setChoice(out, 10, FIXED, 0, 0);
    return;
  }
  const range = max - min;
  const head = varintBits(zigzag(min));
  const best = out;
  setChoice(best, head + 6 + m * bitLength(range), FIXED, min, range);
  if (range >= 2 && range < MAX_RADIX) {
    const bits = head + varintBits(range) + radixBits(range + 1, m);
    if (bits < best.bits) {
      best.bits = bits;
      best.method = RADIX;
    }
  }
  // Each value other than the base costs at least 16 bits, and at least (m - votes) / 2
  // values differ from it (the majority vote paired the others off unequal): they are
  // counted only when that bound does not lose already, and coded only when the count does not.
  const candBits = varintBits(zigzag(cand));
  let sparse = range > 0 && candBits + 8 * (m - votes) + 8 < best.bits;
  if (sparse) {
    let others = 0;
    for (let i = 0; i < m; i++) if (r[i] !== cand) others++;
    sparse = candBits + 16 * others + 8 < best.bits;
  }
  if (sparse) {
    let bits = candBits;
    let count = 0;
    let last = -1;
    for (let i = 0; i < m && bits < best.bits; i++) {
      if (r[i] !== cand) {
        bits += varintBits(i - last - 1) + varintBits(zigzag(r[i] - cand));
        last = i;
        count++;
      }
    }
    bits += varintBits(count);
    if (bits < best.bits) {
      best.bits = bits;
      best.method = SPARSE;
      best.base = cand;
      best.exceptions = count;
    }
  }
}

/** Replaces `best` by a Rice code of r[0..m) when that is smaller. */
function tryRice(r: Float64Array, m: number, extra: number, best: Choice): void {
  if (best.range < 4) return;
  // Rice codes zig-zagged distances from the median: near-optimal for peaked (Laplacian)
  // residuals, and outliers cost an escape each instead of widening every value.
  for (let i = 0; i < m; i++) sel[i] = r[i];
  const center = kth(sel, m, m >>> 1);
  let zmax = 0;
  lengths.fill(0);
  for (let i = 0; i < m; i++) {
    const z = zigzag(r[i] - center);
    zs[i] = z;
    lengths[bitLength(z)]++;
    if (z > zmax) zmax = z;
  }
  // For Laplacian residuals the best k is about log2 of the median z; outliers do not move it.
  // Only the median's bit length counts: found from the counts per bit length, without a selection.
  let lenOfMedian = 0;
  for (let seen = lengths[0]; seen <= m >>> 1;) seen += lengths[++lenOfMedian];
  const k0 = Math.max(0, lenOfMedian - 1);
  const head = extra + varintBits(zigzag(center)) + 12;
  if (head + m * k0 >= best.bits) return;
  const zWidth = bitLength(zmax);
  for (let k = Math.max(0, k0 - 1); k <= Math.min(52, k0 + 1); k++) {
    if (head + riceLowerBound(k) >= best.bits) continue;
    const bits = head + riceBits(m, k, zWidth, best.bits - head);
    if (bits < best.bits) {
      best.bits = bits;
      best.method = RICE;
      best.base = center;
      best.exceptions = k;
      best.zWidth = zWidth;
    }
  }
}

/**
 * Per order (4 numbers each, see {@linkcode residuals}): the smallest and
 * largest residual, and the candidate and its votes of a majority vote
 * over the residuals in order.
 */
const ORDER_STATS = new Float64Array(4 * 4);

/** Counts residual `e` into the {@linkcode ORDER_STATS} of the order at `k`. */
function tally(st: Float64Array, k: number, e: number): void {
  if (e < st[k]) st[k] = e;
  if (e > st[k + 1]) st[k + 1] = e;
  const votes = st[k + 3];
  if (votes === 0) {
    st[k + 2] = e;
    st[k + 3] = 1;
  } else st[k + 3] = e === st[k + 2] ? votes + 1 : votes - 1;
}

/**
 * Fills the residuals of every order into {@linkcode res} (order 2 from
 * x[xs+2] on, the others from x[xs+1]) and their {@linkcode ORDER_STATS},
 * in one pass over x.
 */
function residuals(x: Float64Array, xs: number, n: number, slope: number): void {
  const r0 = res[0], r1 = res[1], r2 = res[2], r3 = res[LINEAR];
  const st = ORDER_STATS, x0 = x[xs];
  for (let k = 0; k < 16; k += 4) {
    st[k] = Infinity;
    st[k + 1] = -Infinity;
    st[k + 2] = st[k + 3] = 0;
  }
  for (let i = 1; i < n; i++) {
    const a = x[xs + i], b = x[xs + i - 1];
    const e0 = a, e1 = a - b, e3 = a - x0 - i * slope;
    r0[i - 1] = e0;
    r1[i - 1] = e1;
    r3[i - 1] = e3;
    tally(st, 0, e0);
    tally(st, 4, e1);
    tally(st, 12, e3);
    if (i < 2) continue;
    const e2 = a - 2 * b + x[xs + i - 2];
    r2[i - 2] = e2;
    tally(st, 8, e2);
  }
}

/**
 * Writes x[xs+1 .. xs+n) given that the decoder knows x[xs]. Orders below
 * `minOrder` are not tried (timestamps use 1). The caller guarantees
 * |x[i] - x[xs]| <= INTSEQ_MAX_ABS for minOrder 1, or |x[i]| <= INTSEQ_MAX_ABS.
 */
export function encodeIntSeq(
  w: BitWriter,
  x: Float64Array,
  xs: number,
  n: number,
  minOrder: number,
): void {
  let bestOrder = -1;
  const slope = n > 1 ? Math.round((x[xs + n - 1] - x[xs]) / (n - 1)) : 0;
  residuals(x, xs, n, slope);
  const st = ORDER_STATS;
  for (let order = minOrder; order <= LINEAR; order++) {
    if (order === LINEAR && n < 3) continue;
    const m = order === 2 ? Math.max(0, n - 2) : n - 1;
    const c = nextChoice;
    const k = order * 4;
    choose(res[order], m, c, st[k], st[k + 1], st[k + 2], st[k + 3]);
    if (order === 2 && n >= 2) c.bits += varintBits(zigzag(x[xs + 1] - x[xs]));
    if (order === LINEAR) c.bits += varintBits(zigzag(slope));
    if (bestOrder < 0 || c.bits < bestChoice.bits) {
      nextChoice = bestChoice;
      bestChoice = c;
      bestOrder = order;
    }
  }
  const c = bestChoice;
  const order = bestOrder;
  // Rice is tried on the winning order only: it rarely changes which order is best.
  const extra = order === 2 && n >= 2
    ? varintBits(zigzag(x[xs + 1] - x[xs]))
    : order === LINEAR
    ? varintBits(zigzag(slope))
    : 0;
  if (order !== 2 || n > 2) tryRice(res[order], order === 2 ? n - 2 : n - 1, extra, c);
  const r = res[order];
  const m = order === 2 ? Math.max(0, n - 2) : n - 1;
  w.write((order << 2) | c.method, 4);
  if (order === 2 && n >= 2) w.writeVarint(zigzag(x[xs + 1] - x[xs]));
  if (order === LINEAR) w.writeVarint(zigzag(slope));
  if (c.method === FIXED) {
    w.writeVarint(zigzag(c.min));
    const width = bitLength(c.range);
    w.write(width, 6);
    if (width <= 32) { for (let i = 0; i < m; i++) w.write(r[i] - c.min, width); }
    else for (let i = 0; i < m; i++) w.writeBig(r[i] - c.min, width);
  } else if (c.method === RADIX) {
    w.writeVarint(zigzag(c.min));
    w.writeVarint(c.range);
    const radix = c.range + 1;
    const { k, bits } = radixGroup(radix);
    for (let g = 0; g < m; g += k) {
      const digits = Math.min(k, m - g);
      let acc = 0;
      for (let j = g + digits - 1; j >= g; j--) acc = acc * radix + (r[j] - c.min);
      w.writeBig(acc, digits === k ? bits : bitLength(radix ** digits - 1));
    }
  } else if (c.method === RICE) {
    const k = c.exceptions;
    const div = 2 ** k;
    w.writeVarint(zigzag(c.base));
    w.write(k, 6);
    w.write(c.zWidth, 6);
    for (let i = 0; i < m; i++) {
      const z = zigzag(r[i] - c.base);
      const q = Math.floor(z / div);
      if (q < ESC) {
        w.write((1 << (q + 1)) - 2, q + 1);
        w.writeBig(z - q * div, k);
      } else {
        w.write((1 << ESC) - 1, ESC);
        w.writeBig(z, c.zWidth);
      }
    }
  } else {
    w.writeVarint(zigzag(c.base));
    w.writeVarint(c.exceptions);
    let last = -1;
    for (let i = 0; i < m; i++) {
      if (r[i] !== c.base) {
        w.writeVarint(i - last - 1);
        w.writeVarint(zigzag(r[i] - c.base));
        last = i;
      }
    }
  }
}

/**
 * Reads a sequence written by {@linkcode encodeIntSeq} into out[off .. off+n),
 * with out[off] = x0. Returns false when the bits are malformed.
 */
export function decodeIntSeq(
  rd: BitReader,
  out: Float64Array,
  off: number,
  n: number,
  x0: number,
): boolean {
  out[off] = x0;
  const head = rd.read(4);
  const order = head >>> 2;
  const method = head & 3;
  let d1 = 0;
  if ((order === 2 && n >= 2) || order === LINEAR) {
    const z = rd.readVarint();
    if (z < 0) return false;
    d1 = unzigzag(z);
  }
  const m = order === 2 ? Math.max(0, n - 2) : n - 1;
  const r = dec;
  if (method === FIXED) {
    const z = rd.readVarint();
    if (z < 0) return false;
    const min = unzigzag(z);
    const width = rd.read(6);
    if (width > 53) return false;
    if (width === 0) {
      for (let i = 0; i < m; i++) r[i] = min;
    } else if (width <= 32) {
      const words = rd.words;
      let pos = rd.pos;
      const sh = 32 - width;
      for (let i = 0; i < m; i++, pos += width) {
        const wi = pos >>> 5;
        const o = pos & 31;
        let v = (words[wi] << o) >>> sh;
        if (o > sh) v = (v | (words[wi + 1] >>> (64 - o - width))) >>> 0;
        r[i] = min + v;
      }
      rd.pos = pos;
    } else {
      for (let i = 0; i < m; i++) r[i] = min + rd.readBig(width);
    }
  } else if (method === RADIX) {
    const z = rd.readVarint();
    const range = rd.readVarint();
    if (z < 0 || range < 2 || range >= MAX_RADIX) return false;
    const min = unzigzag(z);
    const radix = range + 1;
    const { k, bits } = radixGroup(radix);
    for (let g = 0; g < m; g += k) {
      const digits = Math.min(k, m - g);
      let acc = rd.readBig(digits === k ? bits : bitLength(radix ** digits - 1));
      for (let j = g, e = g + digits; j < e; j++) {
        let q = Math.floor(acc / radix);
        let d = acc - q * radix;
        if (d < 0) {
          q--;
          d += radix;
        }
        r[j] = min + d;
        acc = q;
      }
    }
  } else if (method === SPARSE) {
    const zb = rd.readVarint();
    const count = rd.readVarint();
    if (zb < 0 || count < 0 || count > m) return false;
    const base = unzigzag(zb);
    for (let i = 0; i < m; i++) r[i] = base;
    let i = -1;
    for (let e = 0; e < count; e++) {
      const gap = rd.readVarint();
      const z = rd.readVarint();
      i += gap + 1;
      if (gap < 0 || z < 0 || i >= m) return false;
      r[i] = base + unzigzag(z);
    }
  } else {
    const zc = rd.readVarint();
    const k = rd.read(6);
    const zWidth = rd.read(6);
    if (zc < 0 || k > 52 || zWidth > 53) return false;
    const center = unzigzag(zc);
    const div = 2 ** k;
    const words = rd.words;
    const limit = rd.end + 64;
    for (let i = 0; i < m; i++) {
      const pos = rd.pos;
      if (pos > limit) return false;
      const wi = pos >>> 5;
      const o = pos & 31;
      const win = o === 0 ? words[wi] : (words[wi] << o) | (words[wi + 1] >>> (32 - o));
      const q = Math.clz32(~win);
      let z: number;
      if (q < ESC) {
        rd.pos = pos + q + 1;
        z = q * div + rd.readBig(k);
      } else {
        rd.pos = pos + ESC;
        z = rd.readBig(zWidth);
      }
      r[i] = center + unzigzag(z);
    }
  }
  if (order === LINEAR) {
    for (let i = 1; i < n; i++) out[off + i] = x0 + i * d1 + r[i - 1];
  } else if (order === 0) {
    for (let i = 1; i < n; i++) out[off + i] = r[i - 1];
  } else if (order === 1) {
    let acc = x0;
    for (let i = 1; i < n; i++) out[off + i] = acc += r[i - 1];
  } else if (n >= 2) {
    let d = d1;
    let acc = x0 + d;
    out[off + 1] = acc;
    for (let i = 2; i < n; i++) {
      d += r[i - 2];
      out[off + i] = acc += d;
    }
  }
  return rd.pos <= rd.end;
}
