/**
 * Three widely used Grafana dashboards, imported unchanged into a real Perch
 * and drawn in a real Chromium with data from the real programs they watch:
 * "Node Exporter Full" (a real `prometheus-node-exporter`), "VictoriaMetrics
 * - single-node" (a real `victoria-metrics`) and "VictoriaMetrics - vmagent"
 * (a real `vmagent` remote-writing to Perch), all scraped by Perch every
 * second. Every row unfolds, no panel fails, and a panel shows "No data" only
 * when none of the metrics it queries exists. Bounded: one Perch, three
 * peers, one browser, about two minutes.
 */
import assert from "node:assert/strict";
import { Browser, CHROMIUM } from "./_cdp.ts";
import { requireBinary } from "../_require.ts";
import { freePort } from "../_perch.ts";
import { NODE_EXPORTER_BIN, VM_BIN, VMAGENT_BIN } from "../remote/_peers.ts";
import { startRealPerch } from "./_real_perch.ts";

const TESTDATA = new URL("../dashboards/testdata/", import.meta.url);
const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;

/** Every panel on the page: key, title, status, whether it drew something. */
const PANELS = `(() => [...document.querySelectorAll('.panel')].map((p) => {
  const c = p.querySelector('canvas');
  let inked = 0;
  if (c && c.width) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) { inked++; if (inked > 50) break; }
  }
  const text = [...p.querySelectorAll('.stat-value, .gauge-text, .bar-value, .table td.num')]
    .map((e) => e.textContent).filter((t) => t && t !== '–');
  return {
    key: p.dataset.panelId,
    title: p.querySelector('h2').textContent,
    type: [...p.classList].find((c) => c.startsWith('panel-'))?.slice(6) ?? '',
    status: p.dataset.status,
    noData: !!p.querySelector('.panel-body .muted.center'),
    drawn: inked > 50 || text.length > 0 || p.querySelectorAll('.legend tbody tr').length > 0,
    error: p.querySelector('.panel-error')?.textContent ?? '',
  };
}))()`;

interface Case {
  readonly file: string;
  /** Panels and rows in the file. */
  readonly total: number;
  readonly rows: number;
  /** Metric families whose presence decides whether a panel can have data. */
  readonly metrics: RegExp;
  /** Variables that must resolve to the peer, as `var-name=value` in the URL. */
  readonly vars: RegExp[];
  /** At least this many panels must draw data. */
  readonly minDrawn: number;
  /** The jobs (a regex) the dashboard's job variable can select here. */
  readonly jobs: string;
}

