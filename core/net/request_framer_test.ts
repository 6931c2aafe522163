import assert from "node:assert/strict";
import { FrameError, RequestFramer } from "./request_framer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Pushes `parts` one by one; returns the forwarded text, phases after each and heads seen. */
function run(parts: string[]) {
  const f = new RequestFramer({ addHeaders: ["x-perch-peer: 10.0.0.7"] });
  let text = "", heads = 0;
  const phases: string[] = [];
  for (const p of parts) {
    const r = f.push(enc.encode(p));
    for (const o of r.out) text += dec.decode(o);
    heads += r.heads;
    phases.push(f.phase);
  }
  return { text, heads, phases };
}

Deno.test("RequestFramer follows heads split anywhere and rewrites the peer header", () => {
  const req = "GET /health HTTP/1.1\r\nHost: a\r\nX-Perch-Peer: spoofed\r\n\r\n";
  for (let cut = 1; cut < req.length; cut++) {
    const r = run([req.slice(0, cut), req.slice(cut)]);
    assert.equal(r.heads, 1);
    assert.deepEqual(r.phases, cut === req.length ? ["idle"] : ["head", "idle"]);
    assert.equal(r.text, "GET /health HTTP/1.1\r\nHost: a\r\nx-perch-peer: 10.0.0.7\r\n\r\n");
  }
});

Deno.test("RequestFramer tracks Content-Length and chunked bodies and pipelined requests", () => {
  const a = "POST /w HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  const b =
    "POST /w HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n";
  const c = "GET / HTTP/1.1\r\n\r\n";
  const all = a + b + c;
  for (let cut = 1; cut < all.length; cut += 3) {
    const r = run([all.slice(0, cut), all.slice(cut)]);
    assert.equal(r.heads, 3, `cut ${cut}`);
    assert.equal(r.phases.at(-1), "idle");
    assert.equal(r.text.replaceAll("x-perch-peer: 10.0.0.7\r\n", ""), all);
  }
  assert.deepEqual(run(["POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nhalf"]).phases, ["body"]);
  assert.deepEqual(run(["GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x81\x00"]).phases, ["raw"]);
});

Deno.test("RequestFramer refuses smuggling, oversized heads and garbage", () => {
  const bad = (s: string, status: number) =>
    assert.throws(() => run([s]), (e) => e instanceof FrameError && e.status === status, s);
  bad("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  bad("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
  bad("GET / HTTP/1.1\r\n" + "X: y\r\n".repeat(20_000) + "\r\n", 431);
  bad("hello\r\n\r\n", 400);
  bad("PRI * HTTP/2.0\r\n\r\n", 505);
});
