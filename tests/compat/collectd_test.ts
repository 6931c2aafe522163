/**
 * Real collectd (Debian's collectd-core) sending its `load` plugin's values
 * to a Perch child three ways at once: `write_graphite` over TCP and over
 * UDP to Perch's Graphite listener (port 0: the port is read from Perch's
 * log), and `write_http` with `Format "JSON"` to `/api/v1/collectd`. The
 * same load averages must be queryable under each name. Fails when collectd
 * is missing.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "../_perch.ts";
import { eventually } from "../remote/_peers.ts";
import { requireBinary } from "../_require.ts";

const COLLECTD = "/usr/sbin/collectd";

Deno.test("collectd write_graphite (TCP, UDP) and write_http JSON reach Perch through one pipeline", async () => {
  requireBinary(COLLECTD, "collectd-core libyajl2");
  const perch = await spawnPerch({ env: { PERCH_GRAPHITE__LISTEN: "127.0.0.1:0" } });
  const dir = await Deno.makeTempDir({ prefix: "perch-collectd-" });
  let collectd: Deno.ChildProcess | undefined;
  const out: string[] = [];
  try {
    const line = await perch.waitForLog((l) => l.includes('"msg":"graphite listening"'));
    const addr = JSON.parse(line).addr as string;
    const port = Number(addr.slice(addr.lastIndexOf(":") + 1));
    assert.ok(port > 0, addr);
    const node = (name: string, protocol: string) =>
      `  <Node "${name}">\n    Host "127.0.0.1"\n    Port "${port}"\n    Protocol "${protocol}"\n` +
      `    Prefix "${name}."\n  </Node>\n`;
    await Deno.writeTextFile(
      `${dir}/collectd.conf`,
      [
        'Hostname "edge1"',
        "FQDNLookup false",
        "Interval 1",
        `BaseDir "${dir}"`,
        `PIDFile "${dir}/collectd.pid"`,
        'PluginDir "/usr/lib/collectd"',
        'TypesDB "/usr/share/collectd/types.db"',
        "LoadPlugin load",
        "LoadPlugin write_graphite",
        "LoadPlugin write_http",
        "<Plugin write_graphite>",
        node("tcp", "tcp") + node("udp", "udp") + "</Plugin>",
        "<Plugin write_http>",
        '  <Node "perch">',
        `    URL "${perch.url}/api/v1/collectd"`,
        '    Format "JSON"',
        "    BufferSize 1024",
        "  </Node>",
        "</Plugin>",
        "",
      ].join("\n"),
    );
    collectd = new Deno.Command(COLLECTD, {
      args: ["-f", "-C", `${dir}/collectd.conf`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    for (const s of [collectd.stdout, collectd.stderr]) {
      (async () => {
        for await (const c of s.pipeThrough(new TextDecoderStream())) out.push(c);
      })();
    }
    const names = [
      "tcp_edge1_load_load_shortterm",
      "udp_edge1_load_load_shortterm",
      'collectd_load_shortterm{instance="edge1"}',
    ];
    const values = new Map<string, number>();
    await eventually(
      async () => {
        for (const q of names) {
          const r = await fetch(`${perch.url}/api/v1/query?query=${encodeURIComponent(q)}`)
            .then((x) => x.json());
          const v = r.data?.result?.[0]?.value?.[1];
          if (v === undefined) return false;
          values.set(q, Number(v));
        }
        return true;
      },
      30_000,
      `collectd's load values under ${names.join(", ")}\n${out.join("")}`,
    );
    // The machine's 1-minute load average, a non-negative number on every path.
    for (const [q, v] of values) assert.ok(Number.isFinite(v) && v >= 0, `${q} = ${v}`);
    const meta = await fetch(`${perch.url}/api/v1/metadata?metric=collectd_load_shortterm`)
      .then((x) => x.json());
    assert.equal(meta.data.collectd_load_shortterm?.[0]?.type, "gauge");
    // Samples were counted per protocol by the shared pipeline.
    const metrics = await fetch(`${perch.url}/metrics`).then((x) => x.text());
    for (const protocol of ["graphite", "collectd"]) {
      assert.match(metrics, new RegExp(`protocol="${protocol}"`), protocol);
    }
  } finally {
    if (collectd) {
      try {
        collectd.kill("SIGTERM");
      } catch { /* gone */ }
      await collectd.status;
    }
    await perch.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
