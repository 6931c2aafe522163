import assert from "node:assert/strict";
import {
  snappyDecode,
  snappyEncode,
  SnappyError,
  SnappyTooLargeError,
  snappyUncompressedLength,
} from "./snappy.ts";
import { seededRandom } from "./_test_util.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("snappyDecode() decodes known vectors of every element kind", () => {
  const f = (input: number[], expected: string) =>
    assert.equal(text(snappyDecode(new Uint8Array(input))), expected, JSON.stringify(input));
  // Empty.
  f([0x00], "");
  // One-byte literal.
  f([0x01, 0x00, 0x61], "a");
  // Literal + copy with 1-byte offset: "abcd" then copy(off 4, len 8).
  f([0x0c, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x11, 0x04], "abcdabcdabcd");
  // Same with a 2-byte offset copy.
  f([0x0c, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x1e, 0x04, 0x00], "abcdabcdabcd");
  // Same with a 4-byte offset copy.
  f([0x0c, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x1f, 0x04, 0x00, 0x00, 0x00], "abcdabcdabcd");
  // Overlapping copy (run-length): "a" then copy(off 1, len 9).
  f([0x0a, 0x00, 0x61, 0x15, 0x01], "aaaaaaaaaa");
  // Overlapping copies with offsets of 3 and 5: "abc" + copy(off 3, len 7), "abcde" + copy(off 5, len 13).
  f([0x0a, 0x08, 0x61, 0x62, 0x63, 0x0d, 0x03], "abcabcabca");
  f([0x12, 0x10, 0x61, 0x62, 0x63, 0x64, 0x65, 0x32, 0x05, 0x00], "abcdeabcdeabcdeabc");
  // Literal of 70 bytes with a 1-byte length: tag 60<<2, then n-1 = 69.
  const seventy = "x".repeat(70);
  f([0x46, 0xf0, 69, ...bytes(seventy)], seventy);
  // Literal with a 2-byte length (300 bytes).
  const three = "y".repeat(300);
  f([0xac, 0x02, 0xf4, 0x2b, 0x01, ...bytes(three)], three);
});

Deno.test("snappyDecode() rejects corrupt input with a SnappyError", () => {
  const bad: number[][] = [
    [], // no header
    [0x80], // truncated varint
    [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // length too long
    [0x02, 0x00, 0x61], // shorter than the header says
    [0x01, 0x04, 0x61], // literal longer than input
    [0x01, 0x00, 0x61, 0x00, 0x62], // output overflows the length
    [0x04, 0x05, 0x00], // copy before any output (offset 0 > written)
    [0x05, 0x00, 0x61, 0x01, 0x00], // copy with offset 0
    [0x08, 0x00, 0x61, 0x0d, 0x02], // copy offset beyond output
    [0x05, 0x00, 0x61, 0x02], // truncated 2-byte copy
    [0x05, 0x00, 0x61, 0x03, 0x01], // truncated 4-byte copy
    [0x46, 0xf0], // truncated literal length
  ];
  for (const b of bad) {
    assert.throws(() => snappyDecode(new Uint8Array(b)), SnappyError, JSON.stringify(b));
  }
});

Deno.test("snappyDecode() refuses before allocating when the length exceeds the limit", () => {
  // Header claims 1 GiB.
  const bomb = new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x04]);
  assert.throws(() => snappyDecode(bomb, 1 << 20), SnappyTooLargeError);
});

Deno.test("snappyEncode() round-trips and compresses repetitive data", () => {
  const rnd = seededRandom(1);
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    bytes("a"),
    bytes("abcdabcdabcd"),
    bytes("a".repeat(100_000)),
    bytes('http_requests_total{method="GET",code="200"} '.repeat(5000)),
  ];
  for (let k = 0; k < 50; k++) {
    const n = rnd.int(200_000);
    const b = new Uint8Array(n);
    const alphabet = 1 + rnd.int(255);
    for (let i = 0; i < n; i++) b[i] = rnd.int(alphabet);
    cases.push(b);
  }
  for (const c of cases) {
    const enc = snappyEncode(c);
    assert.deepEqual(snappyDecode(enc), c);
  }
  const rep = bytes("a".repeat(100_000));
  assert.ok(snappyEncode(rep).length < 5000);
});

Deno.test("snappyDecode() never throws anything but snappy errors on random input", () => {
  const rnd = seededRandom(99);
  for (let k = 0; k < 5000; k++) {
    const b = new Uint8Array(rnd.int(40));
    for (let i = 0; i < b.length; i++) b[i] = rnd.int(256);
    try {
      snappyDecode(b, 1 << 20);
    } catch (e) {
      assert.ok(e instanceof SnappyError || e instanceof SnappyTooLargeError, String(e));
    }
  }
});

