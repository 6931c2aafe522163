/**
 * The real InfluxDB 1.x CLI (`/usr/bin/influx`, Debian's influxdb-client)
 * against Perch: it connects (reading the version from `/ping`), lists and
 * creates databases, switches with `use` (which the CLI checks with
 * `SHOW DATABASES`), inserts points, and gets an error naming PromQL for a
 * `SELECT`. The interactive session runs under `script` so the CLI sees a
 * terminal and handles `use` itself, as for a user. Fails when the CLI is
 * missing.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "../_perch.ts";
import { requireBinary } from "../_require.ts";

const INFLUX = "/usr/bin/influx";

async function run(cmd: string, args: string[], stdin?: string) {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const o = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

Deno.test("influx CLI: SHOW DATABASES, CREATE DATABASE, use, INSERT and SELECT against Perch", async () => {
  requireBinary(INFLUX, "influxdb-client");
  let perch = await spawnPerch();
  const dataDir = perch.dataDir;
  try {
    const cli = (...a: string[]) =>
      run(INFLUX, ["-host", "127.0.0.1", "-port", String(perch.port), ...a]);
    let r = await cli("-execute", "SHOW DATABASES");
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /name: databases/);
    assert.doesNotMatch(r.out, /sensors/);
    r = await cli("-execute", "CREATE DATABASE sensors");
    assert.equal(r.code, 0, r.out);

    const session = [
      "use sensors",
      "INSERT weather,room=attic temp=19.5,humidity=51i",
      "SELECT * FROM weather",
      "use nope",
      "exit",
      "",
    ].join("\n");
    r = await run("script", [
      "-qec",
      `${INFLUX} -host 127.0.0.1 -port ${perch.port}`,
      "/dev/null",
    ], session);
    assert.match(r.out, /Connected to http:\/\/127\.0\.0\.1:\d+ version 1\.8\.10/);
    assert.match(r.out, /Using database sensors/);
    assert.match(r.out, /ERR: Perch does not run InfluxQL SELECT: query the data with PromQL/);
    assert.match(r.out, /Database nope doesn't exist/);

    const q = await fetch(`${perch.url}/api/v1/query?query=weather_temp`).then((x) => x.json());
    assert.deepEqual(q.data.result.map((s: { metric: unknown }) => s.metric), [
      { __name__: "weather_temp", room: "attic" },
    ]);
    assert.equal(q.data.result[0].value[1], "19.5");

    // Created databases survive a restart.
    assert.equal(await perch.stop(), 0);
    perch = await spawnPerch({ dataDir });
    r = await run(INFLUX, [
      "-host",
      "127.0.0.1",
      "-port",
      String(perch.port),
      "-execute",
      "SHOW DATABASES",
    ]);
    assert.match(r.out, /\nsensors\n/);
  } finally {
    await perch.stop();
  }
});
