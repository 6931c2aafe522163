import assert from "node:assert/strict";
import { STALE_NAN } from "../model/mod.ts";
import {
  ChunkCorruptError,
  chunkMeta,
  chunkSampleCount,
  decodeChunk,
  decodeChunkInto,
  encodeChunk,
  MAX_CHUNK_SAMPLES,
} from "./chunk.ts";

/** Small seeded PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function bits(a: Float64Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length * 2));
}

function fromBits(hi: number, lo: number): number {
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  u[1] = hi;
  u[0] = lo;
  return f[0];
}

const SPECIAL = [
  STALE_NAN,
  NaN,
  fromBits(0xfff80000, 0x12345), // negative quiet NaN with payload
  fromBits(0x7ff00000, 0x1), // signalling NaN
  Infinity,
  -Infinity,
  -0,
  0,
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  1e308,
  -1.7976931348623157e308,
  0.1 + 0.2,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 60),
  1 / 3,
  123456789.123,
];

/** Encodes, decodes both ways and checks bit-exact equality and the header. */
function roundTrip(t: Float64Array, v: Float64Array, label: string): Uint8Array {
  const chunk = encodeChunk(t, v);
  const meta = chunkMeta(chunk);
  assert.equal(meta.count, t.length, `${label}: count`);
  assert.equal(meta.minT, t[0], `${label}: minT`);
  assert.equal(meta.maxT, t[t.length - 1], `${label}: maxT`);
  const d = decodeChunk(chunk);
  assert.deepEqual(bits(d.t), bits(t), `${label}: timestamps`);
  assert.deepEqual(bits(d.v), bits(v), `${label}: values`);
  const off = 3;
  const t2 = new Float64Array(t.length + 5);
  const v2 = new Float64Array(t.length + 5);
  assert.equal(decodeChunkInto(chunk, t2, v2, off), t.length);
  assert.deepEqual(bits(t2.subarray(off, off + t.length)), bits(t), `${label}: into t`);
  assert.deepEqual(bits(v2.subarray(off, off + t.length)), bits(v), `${label}: into v`);
  assert.equal(t2[off - 1], 0, `${label}: wrote before offset`);
  assert.equal(t2[off + t.length], 0, `${label}: wrote after offset`);
  return chunk;
}

type Gen = (r: () => number, n: number) => { t: Float64Array; v: Float64Array };

function times(r: () => number, n: number, kind: number): Float64Array {
  const t = new Float64Array(n);
  let x = kind === 3 ? -(2 ** 52) + Math.floor(r() * 1000) : kind === 4 ? -86_400_000 : 1.7e12;
  for (let i = 0; i < n; i++) {
    t[i] = x;
    if (kind === 0) x += 10_000;
    else if (kind === 1) x += 10_000 + Math.floor(r() * 11) - 5; // scrape jitter
    else if (kind === 2) x += r() < 0.05 ? Math.floor(r() * 1e12) + 1 : 15_000; // huge gaps
    else x += 1 + Math.floor(r() * 2 ** (r() * 40));
  }
  return t;
}

const valueGens: Record<string, (r: () => number, n: number) => Float64Array> = {
  counter: (r, n) => {
    const v = new Float64Array(n);
    let x = Math.floor(r() * 1e9);
    for (let i = 0; i < n; i++) v[i] = x += Math.floor(r() * 5000);
    return v;
  },
  gauge2: (r, n) => {
    const v = new Float64Array(n);
    let x = 50;
    for (let i = 0; i < n; i++) v[i] = Math.round((x += r() * 4 - 2) * 100) / 100;
    return v;
  },
  constant: (_r, n) => new Float64Array(n).fill(42.5),
  negativeDecimals: (r, n) => Float64Array.from({ length: n }, () => -Math.floor(r() * 1e6) / 1e3),
  randomFloats: (r, n) => Float64Array.from({ length: n }, () => (r() - 0.5) * 10 ** (r() * 40)),
  randomBits: (r, n) => {
    const v = new Float64Array(n);
    const u = new Uint32Array(v.buffer);
    for (let i = 0; i < u.length; i++) u[i] = Math.floor(r() * 4294967296);
    return v;
  },
  special: (r, n) =>
    Float64Array.from({ length: n }, () => SPECIAL[Math.floor(r() * SPECIAL.length)]),
  decimalsWithStale: (r, n) =>
    Float64Array.from(
      { length: n },
      (_, i) => r() < 0.03 ? STALE_NAN : Math.round(i * r() * 100) / 100,
    ),
  mixedScale: (r, n) =>
    Float64Array.from({ length: n }, () => r() < 0.1 ? 1.2345678901 : Math.round(r() * 1000) / 10),
  laplaceWalk: (r, n) => {
    const v = new Float64Array(n);
    let x = 0;
    for (let i = 0; i < n; i++) {
      const u = r() - 0.5;
      x += Math.round(-Math.sign(u) * Math.log(1 - 2 * Math.abs(u)) * 40);
      v[i] = x / 1000;
    }
    return v;
  },
  spikes: (r, n) =>
    Float64Array.from(
      { length: n },
      () => r() < 0.02 ? Math.floor(r() * 2 ** 45) : Math.floor(r() * 8),
    ),
  hugeIntegers: (r, n) => Float64Array.from({ length: n }, () => Math.floor(r() * 2 ** 53)),
  bigSteps: (r, n) => {
    const v = new Float64Array(n);
    let x = 0;
    for (let i = 0; i < n; i++) v[i] = x += Math.floor((r() - 0.5) * 2 ** 48);
    return v;
  },
};

