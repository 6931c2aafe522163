import assert from "node:assert/strict";
import { ByteReader, ByteWriter } from "./_byte_buf.ts";

Deno.test("ByteWriter.str writes the UTF-8 bytes after their length, ASCII or not", () => {
  const strings = [
    "",
    "up",
    "x".repeat(127),
    "y".repeat(128),
    "héllo",
    "a".repeat(126) + "€",
    "🦕",
  ];
  const w = new ByteWriter(4);
  for (const s of strings) w.str(s);
  const want = new ByteWriter(4);
  for (const s of strings) {
    const b = new TextEncoder().encode(s);
    want.uvarint(b.length);
    want.bytes(b);
  }
  assert.deepEqual(w.view(), want.view());
  const r = new ByteReader(w.view());
  assert.deepEqual(strings.map(() => r.str()), strings);
});
