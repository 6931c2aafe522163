/**
 * The compressed WAL samples record (type 3, FORMAT.md "WAL"): a bit stream
 * that codes each sample against the previous sample of the same series in
 * the same segment: timestamps as delta-of-delta, values as exact decimals
 * (scaled integers) with an adaptive Rice code of the delta, refs as "next
 * ref" bits. State lives per segment, so every segment decodes on its own;
 * the first sample of a series in a segment is written in full.
 *
 * The encoder state must match what is on disk: {@linkcode Wal} encodes a
 * group of records when it writes it and starts a new segment (fresh state)
 * after any failed write.
 *
 * @module
 */
import { bitLength, unzigzag, zigzag } from "./_bitstream.ts";
import type { ByteReader, ByteWriter } from "./_byte_buf.ts";

/** Record type of compressed samples. */
export const REC_SAMPLES_V2 = 3;
/**
 * Record type of compressed samples that start from fresh state (a sync
 * point): a reader that skipped a damaged record resumes decoding here.
 */
export const REC_SAMPLES_SYNC = 4;
/** A sync point is written at least this many record bytes after the previous one. */
export const SYNC_MIN_BYTES = 4 << 10;
/**
 * ...and at least this many bytes per series written in full since then, so
 * the full first samples after a sync cost at most about 8% of the WAL.
 */
export const SYNC_BYTES_PER_SERIES = 128;

/**
 * Samples to log, as columns: sample i in [0, n) is series `refs[i]`,
 * timestamp `t[i]` and value `v[i]` (typed arrays in storage, so the encoder
 * reads them without calls).
 */
export interface SampleSource {
  readonly n: number;
  readonly refs: ArrayLike<number>;
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
}

/** State is kept in arrays indexed by ref; refs are dense counters from 1. */
const MAX_REF = 2 ** 27;
const SCALE_RAW = 15;
const MAX_SCALE = 14;
const P10 = Array.from({ length: MAX_SCALE + 1 }, (_, k) => 10 ** k);
const RICE_ESCAPE = 20;
const T_SAFE = 2 ** 52;
const M_MAX = 2 ** 49;
/**
 * Most bytes one sample takes: a ref varint (<= 5 bytes + 1 bit), a raw
 * timestamp (8 bytes + 2 bits) and a value (4 + 64 bits, or a Rice escape of
 * 20 + 6 + 53 bits).
 */
const MAX_SAMPLE_BYTES = 32;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function isNegZero(x: number): boolean {
  return x === 0 && 1 / x < 0;
}

/** Smallest scale at which v is an exact decimal with |m| <= 2^49, or SCALE_RAW. */
function scaleOf(v: number): number {
  if (!Number.isFinite(v) || isNegZero(v)) return SCALE_RAW;
  for (let s = 0; s <= MAX_SCALE; s++) {
    const m = Math.round(v * P10[s]);
    if (Math.abs(m) > M_MAX) return SCALE_RAW;
    if ((s === 0 ? m : m / P10[s]) === v) return s;
  }
  return SCALE_RAW;
}

/** m at scale s if v is exact there, else NaN. */
function mAt(v: number, s: number): number {
  if (s === SCALE_RAW || !Number.isFinite(v) || isNegZero(v)) return NaN;
  const m = Math.round(v * P10[s]);
  if (Math.abs(m) > M_MAX) return NaN;
  return (s === 0 ? m : m / P10[s]) === v ? m : NaN;
}

/** Per-series state of one segment, in typed arrays indexed by ref. */
class State {
  epoch = new Uint32Array(0); // segment+1 in which the state was set; 0 = none
  lastT = new Float64Array(0);
  lastD = new Float64Array(0);
  lastM = new Float64Array(0);
  avg = new Float64Array(0);
  scale = new Uint8Array(0);

  ensure(ref: number): void {
    if (ref < this.epoch.length) return;
    if (ref > MAX_REF) {
      throw new Error(`Cannot code WAL samples: series ref ${ref} above ${MAX_REF}`);
    }
    const n = Math.max(ref + 1, this.epoch.length * 2, 256);
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.epoch = grow(this.epoch, new Uint32Array(n));
    this.lastT = grow(this.lastT, new Float64Array(n));
    this.lastD = grow(this.lastD, new Float64Array(n));
    this.lastM = grow(this.lastM, new Float64Array(n));
    this.avg = grow(this.avg, new Float64Array(n));
    this.scale = grow(this.scale, new Uint8Array(n));
  }