Deno.test("encodeChunk() round-trips random and adversarial series bit-exactly", () => {
  const r = rng(20240601);
  const sizes = [1, 2, 3, 4, 7, 8, 9, 31, 64, 120, 121, 500];
  let cases = 0;
  for (const [name, gen] of Object.entries(valueGens)) {
    for (let tk = 0; tk <= 5; tk++) {
      for (const n of sizes) {
        const g: Gen = (rr, nn) => ({ t: times(rr, nn, tk), v: gen(rr, nn) });
        const { t, v } = g(r, n);
        roundTrip(t, v, `${name}, time kind ${tk}, n=${n}`);
        cases++;
      }
    }
  }
  assert.ok(cases > 700);
});

Deno.test("encodeChunk() round-trips every special value alone and next to decimals", () => {
  for (const s of SPECIAL) {
    roundTrip(new Float64Array([5]), new Float64Array([s]), `alone ${s}`);
    roundTrip(new Float64Array([1, 2, 3, 4]), new Float64Array([1.5, s, 2.25, s]), `mixed ${s}`);
    roundTrip(new Float64Array([1, 2, 3]), new Float64Array([s, s, 7]), `leading ${s}`);
  }
});

Deno.test("encodeChunk() handles negative, huge and non-integer timestamps", () => {
  const v = new Float64Array([1, 2, 3]);
  for (
    const t of [
      [-(2 ** 52), 0, 2 ** 52],
      [-(2 ** 53) + 1, -5, 2 ** 53 - 1],
      [-1e300, 1.5, 1e300],
      [-Infinity, 0, Infinity],
      [-1000, -0, 1000],
      [0.5, 0.75, 1],
      [-86_400_000, -86_390_000, -86_380_000],
    ]
  ) roundTrip(new Float64Array(t), v, `t=${t}`);
});

Deno.test("encodeChunk() stores the largest chunk", () => {
  const r = rng(7);
  const n = MAX_CHUNK_SAMPLES;
  roundTrip(times(r, n, 1), valueGens.gauge2(r, n), "max gauge");
  roundTrip(times(r, n, 5), valueGens.special(r, n), "max special");
  assert.throws(
    () => encodeChunk(new Float64Array(n + 1).map((_, i) => i), new Float64Array(n + 1)),
    RangeError,
  );
});

Deno.test("chunkSampleCount() reads the count chunkMeta reads, at every varint length", () => {
  const r = rng(9);
  for (const n of [1, 2, 127, 128, 129, 16383, 16384, MAX_CHUNK_SAMPLES]) {
    const c = encodeChunk(times(r, n, 1), valueGens.gauge2(r, n));
    assert.equal(chunkSampleCount(c), n);
    assert.equal(chunkMeta(c).count, n);
  }
});

Deno.test("encodeChunk() respects [start, end)", () => {
  const t = new Float64Array([10, 20, 30, 45, 50]);
  const v = new Float64Array([1, NaN, 3.5, -0, 5]);
  const d = decodeChunk(encodeChunk(t, v, 1, 4));
  assert.deepEqual(bits(d.t), bits(t.subarray(1, 4)));
  assert.deepEqual(bits(d.v), bits(v.subarray(1, 4)));
});

Deno.test("encodeChunk() rejects bad input with RangeError", () => {
  const v = new Float64Array(3);
  const f = (t: number[], start?: number, end?: number) =>
    assert.throws(() => encodeChunk(new Float64Array(t), v, start, end), RangeError);
  f([1, 1, 2]); // equal timestamps
  f([3, 2, 1]); // descending
  f([1, NaN, 3]);
  f([NaN]);
  f([1, 2, 3], 2, 2); // empty
  f([1, 2, 3], -1, 2);
  f([1, 2, 3], 0, 4);
  f([1, 2, 3], 0.5, 2);
  assert.throws(() => encodeChunk(new Float64Array([1, 2]), new Float64Array(1)), RangeError);
});

