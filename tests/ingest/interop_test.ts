/**
 * Interop with real clients from Debian, each against a Perch child process:
 * - `/usr/bin/prometheus` scrapes itself every second and remote-writes to
 *   Perch; Perch must then answer for Prometheus's own series exactly what
 *   Prometheus answers (label sets, timestamps, value strings) at the same
 *   instant, and hold the metadata Prometheus sends;
 * - `/usr/bin/influx` (Debian's `influxdb-client`, InfluxDB 1.x CLI) writes
 *   line protocol with `INSERT` and `-import`; the points are queried back.
 *
 * Each test fails when its binary is missing (.ci/run installs it), and is
 * bounded in time.
 */
import assert from "node:assert/strict";
import { freePort, spawnPerch } from "../_perch.ts";
import { requireBinary } from "../_require.ts";
import { PROM_BIN } from "../remote/_peers.ts";

const INFLUX = "/usr/bin/influx";

async function getJson(url: string): Promise<{ status: string; data: unknown }> {
  const res = await fetch(url);
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${url}: not JSON (${res.status}): ${text}`);
  }
}

type Matrix = { metric: Record<string, string>; values: [number, string][] }[];
type Vector = { metric: Record<string, string>; value: [number, string] }[];

async function query<T>(base: string, q: string, t?: number): Promise<T> {
  const at = t === undefined ? "" : `&time=${t / 1000}`;
  const body = await getJson(`${base}/api/v1/query?query=${encodeURIComponent(q)}${at}`);
  assert.equal(body.status, "success", JSON.stringify(body));
  return (body.data as { result: T }).result;
}

function labelKey(m: Record<string, string>): string {
  return JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]]));
}

/** Polls `f` every 250 ms until it returns a value other than undefined, or fails. */
async function eventually<T>(
  what: string,
  timeoutMs: number,
  f: () => Promise<T | undefined>,
  detail: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts a child and keeps the last lines of its output for error messages. */
function spawnLogged(cmd: string, args: string[], cwd: string) {
  const child = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).spawn();
  const lines: string[] = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const bytes of s) {
      const chunk = dec.decode(bytes, { stream: true });
      lines.push(...chunk.split("\n").filter((l) => l !== ""));
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  return {
    lines,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
      await pumps;
    },
  };
}

Deno.test({
  name: "a real Prometheus remote-writing its own metrics to Perch: same series and values",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireBinary(PROM_BIN, "prometheus");
    const perch = await spawnPerch();
    const dir = await Deno.makeTempDir({ prefix: "perch-interop-prom-" });
    const promPort = freePort();
    const prom = `http://127.0.0.1:${promPort}`;
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${promPort}']
remote_write:
  - url: ${perch.url}/api/v1/write
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
      max_backoff: 1s
    metadata_config:
      send: true
      send_interval: 1s
`,
    );
    const p = spawnLogged(PROM_BIN, [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], dir);
    const logs = () =>
      `prometheus:\n${p.lines.slice(-20).join("\n")}\nperch:\n${perch.logs.slice(-20).join("\n")}`;
    try {
      // Prometheus's own series reach Perch (start-up and WAL replay take a few seconds).
      const up = await eventually("up and prometheus_build_info in Perch", 60_000, async () => {
        const up = await query<Vector>(perch.url, `up{job="prometheus"}`);
        const info = await query<Vector>(perch.url, "prometheus_build_info");
        return up.length === 1 && info.length === 1 ? up : undefined;
      }, logs);
      assert.deepEqual(up[0]!.metric, {
        __name__: "up",
        instance: `127.0.0.1:${promPort}`,
        job: "prometheus",
      });
      assert.equal(up[0]!.value[1], "1");
      const [info] = await query<Vector>(perch.url, "prometheus_build_info");
      const [promInfo] = await query<Vector>(prom, "prometheus_build_info");
      assert.deepEqual(info!.metric, promInfo!.metric);
      assert.match(info!.metric.version ?? "", /^2\./);

      // Wait for a few scrapes, then compare every series of the job over
      // the last 5 s at an instant half a second after Perch's newest `up`
      // sample (off the scrape grid, so window edges never matter).
      await eventually("3 samples of up in Perch", 20_000, async () => {
        const m = await query<Matrix>(perch.url, `up{job="prometheus"}[10s]`);
        return (m[0]?.values.length ?? 0) >= 3 ? true : undefined;
      }, logs);
      const last = await query<Matrix>(perch.url, `up{job="prometheus"}[10s]`);
      const lastT = last[0]!.values.at(-1)![0] * 1000;
      const at = lastT + 500;
      const sel = `{job="prometheus"}[5s]`;
      const byKey = (m: Matrix) => new Map(m.map((s) => [labelKey(s.metric), s.values]));
      let diff = "";
      const [mine, theirs] = await eventually(
        "Perch to hold every sample Prometheus has for the same instant",
        30_000,
        async () => {
          const a = byKey(await query<Matrix>(perch.url, sel, at));
          const b = byKey(await query<Matrix>(prom, sel, at));
          const missing = [...b.keys()].filter((k) => !a.has(k));
          const unequal = [...b.keys()].filter((k) =>
            a.has(k) && JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))
          );
          diff = `${missing.length} series missing (${missing.slice(0, 3)}), ` +
            `${unequal.length} differ (${unequal.slice(0, 3)})`;
          return missing.length === 0 && unequal.length === 0 ? [a, b] : undefined;
        },
        () => `${diff}\n${logs()}`,
      );
      // Prometheus's self-scrape has hundreds of series with float values.
      assert.ok(theirs.size > 100, `only ${theirs.size} series`);
      assert.deepEqual([...mine.keys()].sort(), [...theirs.keys()].sort());
      const dur = await query<Vector>(perch.url, `scrape_duration_seconds{job="prometheus"}`, at);
      const promDur = await query<Vector>(prom, `scrape_duration_seconds{job="prometheus"}`, at);
      assert.deepEqual(dur, promDur);

      // Metadata sent by remote write matches Prometheus's own.
      const md = await eventually(
        "metadata of prometheus_build_info in Perch",
        20_000,
        async () => {
          const body = await getJson(`${perch.url}/api/v1/metadata?metric=prometheus_build_info`);
          const d = body.data as Record<string, { type: string; help: string }[]>;
          return d.prometheus_build_info?.[0];
        },
        logs,
      );
      const promMd = await getJson(`${prom}/api/v1/metadata?metric=prometheus_build_info`);
      const theirMd = (promMd.data as Record<string, { type: string; help: string }[]>)
        .prometheus_build_info![0]!;
      assert.equal(md.type, theirMd.type);
      assert.equal(md.help, theirMd.help);
    } finally {
      await p.stop();
      await perch.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
    }
  },
});

async function influx(args: string[], cwd?: string) {
  const out = await new Deno.Command(INFLUX, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test({
  name: "the influx 1.x CLI writes line protocol to Perch with INSERT and -import",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireBinary(INFLUX, "influxdb-client");
    const perch = await spawnPerch();
    const dir = await Deno.makeTempDir({ prefix: "perch-interop-influx-" });
    const conn = ["-host", "127.0.0.1", "-port", String(perch.port), "-database", "perch"];
    const t = Math.floor(Date.now() / 1000) - 60; // seconds, a minute ago
    try {
      // INSERT with seconds precision, escaped tag value, int, float and bool fields.
      let r = await influx([
        ...conn,
        "-precision",
        "s",
        "-execute",
        `INSERT weather,room=living\\ room,floor=1 temp=21.5,humidity=40i,heating=true ${t}`,
      ]);
      assert.equal(r.code, 0, r.output);
      // INSERT without a timestamp: Perch stamps it with its clock.
      r = await influx([...conn, "-execute", "INSERT door,door=back open=1"]);
      assert.equal(r.code, 0, r.output);

      const at = (t + 1) * 1000;
      const temp = await query<Vector>(perch.url, "weather_temp", at);
      assert.deepEqual(temp, [{
        metric: { __name__: "weather_temp", floor: "1", room: "living room" },
        value: [at / 1000, "21.5"],
      }]);
      assert.equal((await query<Vector>(perch.url, "weather_humidity", at))[0]?.value[1], "40");
      assert.equal((await query<Vector>(perch.url, "weather_heating", at))[0]?.value[1], "1");
      // The range vector shows the sample at exactly the timestamp sent.
      const m = await query<Matrix>(perch.url, "weather_temp[1m]", at);
      assert.deepEqual(m[0]?.values, [[t, "21.5"]]);
      assert.equal((await query<Vector>(perch.url, "door_open"))[0]?.value[1], "1");

      // -import of an export file, with one string field Perch refuses.
      await Deno.writeTextFile(
        `${dir}/export.txt`,
        [
          "# DML",
          "# CONTEXT-DATABASE: perch",
          "# CONTEXT-RETENTION-POLICY: autogen",
          `pump,site=north rpm=1450i,temp=61.25 ${t}`,
          `pump,site=south rpm=1380i,temp=58 ${t}`,
          `pump,site=east state="running" ${t}`,
          "",
        ].join("\n"),
      );
      r = await influx([...conn, "-import", "-path", `${dir}/export.txt`, "-precision", "s"], dir);
      // The CLI counts a 400 (partial write) as a failed batch, as with InfluxDB itself;
      // Perch's message names the refused field, and the valid points are stored.
      assert.notEqual(r.code, 0, r.output);
      assert.match(r.output, /string field values are not supported/);
      assert.match(r.output, /partial write/);
      const rpm = await query<Vector>(perch.url, "pump_rpm", at);
      assert.deepEqual(
        rpm.map((s) => [s.metric.site, s.value[1]]).sort(),
        [["north", "1450"], ["south", "1380"]],
      );
      assert.equal(
        (await query<Vector>(perch.url, `pump_temp{site="north"}`, at))[0]?.value[1],
        "61.25",
      );
      assert.deepEqual(await query<Vector>(perch.url, `{site="east"}`, at), []);

      // A clean import exits 0.
      await Deno.writeTextFile(
        `${dir}/clean.txt`,
        `# DML\n# CONTEXT-DATABASE: perch\nvalve,id=7 open=false ${t}\n`,
      );
      r = await influx([...conn, "-import", "-path", `${dir}/clean.txt`, "-precision", "s"], dir);
      assert.equal(r.code, 0, r.output);
      assert.equal((await query<Vector>(perch.url, "valve_open", at))[0]?.value[1], "0");
    } finally {
      await perch.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
    }
  },
});
