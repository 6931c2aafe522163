/**
 * Slow and misbehaving clients against a real Perch child: 100 connections
 * each send half a request line and wait (slowloris). `/health` keeps
 * answering throughout, and the header timeout closes every stalled
 * connection with a 408. A half-sent body is dropped by the body timeout,
 * an idle keep-alive connection by the idle timeout, and connections over
 * `server.max_connections` get 503.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "./_perch.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function closeAll(conns: Deno.Conn[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // Closed by Perch.
    }
  }
}

/** Reads until the peer closes (bounded); returns what arrived. */
async function readToClose(c: Deno.Conn, timeoutMs: number): Promise<string | undefined> {
  const buf = new Uint8Array(4096);
  let text = "";
  const timer = setTimeout(() => c.close(), timeoutMs);
  try {
    for (;;) {
      const n = await c.read(buf);
      if (n === null) return text;
      text += dec.decode(buf.subarray(0, n));
    }
  } catch {
    return undefined; // Closed by us: the timeout passed.
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("100 half-sent requests: /health answers throughout; the header timeout drops them", async () => {
  const perch = await spawnPerch({
    env: {
      PERCH_SERVER__HEADER_TIMEOUT: "3s",
      PERCH_SERVER__BODY_TIMEOUT: "2s",
      PERCH_SERVER__IDLE_TIMEOUT: "2s",
    },
  });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: perch.port });
      await c.write(enc.encode("GET /heal"));
      conns.push(c);
    }
    const closed = conns.map((c) => readToClose(c, 60_000));
    // While all 100 are stalled, /health answers (latencies printed, not asserted).
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const res = await fetch(`${perch.url}/health`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      latencies.push(Math.round(performance.now() - t0));
    }
    const open = (await (await fetch(`${perch.url}/metrics`)).text()).match(
      /^perch_http_connections (\d+)/m,
    );
    assert.ok(Number(open?.[1]) >= 100, `open connections: ${open?.[1]}`);
    // Every stalled connection is closed by Perch, with a 408.
    const answers = await Promise.all(closed);
    for (const a of answers) {
      assert.ok(a !== undefined, "a stalled connection was never closed");
      assert.match(a, /^HTTP\/1\.1 408 /);
    }
    const metrics = await (await fetch(`${perch.url}/metrics`)).text();
    const drops = Number(
      /perch_http_connections_dropped_total\{reason="header_timeout"\} (\d+)/.exec(metrics)?.[1],
    );
    assert.ok(drops >= 100, `header_timeout drops: ${drops}`);
    console.log(`/health while 100 clients stalled: ${latencies.join(", ")} ms`);

    // A body that stops half way is dropped by the body timeout, and nothing is stored.
    const half = await Deno.connect({ hostname: "127.0.0.1", port: perch.port });
    const body = '{"name":"half_sent","value":1}';
    await half.write(enc.encode(
      `POST /api/v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${
        body.slice(0, 10)
      }`,
    ));
    assert.notEqual(await readToClose(half, 60_000), undefined);
    const q = await (await fetch(`${perch.url}/api/v1/query?query=half_sent`)).json();
    assert.deepEqual(q.data.result, []);

    // An idle keep-alive connection is closed after its request was answered.
    const idle = await Deno.connect({ hostname: "127.0.0.1", port: perch.port });
    await idle.write(enc.encode("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
    const answered = await readToClose(idle, 60_000);
    assert.match(answered ?? "", /^HTTP\/1\.1 200 /);
  } finally {
    closeAll(conns);
    assert.equal(await perch.stop(), 0);
    await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("connections over server.max_connections get 503; the ones inside keep working", async () => {
  const perch = await spawnPerch({ env: { PERCH_SERVER__MAX_CONNECTIONS: "10" } });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: perch.port }));
    }
    const extra = await Deno.connect({ hostname: "127.0.0.1", port: perch.port });
    const refused = await readToClose(extra, 30_000);
    assert.match(refused ?? "", /^HTTP\/1\.1 503 [\s\S]*server\.max_connections: 10/);
    // An admitted connection still gets answers.
    await conns[0]!.write(
      enc.encode("GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert.match((await readToClose(conns[0]!, 30_000)) ?? "", /^HTTP\/1\.1 200 /);
  } finally {
    closeAll(conns);
    assert.equal(await perch.stop(), 0);
    await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
  }
});
