import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { md5, sha256, sha256Hex, toHex } from "./hash.ts";

Deno.test("sha256() and md5() give the published digests of the standard test messages", () => {
  assert.equal(
    sha256Hex(""),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(toHex(md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  assert.equal(toHex(md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  assert.equal(
    toHex(md5("12345678901234567890123456789012345678901234567890123456789012345678901234567890")),
    "57edf4a22be3c955ac49da2e2107b67a",
  );
});

Deno.test("sha256() and md5() agree with node:crypto on text of every length around block edges, UTF-8 included", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = ["a", "Z", "0", "=", "\n", "é", "€", "𝄞", "日"];
  for (let len = 0; len < 300; len++) {
    let s = "";
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    assert.deepEqual(sha256(s), new Uint8Array(createHash("sha256").update(s).digest()), s);
    assert.deepEqual(md5(s), new Uint8Array(createHash("md5").update(s).digest()), s);
  }
});
