import assert from "node:assert/strict";
import { toLabels } from "../model/mod.ts";
import { labelsHash, sampleOffset, xxhash64 } from "./label_hash.ts";

Deno.test("xxhash64() matches the XXH64 reference values", () => {
  const e = new TextEncoder();
  assert.equal(xxhash64(e.encode("")), 0xef46db3751d8e999n);
  assert.equal(xxhash64(e.encode("a")), 0xd24ec4f1a98c6e5bn);
  assert.equal(xxhash64(e.encode("abc")), 0x44bc2cf5ad770999n);
  assert.equal(
    xxhash64(e.encode("Nobody inspects the spammish repetition")),
    0xfbcea83c8a378bf1n,
  );
});

Deno.test("labelsHash() hashes length-prefixed names and values; sampleOffset() is in [0, 1]", () => {
  const l = toLabels("up", { job: "x" });
  const bytes = [8, ..."__name__", 2, ..."up", 3, ..."job", 1, ..."x"].map((c) =>
    typeof c === "number" ? c : c.charCodeAt(0)
  );
  assert.equal(labelsHash(l), xxhash64(Uint8Array.from(bytes)));
  const f = sampleOffset(l);
  assert.ok(f >= 0 && f <= 1);
  assert.notEqual(sampleOffset(toLabels("up", { job: "y" })), f);
});