  setTime(ref: number, t: number): void {
    const p = this.lastT[ref];
    this.lastD[ref] = Number.isInteger(t) && Math.abs(t) <= T_SAFE && Number.isInteger(p) &&
        Math.abs(p) <= T_SAFE
      ? t - p
      : 0;
    this.lastT[ref] = t;
  }

  updateAvg(ref: number, zz: number): void {
    this.avg[ref] += (Math.min(zz, 2 ** 40) - this.avg[ref]) / 4;
  }
}

function riceK(avg: number): number {
  const b = bitLength(Math.floor(avg));
  return b > 0 ? b - 1 : 0;
}

/**
 * A bit writer straight into a {@linkcode ByteWriter} (MSB first), with
 * 32-bit integer arithmetic. It does not grow the buffer: the encoder makes
 * room for {@linkcode MAX_SAMPLE_BYTES} before each sample.
 */
class Bits {
  /** Fewer than 8 bits not yet written, right-aligned. */
  cur = 0;
  fill = 0;
  constructor(readonly w: ByteWriter) {}

  /** Writes the low `n` bits of x (0 <= x < 2^n, n <= 53). */
  write(x: number, n: number): void {
    if (n > 24) {
      this.write(Math.floor(x / 2 ** 24), n - 24);
      x %= 2 ** 24;
      n = 24;
    }
    // cur < 2^7, so cur << 24 stays below 2^31.
    const cur = (this.cur << n) | x;
    let fill = this.fill + n;
    const w = this.w, b = w.buf;
    let p = w.pos;
    while (fill >= 8) {
      fill -= 8;
      b[p++] = cur >>> fill; // the store keeps the low 8 bits
    }
    w.pos = p;
    this.cur = cur & ((1 << fill) - 1);
    this.fill = fill;
  }

  varint(x: number): void {
    while (x >= 128) {
      this.write((x % 128) | 128, 8);
      x = Math.floor(x / 128);
    }
    this.write(x, 8);
  }

  raw64(x: number): void {
    f64[0] = x;
    // 16-bit halves: small integers (no boxed numbers), each within write's 24 bits.
    const hi = u32[1], lo = u32[0];
    this.write(hi >>> 16, 16);
    this.write(hi & 0xffff, 16);
    this.write(lo >>> 16, 16);
    this.write(lo & 0xffff, 16);
  }

  end(): void {
    if (this.fill > 0) this.write(0, 8 - this.fill);
  }
}

/**
 * Reads bits MSB first from bytes [start, end) of `buf`; past the end it
 * yields zero bits (callers compare `pos` with `end`). Its own state, unlike
 * the chunk codec's shared BitReader, so decoding can call into the head.
 */
class BitsIn {
  pos: number;
  readonly end: number;
  constructor(readonly buf: Uint8Array, start: number, end: number) {
    this.pos = start * 8;
    this.end = end * 8;
  }

  read(n: number): number {
    let x = 0;
    while (n > 0) {
      const i = this.pos >>> 3;
      const byte = this.pos < this.end ? this.buf[i] : 0;
      const off = this.pos & 7;
      const take = 8 - off < n ? 8 - off : n;
      x = x * (1 << take) + ((byte >>> (8 - off - take)) & ((1 << take) - 1));
      this.pos += take;
      n -= take;
    }
    return x;
  }

  /** One bit: `read(1)` without the loop (most of a record's reads). */
  bit(): number {
    const p = this.pos++;
    return p < this.end ? (this.buf[p >>> 3] >>> (7 - (p & 7))) & 1 : 0;
  }

  readVarint(): number {
    let x = 0, mul = 1;
    for (let k = 0; k < 8; k++) {
      const b = this.read(8);
      x += (b & 127) * mul;
      if (b < 128) return x <= Number.MAX_SAFE_INTEGER ? x : -1;
      mul *= 128;
    }
    return -1;
  }
}

/** Encodes samples records against one segment's state. */
export class SampleEncoder {
  #s = new State();
  #epoch = 1;
  #sync = true;
  #since = 0;
  #fresh = 0;

  /** Forgets all state: the next record starts a new segment (and is a sync point). */
  reset(): void {
    this.#epoch++;
    this.#sync = true;
  }

