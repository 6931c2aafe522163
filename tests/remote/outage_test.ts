/**
 * Remote write out never skips stored data, with real peers: a real vmagent
 * scrapes a real node_exporter every second and remote-writes to a Perch
 * process; Perch remote-writes to a real VictoriaMetrics. Perch is killed
 * with SIGKILL and restarted several times while vmagent buffers, and
 * VictoriaMetrics is stopped for a while. Afterwards every sample Perch holds
 * must be in VictoriaMetrics (compared sample by sample); duplicates are
 * counted and bounded.
 */
import assert from "node:assert/strict";
import { freePort, type PerchProcess, spawnWithConfig } from "../_perch.ts";
import { requireBinary } from "../_require.ts";
import {
  eventually,
  NODE_EXPORTER_BIN,
  type Peer,
  seriesKey,
  startNodeExporter,
  startVM,
  startVMAgent,
  VM_BIN,
  VMAGENT_BIN,
  vmExport,
} from "./_peers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fails loudly (not a silent skip) when a peer binary is missing. */
function requirePeers(): void {
  requireBinary(VM_BIN, "victoria-metrics");
  requireBinary(VMAGENT_BIN, "victoria-metrics");
  requireBinary(NODE_EXPORTER_BIN, "prometheus-node-exporter");
}

type Samples = Map<string, Map<number, string>>;

function valueKey(v: unknown): string {
  if (v === null) return "NaN";
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  return String(v) === "StaleNaN" ? "NaN" : String(v);
}

/** Perch's raw samples, `series → t → value`, from its export API. */
async function perchExport(url: string): Promise<Samples> {
  const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent('{__name__=~".+"}')}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const out: Samples = new Map();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as {
      metric: Record<string, string>;
      values: unknown[];
      timestamps: number[];
    };
    const key = seriesKey(o.metric);
    let m = out.get(key);
    if (!m) out.set(key, m = new Map());
    for (let i = 0; i < o.timestamps.length; i++) m.set(o.timestamps[i]!, valueKey(o.values[i]));
  }
  return out;
}

/** Equal, or equal to VictoriaMetrics's precision (it keeps about 15 significant digits). */
function sameValue(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a), y = Number(b);
  return Math.abs(x - y) <= 1e-12 * Math.max(Math.abs(x), Math.abs(y));
}

interface Comparison {
  stored: number;
  found: number;
  missing: number;
  wrongValue: number;
  duplicates: number;
  examples: string[];
}

async function compare(perch: Samples, vmUrl: string): Promise<Comparison> {
  await fetch(`${vmUrl}/internal/force_flush`).then((r) => r.body?.cancel());
  const vm = await vmExport(vmUrl, '{__name__=~".+"}');
  const c: Comparison = {
    stored: 0,
    found: 0,
    missing: 0,
    wrongValue: 0,
    duplicates: 0,
    examples: [],
  };
  const down = new Map<string, Map<number, string>>();
  for (const [key, s] of vm) {
    const m = new Map<number, string>();
    for (let i = 0; i < s.t.length; i++) {
      if (m.has(s.t[i]!)) c.duplicates++;
      m.set(s.t[i]!, valueKey(s.v[i]));
    }
    down.set(key, m);
  }
  for (const [key, m] of perch) {
    const d = down.get(key);
    for (const [t, v] of m) {
      c.stored++;
      const got = d?.get(t);
      if (got === undefined) {
        c.missing++;
        if (c.examples.length < 10) c.examples.push(`${key} @${t}`);
      } else {
        c.found++;
        if (!sameValue(got, v)) {
          c.wrongValue++;
          if (c.examples.length < 10) {
            c.examples.push(`${key} @${t}: ${v} in Perch, ${got} downstream`);
          }
        }
      }
    }
  }
  return c;
}