Deno.test("decodeChunkInto() refuses arrays that are too short", () => {
  const chunk = encodeChunk(new Float64Array([1, 2, 3]), new Float64Array([1, 2, 3]));
  assert.throws(
    () => decodeChunkInto(chunk, new Float64Array(4), new Float64Array(4), 2),
    RangeError,
  );
  assert.throws(
    () => decodeChunkInto(chunk, new Float64Array(3), new Float64Array(2), 0),
    RangeError,
  );
});

Deno.test("decodeChunk() throws ChunkCorruptError on any flipped bit, truncation or bad version", () => {
  const r = rng(99);
  for (const name of ["counter", "gauge2", "special", "decimalsWithStale"]) {
    const chunk = encodeChunk(times(r, 120, 1), valueGens[name](r, 120));
    for (let bit = 0; bit < chunk.length * 8; bit++) {
      const bad = chunk.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      assert.throws(() => decodeChunk(bad), ChunkCorruptError, `${name}: bit ${bit}`);
      assert.throws(() => chunkMeta(bad), ChunkCorruptError);
    }
    for (const len of [0, 1, 3, 5, chunk.length - 1]) {
      assert.throws(() => decodeChunk(chunk.subarray(0, len)), ChunkCorruptError);
    }
  }
});

Deno.test("decodeChunk() rejects a well-checksummed chunk of another version or garbage", async () => {
  const { crc32c } = await import("./crc32c.ts");
  const seal = (body: number[]) => {
    const out = new Uint8Array(body.length + 4);
    out.set(body);
    new DataView(out.buffer).setUint32(body.length, crc32c(out.subarray(0, body.length)), true);
    return out;
  };
  const good = encodeChunk(new Float64Array([1, 2, 4]), new Float64Array([1, 2, 3]));
  const body = Array.from(good.subarray(0, good.length - 4));
  assert.throws(() => decodeChunk(seal([2, ...body.slice(1)])), /unknown version 2/);
  assert.throws(() => decodeChunk(seal([1, 0x33, ...body.slice(2)])), /unknown encoding/);
  assert.throws(() => decodeChunk(seal([1, 0, 0, 0])), /bad sample count/);
  const r = rng(5);
  for (let i = 0; i < 2000; i++) {
    const junk = Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 256));
    junk[0] = 1;
    junk[1] = [0x00, 0x01, 0x10, 0x11, 0x20, 0x21][i % 6];
    try {
      decodeChunk(seal(junk));
    } catch (e) {
      if (!(e instanceof ChunkCorruptError) && !(e instanceof RangeError)) throw e;
    }
  }
});

Deno.test("encodeChunk() compresses regular decimal series far below Gorilla", () => {
  const r = rng(3);
  const n = 120;
  const t = times(r, n, 0);
  // Constant interval: the whole time column is the header.
  const constant = encodeChunk(t, new Float64Array(n).fill(1));
  assert.ok(constant.length <= 20, `constant chunk is ${constant.length} bytes`);
  // Two-decimal random walk with steps of ±2.00: ~8.6 bits of information per sample.
  const gauge = encodeChunk(t, valueGens.gauge2(r, n));
  assert.ok(gauge.length / n < 1.4, `gauge chunk is ${gauge.length / n} B/sample`);
  // Jitter of ±5 ms costs a few bits per sample, not a varint.
  const jit = encodeChunk(times(r, n, 1), new Float64Array(n).fill(1));
  assert.ok(jit.length / n < 0.75, `jittered times take ${jit.length / n} B/sample`);
  // Peaked (Laplacian) steps cost little more than their entropy (~7.5 bits at scale 40).
  const lap = encodeChunk(times(r, 720, 0), valueGens.laplaceWalk(r, 720));
  assert.ok(lap.length * 8 / 720 < 8.4, `laplace walk takes ${lap.length * 8 / 720} bits/sample`);
  // A few huge outliers do not widen every other value.
  const spiky = encodeChunk(times(r, 720, 0), valueGens.spikes(r, 720));
  assert.ok(spiky.length / 720 < 1.2, `spiky series takes ${spiky.length / 720} B/sample`);
  // A stale marker in a decimal chunk is an exception, not a fallback to XOR.
  const v = valueGens.gauge2(r, n);
  const plain = encodeChunk(t, v).length;
  v[n - 1] = STALE_NAN;
  assert.ok(encodeChunk(t, v).length <= plain + 10);
});