/** The block format read a byte at a time, as format_description.txt states it: what snappyDecode must match. */
function referenceDecode(src: Uint8Array, maxLength: number): Uint8Array {
  const [length, header] = snappyUncompressedLength(src);
  if (length > maxLength) throw new SnappyTooLargeError(length, maxLength);
  const dst = new Uint8Array(length);
  const n = src.length;
  let s = header, d = 0;
  while (s < n) {
    const tag = src[s++]!;
    let len: number, off: number;
    if ((tag & 3) === 0) {
      len = tag >>> 2;
      if (len >= 60) {
        const nb = len - 59;
        if (s + nb > n) throw new SnappyError("Cannot decode snappy: truncated literal length");
        len = 0;
        for (let k = 0; k < nb; k++) len += src[s + k]! * 2 ** (8 * k);
        s += nb;
      }
      len += 1;
      if (s + len > n) throw new SnappyError("Cannot decode snappy: truncated literal");
      if (d + len > length) throw new SnappyError("Cannot decode snappy: output overflows length");
      for (let k = 0; k < len; k++) dst[d++] = src[s++]!;
      continue;
    }
    const size = [0, 1, 2, 4][tag & 3]!;
    if (s + size > n) throw new SnappyError("Cannot decode snappy: truncated copy");
    if ((tag & 3) === 1) {
      len = 4 + ((tag >>> 2) & 7);
      off = ((tag >>> 5) << 8) | src[s]!;
    } else {
      len = 1 + (tag >>> 2);
      off = 0;
      for (let k = 0; k < size; k++) off += src[s + k]! * 2 ** (8 * k);
    }
    s += size;
    if (off === 0 || off > d) throw new SnappyError("Cannot decode snappy: invalid copy offset");
    if (d + len > length) throw new SnappyError("Cannot decode snappy: output overflows length");
    for (let k = 0; k < len; k++, d++) dst[d] = dst[d - off]!;
  }
  if (d !== length) {
    throw new SnappyError(`Cannot decode snappy: got ${d} bytes, header says ${length}`);
  }
  return dst;
}

/** A snappy stream of random elements (every kind, overlapping copies, lengths up to 64 and long literals), maybe broken. */
function randomStream(rnd: ReturnType<typeof seededRandom>): Uint8Array {
  const body: number[] = [];
  let out = 0;
  const elements = rnd.int(60);
  for (let e = 0; e < elements; e++) {
    const kind = out === 0 ? 0 : rnd.int(4);
    if (kind === 0) {
      const len = rnd.int(8) === 0 ? 1 + rnd.int(300) : 1 + rnd.int(20);
      if (len <= 60) body.push((len - 1) << 2);
      else if (len <= 256) body.push(60 << 2, len - 1);
      else body.push(61 << 2, (len - 1) & 0xff, (len - 1) >>> 8);
      for (let k = 0; k < len; k++) body.push(rnd.int(rnd.int(2) === 0 ? 4 : 256));
      out += len;
    } else {
      const off = 1 + rnd.int(Math.min(out, rnd.int(2) === 0 ? 20 : 2047));
      if (kind === 1) {
        const len = 4 + rnd.int(8);
        body.push(((off >>> 8) << 5) | ((len - 4) << 2) | 1, off & 0xff);
        out += len;
      } else {
        const len = 1 + rnd.int(64);
        body.push(((len - 1) << 2) | kind, off & 0xff, off >>> 8);
        if (kind === 3) body.push(0, 0);
        out += len;
      }
    }
  }
  // Sometimes a header that disagrees with the elements, or a broken body.
  let length = out;
  if (rnd.int(8) === 0) length = Math.max(0, out + rnd.int(9) - 4);
  const header: number[] = [];
  for (let v = length;; v >>>= 7) {
    if (v < 0x80) {
      header.push(v);
      break;
    }
    header.push((v & 0x7f) | 0x80);
  }
  const all = [...header, ...body];
  if (rnd.int(8) === 0 && all.length > 0) all.length = rnd.int(all.length);
  if (rnd.int(8) === 0 && all.length > 0) all[rnd.int(all.length)] = rnd.int(256);
  return new Uint8Array(all);
}

Deno.test("snappyDecode() gives the bytes or the error of a byte-at-a-time decoder, into dirty pooled buffers", () => {
  const rnd = seededRandom(7);
  const pool = new Uint8Array(1 << 16);
  const outcome = (f: () => Uint8Array) => {
    try {
      return Array.from(f()).join();
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  let decoded = 0;
  for (let k = 0; k < 20_000; k++) {
    const src = randomStream(rnd);
    // The source at an odd offset of a larger buffer, the output in a reused buffer full of old bytes.
    const padded = new Uint8Array(src.length + 3);
    padded.set(src, 1);
    const at = padded.subarray(1, 1 + src.length);
    pool.fill(0xa5);
    const got = outcome(() => snappyDecode(at, 1 << 15, (n) => pool.subarray(1, 1 + n)));
    const want = outcome(() => referenceDecode(src, 1 << 15));
    assert.equal(got, want, JSON.stringify(Array.from(src)));
    if (!want.startsWith("Snappy")) decoded++;
  }
  assert.ok(decoded > 10_000, `only ${decoded} valid streams`);
});
