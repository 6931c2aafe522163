/**
 * Differential test: Perch's built-in host collector against a real Debian
 * `prometheus-node-exporter` on the same machine. For every collector Perch
 * covers, both must expose the same metric names and the same label sets,
 * with values within the drift expected between two reads a second or two
 * apart. node_exporter runs with upstream's default exclusions (Debian
 * patches the mount-point and netdev defaults), which Perch follows.
 */
import assert from "node:assert/strict";
import { parsePrometheusText } from "../../core/ingest/prometheus_text.ts";
import { freePort, spawnWithConfig } from "../_perch.ts";
import { requireBinary } from "../_require.ts";
import { NODE_EXPORTER_BIN } from "../remote/_peers.ts";

/** The node_exporter collectors Perch covers (core/hostmetrics/README.md). */
const COLLECTORS = [
  "cpu",
  "cpufreq",
  "stat",
  "meminfo",
  "loadavg",
  "diskstats",
  "netdev",
  "netclass",
  "vmstat",
  "netstat",
  "sockstat",
  "softnet",
  "conntrack",
  "arp",
  "filesystem",
  "hwmon",
  "thermal_zone",
  "pressure",
  "filefd",
  "entropy",
  "uname",
  "time",
  "timex",
];

/** Upstream defaults (Debian's build changes the first and adds `^lo$` for netdev). */
const UPSTREAM_FLAGS = [
  "--collector.filesystem.mount-points-exclude=^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
  "--collector.diskstats.device-exclude=^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$",
  "--collector.netdev.device-exclude=",
];

/** Series only one side has, on purpose. */
const ONLY_PERCH = new Set([
  // Added in node_exporter 1.7; Debian ships 1.5.
  "node_filesystem_mount_info",
  // softnet series added after 1.5.
  "node_softnet_cpu_collision_total",
  "node_softnet_received_rps_total",
  "node_softnet_flow_limit_count_total",
  "node_softnet_backlog_len",
  // Added to netstat's default fields after 1.5.
  "node_netstat_TcpExt_TCPOFOQueue",
  "node_netstat_TcpExt_TCPRcvQDrop",
]);

/** Values that cannot change between two reads. */
const EXACT = new Set([
  "node_boot_time_seconds",
  "node_memory_MemTotal_bytes",
  "node_memory_SwapTotal_bytes",
  "node_memory_Hugepagesize_bytes",
  "node_memory_HugePages_Total",
  "node_memory_VmallocTotal_bytes",
  "node_filesystem_size_bytes",
  "node_filesystem_files",
  "node_filesystem_readonly",
  "node_filesystem_device_error",
  "node_uname_info",
  "node_entropy_pool_size_bits",
  "node_filefd_maximum",
  "node_time_clocksource_available_info",
  "node_time_clocksource_current_info",
  "node_time_zone_offset_seconds",
  "node_timex_tick_seconds",
  "node_timex_tai_offset_seconds",
  "node_timex_loop_time_constant",
  "node_scrape_collector_success",
  "node_network_up",
  "node_network_mtu_bytes",
  "node_network_speed_bytes",
  "node_network_flags",
  "node_thermal_zone_temp_max",
]);

/** Absolute slack by name (or name suffix), beside 10% of the value. */
function slack(name: string): number {
  const table: [RegExp, number][] = [
    [/^node_time_seconds$/, 60],
    [/^node_scrape_collector_duration_seconds$/, 10],
    [/^node_load/, 4],
    [/^node_cpu_(scaling_)?frequency_hertz$/, 5e9], // Clocks change with load: label sets only.
    [/^node_procs_/, 64],
    [/^node_entropy_available_bits$/, 4096],
    [/^node_filefd_allocated$/, 10_000],
    [/^node_timex_/, 2],
    [/^node_disk_io_now$/, 64],
    // Fans, voltages, currents and power swing between two reads: label sets only.
    [/^node_hwmon_(fan|in|curr|power|energy)_/, Infinity],
    [/^node_hwmon_|^node_thermal_zone_temp$/, 5],
    [/^node_vmstat_/, 1_000_000],
    [/^node_netstat_.*Octets$/, 256 * 2 ** 20],
    [/^node_netstat_/, 100_000],
    [/^node_sockstat_/, 64 * 2 ** 20],
    [/^node_softnet_|^node_nf_conntrack_|^node_arp_/, 100_000],
    [/_seconds_total$/, 60],
    [/_bytes_total$/, 256 * 2 ** 20],
    [/_bytes$/, 1 * 2 ** 30],
    [/_total$/, 100_000],
  ];
  for (const [re, v] of table) if (re.test(name)) return v;
  return 1000;
}

/** Labels added to node_exporter after 1.5 (Debian's version): left out of the comparison. */
const NEWER_LABELS: Record<string, string[]> = {
  node_disk_info: ["rotational"],
  node_network_info: ["adminstate"],
};