  /**
   * Appends a samples record (type byte included) for `src` to `w`: type 4
   * with fresh state when a sync point is due (see {@linkcode SYNC_MIN_BYTES}),
   * else type 3.
   */
  encode(w: ByteWriter, src: SampleSource): void {
    if (
      !this.#sync &&
      this.#since >= Math.max(SYNC_MIN_BYTES, SYNC_BYTES_PER_SERIES * this.#fresh)
    ) this.#sync = true;
    if (this.#sync) {
      this.#sync = false;
      this.#epoch++;
      this.#since = 0;
      this.#fresh = 0;
    }
    const start = w.pos;
    const st = this.#s, ep = this.#epoch;
    w.u8(this.#since === 0 ? REC_SAMPLES_SYNC : REC_SAMPLES_V2);
    w.uvarint(src.n);
    const b = new Bits(w);
    let prevRef = 0;
    const refs = src.refs, ts = src.t, vs = src.v;
    let maxRef = 0;
    for (let i = 0; i < src.n; i++) if (refs[i]! > maxRef) maxRef = refs[i]!;
    st.ensure(maxRef);
    const { epoch, lastT, lastD, lastM, avg: avgs, scale } = st;
    for (let i = 0; i < src.n; i++) {
      const ref = refs[i]!, t = ts[i]!, v = vs[i]!;
      w.ensure(MAX_SAMPLE_BYTES);
      // The common codes of a sample are gathered in acc (nb <= 24 bits) and written
      // at once; the bits are the same as code by code.
      let acc = 0, nb = 1; // ref: '0'
      if (ref !== prevRef + 1) {
        const zr = zigzag(ref - prevRef - 1);
        if (zr < 128) {
          acc = 0x100 | zr; // '1', then a one-byte varint
          nb = 9;
        } else {
          b.write(1, 1);
          b.varint(zr);
          nb = 0;
        }
      }
      prevRef = ref;
      if (epoch[ref] !== ep) {
        b.write(acc, nb);
        epoch[ref] = ep;
        this.#fresh++;
        b.raw64(t);
        lastT[ref] = t;
        lastD[ref] = 0;
        avgs[ref] = 0;
        this.#absValue(b, ref, v);
        continue;
      }
      // Time.
      const lt = lastT[ref];
      const dod = t - lt - lastD[ref];
      const ints = Number.isInteger(t) && Math.abs(t) <= T_SAFE && Number.isInteger(lt) &&
        Math.abs(lt) <= T_SAFE;
      if (ints && Math.abs(dod) <= T_SAFE && !isNegZero(t)) {
        if (dod === 0) {
          acc <<= 1;
          nb++;
        } else {
          const zd = zigzag(dod);
          if (zd < 128) {
            acc = (acc << 10) | 0x200 | zd; // '10', then a one-byte varint
            nb += 10;
          } else {
            b.write(acc, nb);
            b.write(2, 2);
            b.varint(zd);
            acc = nb = 0;
          }
        }
      } else {
        b.write(acc, nb);
        b.write(3, 2);
        b.raw64(t);
        acc = nb = 0;
      }
      // As st.setTime and st.updateAvg, written out: calls would box the numbers.
      lastD[ref] = ints ? t - lt : 0;
      lastT[ref] = t;
      // Value.
      const m = mAt(v, scale[ref]);
      if (m === m) {
        const zz = zigzag(m - lastM[ref]);
        const avg = avgs[ref];
        const k = riceK(avg);
        if (zz < 2 ** 31 && k < 31 && (zz >>> k) < RICE_ESCAPE) {
          // Integer arithmetic, so the bits passed on are small integers.
          const q = zz >>> k;
          const len = q + 2 + k; // '0', q ones, a zero, the low k bits
          const code = (((1 << (q + 1)) - 2) << k) | (zz & ((1 << k) - 1));
          if (nb + len <= 24) b.write((acc << len) | code, nb + len);
          else {
            b.write(acc, nb);
            if (len <= 24) b.write(code, len);
            else {
              b.write((1 << (q + 1)) - 2, q + 2);
              b.write(zz & ((1 << k) - 1), k);
            }
          }
        } else {
          b.write(acc, nb);
          b.write(0, 1);
          const q = Math.floor(zz / 2 ** k);
          if (q < RICE_ESCAPE) {
            b.write(2 ** (q + 1) - 2, q + 1);
            b.write(zz % 2 ** k, k);
          } else this.#escape(b, zz);
        }
        avgs[ref] = avg + (Math.min(zz, 2 ** 40) - avg) / 4;
        lastM[ref] = m;
      } else {
        b.write((acc << 1) | 1, nb + 1);
        this.#absValue(b, ref, v);
      }
    }
    b.end();
    this.#since += Math.max(1, w.pos - start);
  }

  /** A Rice quotient of RICE_ESCAPE or more: the escape, then zz in full. */
  #escape(b: Bits, zz: number): void {
    b.write(2 ** RICE_ESCAPE - 1, RICE_ESCAPE);
    const L = bitLength(zz);
    b.write(L, 6);
    b.write(zz, L);
  }