Deno.test({
  name: "Node Exporter Full, VictoriaMetrics and vmagent dashboards import and draw with real data",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    requireBinary(CHROMIUM, "chromium");
    requireBinary(NODE_EXPORTER_BIN, "prometheus-node-exporter");
    requireBinary(VM_BIN, "victoria-metrics");
    requireBinary(VMAGENT_BIN, "victoria-metrics");
    const tmp = await Deno.makeTempDir({ prefix: "perch-dash-peers-" });
    const nodePort = freePort(), vmPort = freePort(), agentPort = freePort();
    const peers = [
      new Deno.Command(NODE_EXPORTER_BIN, {
        args: [`--web.listen-address=127.0.0.1:${nodePort}`],
        stdout: "null",
        stderr: "null",
      }),
      new Deno.Command(VM_BIN, {
        args: [`-httpListenAddr=127.0.0.1:${vmPort}`, `-storageDataPath=${tmp}/vm`],
        stdout: "null",
        stderr: "null",
      }),
    ].map((c) => c.spawn());
    const [perch, b] = await Promise.all([
      startRealPerch(
        {},
        `scrape_configs:
  - job_name: node
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:${nodePort}"]
  # Debian's builds report an empty version label; upstream builds (which the
  # dashboards' variables select on) name the program in it.
  - job_name: victoria-metrics
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:${vmPort}"]
    metric_relabel_configs:
      - source_labels: [__name__, version]
        regex: "vm_app_version;"
        target_label: version
        replacement: victoria-metrics-debian
  - job_name: vmagent
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:${agentPort}"]
    metric_relabel_configs:
      - source_labels: [__name__, version]
        regex: "vm_app_version;"
        target_label: version
        replacement: vmagent-debian
`,
      ),
      Browser.launch({ width: 1600, height: 1000 }),
    ]);
    // vmagent scrapes the node exporter and remote-writes to Perch, so its own
    // remote-write metrics have something to count.
    await Deno.writeTextFile(
      `${tmp}/vmagent.yml`,
      `scrape_configs:\n  - job_name: agent-node\n    scrape_interval: 1s\n    static_configs:\n      - targets: ["127.0.0.1:${nodePort}"]\n`,
    );
    peers.push(
      new Deno.Command(VMAGENT_BIN, {
        args: [
          `-httpListenAddr=127.0.0.1:${agentPort}`,
          `-promscrape.config=${tmp}/vmagent.yml`,
          `-remoteWrite.url=${perch.url}/api/v1/write`,
          `-remoteWrite.tmpDataPath=${tmp}/agent`,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn(),
    );
    const counts: string[] = [];
    try {
      // Some scrapes of every peer, so rates have samples.
      const deadline = Date.now() + 40_000;
      for (const job of ["node", "victoria-metrics", "vmagent"]) {
        for (;;) {
          const q = `count_over_time(up{job="${job}"}[1m]) > 8 and up{job="${job}"} == 1`;
          const r = await perch.getJson<{ data: { result: unknown[] } }>(
            `/api/v1/query?query=${encodeURIComponent(q)}`,
          );
          if (r.data.result.length > 0) break;
          assert.ok(Date.now() < deadline, `${job} was not scraped`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      const cases: Case[] = [
        {
          file: "node-exporter-full.json",
          total: 141,
          rows: 16,
          metrics: /\bnode_[a-zA-Z0-9_]+/g,
          vars: [new RegExp(`var-node=127\\.0\\.0\\.1:${nodePort}`)],
          minDrawn: 60,
          jobs: "node|agent-node",
        },
        {
          file: "victoriametrics-single-node.json",
          total: 82,
          rows: 6,
          metrics: /\b(?:vm|go|process|flag)_[a-zA-Z0-9_]+/g,
          vars: [
            /var-job=victoria-metrics/,
            new RegExp(`var-instance=(\\$__all|127\\.0\\.0\\.1:${vmPort})`),
          ],
          minDrawn: 25,
          jobs: "victoria-metrics",
        },
        {
          file: "vmagent.json",
          total: 91,
          rows: 10,
          metrics: /\b(?:vm|vmagent|go|process|flag)_[a-zA-Z0-9_]+/g,
          vars: [/var-job=(vmagent|\$__all)/],
          minDrawn: 25,
          jobs: "vmagent",
        },
      ];
      for (const c of cases) {
        await t.step(c.file, () => importAndDraw(perch, b, c, counts));
      }
    } finally {
      console.log(counts.join("\n"));
      await b.close();
      await perch.close();
      for (const p of peers) {
        try {
          p.kill();
        } catch { /* Already gone. */ }
        await p.status;
      }
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

/** Imports a case's dashboard, opens it, unfolds every row and checks every panel. */
async function importAndDraw(
  perch: Awaited<ReturnType<typeof startRealPerch>>,
  b: Browser,
  c: Case,
  counts: string[],
): Promise<void> {
  const doc = JSON.parse(await Deno.readTextFile(new URL(c.file, TESTDATA)));
  const res = await fetch(`${perch.url}/api/dashboards/import/grafana`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(doc),
  });
  const body = await res.json();
  assert.ok(res.ok, `import: ${res.status} ${JSON.stringify(body).slice(0, 2000)}`);
  const id = body.dashboard.id;
  type Stored = { id: number; type: string; targets?: { expr: string; hide?: boolean }[] };
  const stored = await perch.getJson<{ panels: (Stored & { panels?: Stored[] })[] }>(
    `/api/dashboards/${id}`,
  );
  const total = stored.panels.reduce((n, p) => n + 1 + (p.panels?.length ?? 0), 0);
  assert.equal(total, c.total, "every panel and row of the dashboard is stored");

  await b.goto(`${perch.url}/d/${id}?from=now-5m&to=now`);
  for (const v of c.vars) {
    await b.waitFor(`${v}.test(decodeURIComponent(location.search))`, 15_000).catch(
      async (e) => {
        throw new Error(
          `variables did not resolve to ${v}: ${await b.eval(
            "decodeURIComponent(location.search)",
          )} (${e.message})`,
        );
      },
    );
  }
  const rows = await b.eval<number>(`document.querySelectorAll('.row-toggle').length`);
  assert.equal(rows, c.rows);
  await b.eval(`[...document.querySelectorAll('.row-toggle')]
      .filter((x) => x.getAttribute('aria-expanded') === 'false').forEach((x) => x.click())`);
  await b.waitFor(
    `[...document.querySelectorAll('.row-toggle')].every((x) => x.getAttribute('aria-expanded') === 'true')`,
  );
  const count = await b.eval<number>(`document.querySelectorAll('.panel').length`);
  assert.equal(
    count,
    c.total - c.rows,
    "every panel is on the page once the rows are open",
  );
  for (let i = 0; i < count; i++) {
    const loaded =
      `['ok', 'error'].includes(document.querySelectorAll('.panel')[${i}].dataset.status)`;
    if (await b.eval<boolean>(loaded)) continue;
    await b.eval(`document.querySelectorAll('.panel')[${i}].scrollIntoView()`);
    await b.waitFor(loaded, 20_000, `panel ${i} to load`);
  }
  await new Promise((r) => setTimeout(r, 1000)); // charts draw after data arrives
  const panels = await b.eval<
    {
      key: string;
      title: string;
      type: string;
      status: string;
      noData: boolean;
      drawn: boolean;
      error: string;
    }[]
  >(PANELS);
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await b.eval(`window.scrollTo(0, 0)`);
  await b.screenshot(`${ARTIFACTS}${c.file.replace(/\.json$/, "")}.png`);

  const failed = panels.filter((p) => p.status === "error");
  assert.deepEqual(failed.map((p) => `${p.title}: ${p.error}`), [], "no panel fails");

  // A panel without data must be one whose metrics Perch does not have.
  const exists = new Map<string, boolean>();
  const has = async (metric: string) => {
    if (!exists.has(metric)) {
      const r = await perch.getJson<{ data: unknown[] }>(
        `/api/v1/series?match[]=${encodeURIComponent(`${metric}{job=~"${c.jobs}"}`)}`,
      );
      exists.set(metric, r.data.length > 0);
    }
    return exists.get(metric)!;
  };
  const byKey = new Map<string, { expr: string }[]>();
  for (const p of stored.panels) {
    for (const q of [p, ...(p.panels ?? [])]) {
      byKey.set(String(q.id), (q.targets ?? []).filter((t) => !t.hide));
    }
  }
  const wrong: string[] = [];
  const text = panels.filter((p) => p.type === "text").length;
  for (const p of panels.filter((p) => p.type !== "text" && (p.noData || !p.drawn))) {
    const metrics = new Set(
      (byKey.get(p.key) ?? []).flatMap((t) => t.expr.match(c.metrics) ?? []),
    );
    let any = false;
    for (const m of metrics) any ||= await has(m);
    // Data exists for its metrics, yet nothing was drawn: only acceptable when the
    // query itself returns nothing now (filters such as `> 0`).
    if (any) {
      const empty = await Promise.all((byKey.get(p.key) ?? []).map(async (t) => {
        const r = await perch.getJson<{ data: { result: unknown[] } }>(
          `/api/v1/query_range?query=${
            encodeURIComponent(interpolateForCheck(t.expr, c.jobs))
          }&start=${Date.now() / 1000 - 300}&end=${Date.now() / 1000}&step=15`,
        ).catch(() => ({ data: { result: [] } }));
        return r.data.result.length === 0;
      }));
      if (!empty.every(Boolean)) wrong.push(`${p.title} (${[...metrics].join(", ")})`);
    }
  }
  const drawn = panels.filter((p) => p.drawn).length;
  counts.push(
    `${c.file}: ${c.total} imported (${c.rows} rows, ${count} panels, ${text} text), ` +
      `${drawn} drawn with data, ${count - drawn - text} without data here`,
  );
  assert.deepEqual(wrong, [], "panels without data although their queries return some");
  assert.ok(drawn >= c.minDrawn, `only ${drawn} panels drew data`);
  assert.deepEqual(b.errors, []);
}

Deno.test({
  name: "Node Exporter Full draws from Perch's built-in host metrics with no exporter installed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireBinary(CHROMIUM, "chromium");
    const [perch, b] = await Promise.all([
      startRealPerch({}, "host_metrics:\n  interval: 1s\n"),
      Browser.launch({ width: 1600, height: 1000 }),
    ]);
    const counts: string[] = [];
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await perch.getJson<{ data: { result: unknown[] } }>(
          `/api/v1/query?query=${
            encodeURIComponent('count_over_time(node_load1{job="node"}[1m]) > 8')
          }`,
        );
        if (r.data.result.length > 0) break;
        assert.ok(Date.now() < deadline, "the built-in host collector wrote nothing");
        await new Promise((r) => setTimeout(r, 500));
      }
      await importAndDraw(perch, b, {
        file: "node-exporter-full.json",
        total: 141,
        rows: 16,
        metrics: /\bnode_[a-zA-Z0-9_]+/g,
        vars: [new RegExp(`var-node=${Deno.hostname().replace(/[.]/g, "\\.")}`)],
        minDrawn: 60,
        jobs: "node",
      }, counts);
    } finally {
      console.log(`built-in host metrics: ${counts.join("\n")}`);
      await b.close();
      await perch.close();
    }
  },
});

/**
 * A dashboard query made runnable without the page's variables: `$__…`
 * macros become durations, `$job` the jobs the case allows, other
 * variables match anything.
 */
function interpolateForCheck(expr: string, jobs: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, "1m")
    .replace(/job\s*=~?\s*"\$\{?job\}?"/g, `job=~"${jobs}"`)
    .replace(/=~?"\$\{?[a-zA-Z_]+\}?"/g, '=~".*"')
    .replace(/\$\{?[a-zA-Z_]+(?::[a-z]+)?\}?/g, ".*");
}
