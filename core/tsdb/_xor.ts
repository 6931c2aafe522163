/**
 * Gorilla XOR float coding (Pelkonen et al., VLDB 2015, as in Prometheus's
 * chunkenc/xor.go), on raw 64-bit patterns split into 32-bit halves so that
 * NaN payloads, -0, ±Inf and subnormals round-trip bit-exactly.
 *
 * @module
 */
import type { BitReader, BitWriter } from "./_bitstream.ts";

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Writes n values whose bit patterns are (hi[2i+1], lo[2i]) in `u32` from sample `s`. */
export function encodeXor(w: BitWriter, u32: Uint32Array, s: number, n: number): void {
  let ph = u32[2 * s + 1];
  let pl = u32[2 * s];
  w.write(ph, 32);
  w.write(pl, 32);
  let pLead = -1;
  let pTrail = 0;
  for (let i = s + 1, e = s + n; i < e; i++) {
    const h = u32[2 * i + 1];
    const l = u32[2 * i];
    const xh = (h ^ ph) >>> 0;
    const xl = (l ^ pl) >>> 0;
    ph = h;
    pl = l;
    if (xh === 0 && xl === 0) {
      w.write(0, 1);
      continue;
    }
    let lead = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
    if (lead > 31) lead = 31;
    const trail = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    let tr: number;
    let len: number;
    if (pLead >= 0 && lead >= pLead && trail >= pTrail) {
      w.write(2, 2);
      tr = pTrail;
      len = 64 - pLead - pTrail;
    } else {
      len = 64 - lead - trail;
      w.write(3, 2);
      w.write(lead, 5);
      w.write(len & 63, 6);
      pLead = lead;
      pTrail = trail;
      tr = trail;
    }
    let sh: number;
    let sl: number;
    if (tr >= 32) {
      sh = 0;
      sl = xh >>> (tr - 32);
    } else if (tr === 0) {
      sh = xh;
      sl = xl;
    } else {
      sh = xh >>> tr;
      sl = ((xl >>> tr) | (xh << (32 - tr))) >>> 0;
    }
    if (len > 32) {
      w.write(sh, len - 32);
      w.write(sl, 32);
    } else {
      w.write(sl, len);
    }
  }
}

/** Reads n values into `u32` (little-endian float64 halves) from sample `off`. */
export function decodeXor(rd: BitReader, u32: Uint32Array, off: number, n: number): boolean {
  let h = rd.read(32);
  let l = rd.read(32);
  u32[2 * off + 1] = h;
  u32[2 * off] = l;
  let lead = -1;
  let trail = 0;
  for (let i = off + 1, e = off + n; i < e; i++) {
    if (rd.read(1) !== 0) {
      if (rd.read(1) !== 0) {
        lead = rd.read(5);
        let len = rd.read(6);
        if (len === 0) len = 64;
        trail = 64 - lead - len;
        if (trail < 0) return false;
      } else if (lead < 0) {
        return false;
      }
      const len = 64 - lead - trail;
      let sh = 0;
      let sl: number;
      if (len > 32) {
        sh = rd.read(len - 32);
        sl = rd.read(32);
      } else {
        sl = rd.read(len);
      }
      if (trail >= 32) {
        h ^= sl << (trail - 32);
      } else if (trail === 0) {
        h ^= sh;
        l ^= sl;
      } else {
        h ^= (sh << trail) | (sl >>> (32 - trail));
        l ^= sl << trail;
      }
    }
    u32[2 * i + 1] = h;
    u32[2 * i] = l;
  }
  return rd.pos <= rd.end;
}