  #absValue(b: Bits, ref: number, v: number): void {
    const st = this.#s;
    const s = scaleOf(v);
    b.write(s, 4);
    st.scale[ref] = s;
    if (s === SCALE_RAW) b.raw64(v);
    else {
      const m = mAt(v, s);
      b.varint(zigzag(m));
      st.lastM[ref] = m;
    }
  }
}

/** Decodes type-3 and type-4 records of one segment after another, in WAL order. */
export class SampleDecoder {
  #s = new State();
  #epoch = 0;
  #segment = -1;

  /**
   * Decodes the payload of a type-3 record (after the type byte) of
   * `segment` and calls `onSample` per sample in record order; returns the
   * count. Records of one segment must come in order; a new segment number
   * or `sync` (a type-4 record) starts fresh state. Throws on a malformed
   * record.
   */
  decode(
    r: ByteReader,
    segment: number,
    onSample: (ref: number, t: number, v: number) => void,
    sync = false,
  ): number {
    if (segment !== this.#segment || sync) {
      this.#segment = segment;
      this.#epoch++;
    }
    const st = this.#s, ep = this.#epoch;
    const n = r.uvarint();
    const rd = new BitsIn(r.buf, r.pos, r.end);
    r.pos = r.end;
    const bad = (what: string) => new Error(`Cannot decode WAL samples: ${what}`);
    const varint = () => {
      const x = rd.readVarint();
      if (x < 0) throw bad("bad varint");
      return x;
    };
    const raw64 = () => {
      u32[1] = rd.read(32);
      u32[0] = rd.read(32);
      return f64[0];
    };
    const absValue = (ref: number) => {
      const s = rd.read(4);
      st.scale[ref] = s;
      if (s === SCALE_RAW) return raw64();
      if (s > MAX_SCALE) throw bad("bad scale");
      const m = unzigzag(varint());
      st.lastM[ref] = m;
      return s === 0 ? m : m / P10[s];
    };
    let prevRef = 0;
    for (let i = 0; i < n; i++) {
      const ref = rd.bit() === 0 ? prevRef + 1 : prevRef + 1 + unzigzag(varint());
      if (ref < 1 || ref > 0xffffffff) throw bad("bad series ref");
      prevRef = ref;
      // Checked here, not by a call per sample: replay runs this cold (interpreted).
      if (ref >= st.epoch.length) st.ensure(ref);
      let t: number, v: number;
      if (st.epoch[ref] !== ep) {
        st.epoch[ref] = ep;
        t = raw64();
        st.lastT[ref] = t;
        st.lastD[ref] = 0;
        st.avg[ref] = 0;
        v = absValue(ref);
      } else {
        const tag = rd.bit() === 0 ? 0 : 2 + rd.bit(); // '0', '10' or '11'
        if (tag === 0) t = st.lastT[ref] + st.lastD[ref];
        else if (tag === 2) t = st.lastT[ref] + st.lastD[ref] + unzigzag(varint());
        else t = raw64();
        st.setTime(ref, t);
        if (rd.bit() === 0) {
          const s = st.scale[ref];
          if (s > MAX_SCALE) throw bad("delta on a raw value");
          const k = riceK(st.avg[ref]);
          let q = 0;
          while (q < RICE_ESCAPE && rd.bit() === 1) q++;
          let zz: number;
          if (q < RICE_ESCAPE) zz = q * 2 ** k + rd.read(k);
          else zz = rd.read(rd.read(6));
          st.updateAvg(ref, zz);
          const m = st.lastM[ref] + unzigzag(zz);
          st.lastM[ref] = m;
          v = s === 0 ? m : m / P10[s];
        } else v = absValue(ref);
      }
      if (rd.pos > rd.end) throw bad("truncated");
      onSample(ref, t, v);
    }
    return n;
  }
}
