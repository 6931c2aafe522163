/**
 * Interop: Debian's `promtool query instant|range|series|labels` against a
 * running Perch, checking promtool's printed output. Fails when
 * /usr/bin/promtool is missing (apt-get install prometheus).
 */
import assert from "node:assert/strict";
import { spawnPerch } from "../_perch.ts";
import { requireBinary } from "../_require.ts";

const PROMTOOL = "/usr/bin/promtool";

async function promtool(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(PROMTOOL, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

Deno.test({
  name: "promtool query instant, range, series and labels work against Perch",
  async fn() {
    requireBinary(PROMTOOL, "prometheus");
    const perch = await spawnPerch();
    try {
      // Whole seconds, 2 min ago, so promtool's float-second times are exact.
      const t = Math.floor(Date.now() / 1000) * 1000 - 120_000;
      const lines = [
        `room_temp,room=kitchen value=21.5 ${t - 60_000}`,
        `room_temp,room=kitchen value=22.25 ${t}`,
        `room_temp,room=hall value=19 ${t}`,
      ];
      const res = await fetch(`${perch.url}/write?precision=ms`, {
        method: "POST",
        body: lines.join("\n") + "\n",
      });
      assert.equal(res.status, 204, await res.text());

      const s = (ms: number) => String(ms / 1000);
      let r = await promtool("query", "instant", "--time", s(t), perch.url, "room_temp_value");
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.out.trim().split("\n").sort(), [
        `room_temp_value{room="hall"} => 19 @[${s(t)}]`,
        `room_temp_value{room="kitchen"} => 22.25 @[${s(t)}]`,
      ]);

      r = await promtool(
        "query",
        "instant",
        "--time",
        s(t),
        perch.url,
        'sum by (room) (room_temp_value{room="kitchen"}) * 2',
      );
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), `{room="kitchen"} => 44.5 @[${s(t)}]`);

      r = await promtool(
        "query",
        "range",
        "--start",
        s(t - 60_000),
        "--end",
        s(t),
        "--step",
        "30s",
        perch.url,
        'room_temp_value{room="kitchen"}',
      );
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.out.trim().split("\n"), [
        `room_temp_value{room="kitchen"} =>`,
        `21.5 @[${s(t - 60_000)}]`,
        `21.5 @[${s(t - 30_000)}]`,
        `22.25 @[${s(t)}]`,
      ]);

      r = await promtool("query", "series", "--match", "room_temp_value", perch.url);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.out.trim().split("\n"), [
        `{__name__="room_temp_value", room="hall"}`,
        `{__name__="room_temp_value", room="kitchen"}`,
      ]);

      r = await promtool("query", "labels", perch.url, "room");
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.out.trim().split("\n"), ["hall", "kitchen"]);

      // A syntax error reaches promtool as Prometheus's bad_data error.
      r = await promtool("query", "instant", perch.url, "sum(room_temp_value");
      assert.equal(r.code, 1);
      assert.match(r.err, /bad_data: invalid parameter "query": 1:20: parse error/);
    } finally {
      await perch.stop();
      await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
    }
  },
});
