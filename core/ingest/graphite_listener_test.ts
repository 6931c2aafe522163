import assert from "node:assert/strict";
import dgram from "node:dgram";
import { GraphiteListener } from "./graphite_listener.ts";
import type { ParsedRows } from "./rows.ts";
import { renderRows } from "./_test_util.ts";

Deno.test("GraphiteListener joins lines split across TCP reads and takes UDP datagrams", async () => {
  const got: string[] = [];
  let notify = () => {};
  const l = new GraphiteListener({
    hostname: "127.0.0.1",
    port: 0,
    now: () => 1_000,
    append: (rows: ParsedRows) => {
      got.push(...renderRows(rows));
      notify();
      return Promise.resolve();
    },
  });
  await l.start();
  const until = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got only ${got.join("; ")}`)), 10_000);
      notify = () => {
        if (got.length >= n) {
          clearTimeout(timer);
          resolve();
        }
      };
      notify();
    });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
    const enc = new TextEncoder();
    await conn.write(enc.encode("a.b 1 100\nc.d 2"));
    await conn.write(enc.encode(" 200\nbroken\n"));
    conn.close();
    await until(3);
    const udp = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) =>
      udp.send("e;t=x 3 300\n", l.port, "127.0.0.1", (e) => e ? reject(e) : resolve())
    );
    udp.close();
    await until(4);
    // Line numbers count within what one read delivered, so only the message is fixed.
    assert.deepEqual(got.map((l) => l.replace(/^ERR line \d+/, "ERR line N")), [
      "a_b 1 @100000",
      "c_d 2 @200000",
      "ERR line N: line must be <path> <value> [<timestamp>]",
      'e{t="x"} 3 @300000',
    ]);
  } finally {
    await l.stop();
  }
});