async function metric(url: string, re: RegExp): Promise<number[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: number[] = [];
  for (const line of text.split("\n")) {
    const m = line.match(re);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

Deno.test({
  name:
    "vmagent → Perch (SIGKILLed and restarted while vmagent buffers) → VictoriaMetrics (stopped a while): nothing Perch stored is missing downstream",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requirePeers();
    const vmPort = freePort();
    const vmDir = await Deno.makeTempDir({ prefix: "perch-vm-" });
    let vm: Peer | undefined = await startVM({ port: vmPort, dataDir: vmDir });
    const dir = await Deno.makeTempDir({ prefix: "perch-outage-" });
    const config = `self_scrape:
  enabled: false
remote_write:
  - url: ${vm.url}/api/v1/write
    name: central
    metadata_config: { send: false }
    queue_config:
      batch_send_deadline: 1s
      settle_delay: 2s
      min_backoff: 100ms
      max_backoff: 1s
      healthy_lag: 5s
`;
    // vmagent needs one address for Perch across restarts.
    const perchPort = freePort();
    const startPerch = () =>
      spawnWithConfig(config, {
        dir,
        args: [`--listen=127.0.0.1:${perchPort}`],
        env: { PERCH_SELF_MONITORING_RULES: "false" },
      });
    const node = await startNodeExporter();
    let perch: PerchProcess | undefined = await startPerch();
    const agent = await startVMAgent({
      target: `127.0.0.1:${node.port}`,
      writeUrl: `${perch.url}/api/v1/write`,
    });
    // A fixed pseudo-random sequence: kills land at different points of the
    // catch-up, reproducibly.
    let seed = 4242;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    try {
      await sleep(8_000);
      // Three SIGKILLs while vmagent keeps scraping and buffering; each
      // restart meets a backlog arriving while the catch-up reader runs.
      for (let round = 0; round < 3; round++) {
        assert.equal(await perch.stop("SIGKILL"), 137);
        perch = undefined;
        await sleep(4_000 + random() * 4_000);
        perch = await startPerch();
        await sleep(3_000 + random() * 5_000);
        if (round === 1) {
          // VictoriaMetrics down for a while; Perch is killed meanwhile too.
          await vm.stop();
          vm = undefined;
          await sleep(3_000);
          assert.equal(await perch.stop("SIGKILL"), 137);
          perch = await startPerch();
          // /health tells that the endpoint is behind its healthy_lag.
          const url = perch.url;
          await eventually(
            async () => {
              const h = await (await fetch(`${url}/health`)).json();
              return h.checks.remote_write?.status === "degraded";
            },
            20_000,
            "/health degraded while VictoriaMetrics is down",
          );
          vm = await startVM({ port: vmPort, dataDir: vmDir });
        }
      }
      await sleep(5_000);
      // Stop the sources, then let Perch forward everything it holds.
      await agent.stop();
      await node.stop();
      let c: Comparison | undefined;
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        const lag = await metric(perch.url, /^perch_remote_write_lag_seconds\{[^}]*\} (\S+)/);
        if (lag.length === 1 && lag[0]! < 5) {
          c = await compare(await perchExport(perch.url), vm.url);
          if (c.missing === 0) break;
        }
        await sleep(1_000);
      }
      c ??= await compare(await perchExport(perch.url), vm.url);
      const url = perch.url;
      await eventually(
        async () =>
          (await metric(url, /^perch_remote_write_pending_samples\{[^}]*\} (\S+)/))[0] === 0,
        20_000,
        "nothing pending",
      );
      const health = await (await fetch(`${url}/health`)).json();
      assert.equal(health.checks.remote_write.status, "healthy", JSON.stringify(health));
      const counters = await (await fetch(`${perch.url}/metrics`)).text();
      console.log(
        `outage test: stored in Perch ${c.stored}, found downstream ${c.found}, ` +
          `missing ${c.missing}, duplicates ${c.duplicates}, wrong values ${c.wrongValue}`,
      );
      console.log(
        counters.split("\n").filter((l) => l.startsWith("perch_remote_write")).join("\n"),
      );
      assert.ok(c.stored > 5_000, `too few samples stored (${c.stored}); did vmagent push?`);
      assert.equal(c.missing, 0, `missing downstream, e.g.\n${c.examples.join("\n")}`);
      // Re-sent only what was in flight at a kill: a slice, or a vmagent
      // request Perch stored but had not acknowledged (vmagent sends it again).
      assert.ok(c.duplicates <= c.stored / 10, `${c.duplicates} duplicates`);
      assert.equal(c.wrongValue, 0, `values differ, e.g.\n${c.examples.join("\n")}`);
    } finally {
      await agent.stop().catch(() => {});
      await node.stop().catch(() => {});
      await perch?.stop("SIGKILL").catch(() => {});
      await vm?.stop().catch(() => {});
    }
  },
});
