import assert from "node:assert/strict";
import { crc32c } from "./crc32c.ts";

/** Bit-at-a-time reference implementation, for cross-checking the tables. */
function slowCrc32c(data: Uint8Array): number {
  let c = ~0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

Deno.test("crc32c() matches the published check value and RFC 3720 vectors", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

Deno.test("crc32c() agrees with a bitwise reference for every length 0..300", () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) & 0xff);
  for (let n = 0; n <= 300; n++) {
    assert.equal(crc32c(data.subarray(0, n)), slowCrc32c(data.subarray(0, n)), `length ${n}`);
  }
});

Deno.test("crc32c() continues a running checksum and honours start/end", () => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 31) & 0xff);
  const whole = crc32c(data);
  for (const cut of [0, 1, 7, 8, 9, 50, 99, 100]) {
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), whole);
    assert.equal(crc32c(data, crc32c(data, 0, 0, cut), cut, 100), whole);
  }
  assert.equal(crc32c(data, 0, 10, 20), crc32c(data.subarray(10, 20)));
});

Deno.test("crc32c() detects a single flipped bit", () => {
  const data = new TextEncoder().encode("perch write-ahead log record");
  const good = crc32c(data);
  for (let bit = 0; bit < data.length * 8; bit++) {
    data[bit >> 3] ^= 1 << (bit & 7);
    assert.notEqual(crc32c(data), good);
    data[bit >> 3] ^= 1 << (bit & 7);
  }
});