type Series = Map<string, number>; // label set (JSON, sorted, no job/instance) → value

function byFamily(entries: { name: string; labels: Record<string, string>; value: number }[]) {
  const out = new Map<string, Series>();
  for (const e of entries) {
    if (!e.name.startsWith("node_") || e.name === "node_exporter_build_info") continue;
    const ls = Object.entries(e.labels)
      .filter(([k, v]) => k !== "job" && k !== "instance" && k !== "__name__" && v !== "")
      .filter(([k]) => !NEWER_LABELS[e.name]?.includes(k))
      .sort(([a], [b]) => a < b ? -1 : 1);
    let f = out.get(e.name);
    if (!f) out.set(e.name, f = new Map());
    f.set(JSON.stringify(Object.fromEntries(ls)), e.value);
  }
  return out;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

Deno.test("Perch's host series match a real prometheus-node-exporter: names, label sets, values", async () => {
  requireBinary(NODE_EXPORTER_BIN, "prometheus-node-exporter");
  const port = freePort();
  const exporter = new Deno.Command(NODE_EXPORTER_BIN, {
    args: [
      `--web.listen-address=127.0.0.1:${port}`,
      "--collector.disable-defaults",
      ...COLLECTORS.map((c) => `--collector.${c}`),
      ...UPSTREAM_FLAGS,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exporterLog = "";
  const drain = (async () => {
    for await (const s of exporter.stderr.pipeThrough(new TextDecoderStream())) exporterLog += s;
  })();
  const perch = await spawnWithConfig(
    "host_metrics:\n  interval: 1s\n  instance: box-under-test\n",
  );
  try {
    await waitFor("node_exporter to listen", async () => {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`);
      await r.body?.cancel();
      return r.ok ? true : undefined;
    }).catch((e) => {
      throw new Error(`${e.message}\n${exporterLog}`);
    });
    const query = async (q: string) => {
      const r = await fetch(`${perch.url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = await r.json();
      assert.equal(body.status, "success", JSON.stringify(body));
      return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
    };
    // Two passes stored, so rate-free values are fresh.
    await waitFor("two host passes in Perch", async () => {
      const r = await query('count_over_time(node_time_seconds{job="node"}[1m])');
      return r.length === 1 && Number(r[0]!.value[1]) >= 2 ? true : undefined;
    });

    const perchRows = await query('{job="node",instance="box-under-test",__name__=~"node_.+"}');
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const rows = parsePrometheusText(text, { now: Date.now() });
    assert.deepEqual(rows.errors, []);
    const neEntries = [];
    for (let i = 0; i < rows.sampleCount; i++) {
      const j = rows.sampleSeries[i]!;
      const flat = rows.seriesLabels[j]!;
      const labels: Record<string, string> = {};
      for (let k = 0; k < flat.length; k += 2) labels[flat[k]!] = flat[k + 1]!;
      neEntries.push({ name: rows.seriesName[j]!, labels, value: rows.sampleV[i]! });
    }
    const ne = byFamily(neEntries);
    const ours = byFamily(
      perchRows.map((r) => ({
        name: r.metric.__name__!,
        labels: r.metric,
        value: Number(r.value[1]),
      })),
    );

    // Names: the same families on both sides.
    const neNames = [...ne.keys()].sort();
    const ourNames = [...ours.keys()].filter((n) => !ONLY_PERCH.has(n)).sort();
    assert.deepEqual(ourNames, neNames, "metric names differ");
    assert.ok(ne.has("node_cpu_seconds_total") && ne.has("node_filesystem_avail_bytes"));

    // Label sets and values.
    const problems: string[] = [];
    for (const [name, series] of ne) {
      const mine = ours.get(name)!;
      const a = [...series.keys()].sort(), b = [...mine.keys()].sort();
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        problems.push(
          `${name}: label sets differ\n  node_exporter: ${a.join(" ")}\n  perch: ${b.join(" ")}`,
        );
        continue;
      }
      for (const [ls, want] of series) {
        const got = mine.get(ls)!;
        const tol = EXACT.has(name) ? 0 : Math.max(Math.abs(want) * 0.1, slack(name));
        if (!(Math.abs(got - want) <= tol)) {
          problems.push(`${name}${ls}: perch ${got}, node_exporter ${want} (tolerance ${tol})`);
        }
      }
    }
    assert.deepEqual(problems, []);
    // The host job is a target like any other.
    const up = await query('up{job="node"}');
    assert.equal(up[0]?.value[1], "1");
  } finally {
    await perch.stop();
    exporter.kill("SIGTERM");
    await exporter.status;
    await drain;
    await Deno.remove(perch.dir, { recursive: true }).catch(() => {});
  }
});
