/**
 * The hand-written digests against node:crypto in the same run, on the
 * shapes Perch hashes: a series-id input of an alert's labels (~100 bytes,
 * hex SHA-256) and a short `hashmod` source value (MD5).
 *
 *   deno bench --allow-all core/model/hash_bench.ts
 *
 * @module
 */
import { createHash } from "node:crypto";
import { md5, sha256Hex } from "./hash.ts";

const labels = Array.from(
  { length: 1000 },
  (_, i) => `http_requests_total\ncode=200\ninstance=10.0.${i >> 8}.${i & 255}:9100\njob=node\n`,
);
const addresses = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}:9100`);

Deno.bench("sha256Hex, 1000 series-id inputs", { group: "sha256" }, () => {
  for (const s of labels) sha256Hex(s);
});
Deno.bench("node:crypto sha256 hex, 1000 series-id inputs", { group: "sha256" }, () => {
  for (const s of labels) createHash("sha256").update(s).digest("hex");
});
Deno.bench("md5, 1000 addresses", { group: "md5" }, () => {
  for (const s of addresses) md5(s);
});
Deno.bench("node:crypto md5, 1000 addresses", { group: "md5" }, () => {
  for (const s of addresses) createHash("md5").update(s).digest();
});
