import assert from "node:assert/strict";
import { snappyDecode, snappyEncode, SnappyError, SnappyTooLargeError } from "./snappy.ts";
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
