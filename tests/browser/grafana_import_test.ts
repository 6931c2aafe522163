/**
 * Grafana's most used dashboard, "Node Exporter Full", imported unchanged
 * into a real Perch that scrapes a real `prometheus-node-exporter` (and,
 * second, into one with only its built-in host metrics), then drawn in a
 * real Chromium: every row unfolds, no panel fails, and a panel
 * shows "No data" only when none of the node_* metrics it queries exists on
 * this machine. Bounded: per test one Perch, at most one exporter, one
 * browser, about 90 s.
 */
import assert from "node:assert/strict";
import { Browser, hasChromium } from "./_cdp.ts";
import { type RealPerch, startRealPerch } from "./_real_perch.ts";

const EXPORTER = "/usr/bin/prometheus-node-exporter";
const FIXTURE = new URL("../dashboards/testdata/node-exporter-full.json", import.meta.url);
const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Every panel on the page: key, title, status, whether it drew something. */
const PANELS = `(() => [...document.querySelectorAll('.panel')].map((p) => {
  const c = p.querySelector('canvas');
  let inked = 0;
  if (c && c.width) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) { inked++; if (inked > 50) break; }
  }
  const text = [...p.querySelectorAll('.stat-value, .gauge-text, .bar-value')]
    .map((e) => e.textContent).filter((t) => t && t !== '–');
  return {
    key: p.dataset.panelId,
    title: p.querySelector('h2').textContent,
    status: p.dataset.status,
    noData: !!p.querySelector('.panel-body .muted.center'),
    drawn: inked > 50 || text.length > 0 || p.querySelectorAll('.legend tbody tr').length > 0,
    error: p.querySelector('.panel-error')?.textContent ?? '',
  };
}))()`;

/**
 * Imports Node Exporter Full into `perch`, draws it in `b` and checks every
 * panel: none fails, and one without data queries only metrics that do not
 * exist. `node` is the instance the dashboard's variables must pick.
 */
async function importAndDraw(
  perch: RealPerch,
  b: Browser,
  node: string,
  source: string,
): Promise<void> {
  const doc = JSON.parse(await Deno.readTextFile(FIXTURE));
  const res = await fetch(`${perch.url}/api/dashboards/import/grafana`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(doc),
  });
  const body = await res.json();
  assert.ok(res.ok, `import: ${res.status} ${JSON.stringify(body).slice(0, 2000)}`);
  const id = body.dashboard?.id ?? body.id;
  type Stored = { id: number; type: string; targets?: { expr: string; hide?: boolean }[] };
  const stored = await perch.getJson<{ panels: (Stored & { panels?: Stored[] })[] }>(
    `/api/dashboards/${id}`,
  );
  const total = stored.panels.reduce((n, p) => n + 1 + (p.panels?.length ?? 0), 0);
  assert.equal(total, 141, "every panel and row of the dashboard is stored");

  // Some scrapes of the exporter, so rates have two samples.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await perch.getJson<{ data: { result: unknown[] } }>(
      `/api/v1/query?query=${encodeURIComponent("count_over_time(node_load1[1m]) > 8")}`,
    );
    if (r.data.result.length > 0) break;
    assert.ok(Date.now() < deadline, "node_exporter was not scraped");
    await new Promise((r) => setTimeout(r, 500));
  }

  await b.goto(`${perch.url}/d/${id}?from=now-5m&to=now`);
  // The variables resolve to this exporter, as Grafana would pick them.
  await b.waitFor(`location.search.includes("var-node=")`, 15_000, "variables to resolve");
  const search = await b.eval<string>("location.search");
  assert.ok(decodeURIComponent(search).includes(`var-node=${node}`), search);
  assert.match(decodeURIComponent(search), /var-job=node/);

  // Unfold every row, then visit each panel so it loads.
  const rows = await b.eval<number>(`document.querySelectorAll('.row-toggle').length`);
  assert.equal(rows, 16);
  await b.eval(`[...document.querySelectorAll('.row-toggle')]
    .filter((x) => x.getAttribute('aria-expanded') === 'false').forEach((x) => x.click())`);
  await b.waitFor(
    `[...document.querySelectorAll('.row-toggle')].every((x) => x.getAttribute('aria-expanded') === 'true')`,
  );
  const count = await b.eval<number>(`document.querySelectorAll('.panel').length`);
  assert.equal(count, 141 - 16, "every panel is on the page once the rows are open");
  for (let i = 0; i < count; i++) {
    const loaded =
      `['ok', 'error'].includes(document.querySelectorAll('.panel')[${i}].dataset.status)`;
    if (await b.eval<boolean>(loaded)) continue;
    await b.eval(`document.querySelectorAll('.panel')[${i}].scrollIntoView()`);
    await b.waitFor(loaded, 20_000, `panel ${i} to load`);
  }
  // Panels draw after their data arrives.
  await new Promise((r) => setTimeout(r, 1000));
  const panels = await b.eval<
    {
      key: string;
      title: string;
      status: string;
      noData: boolean;
      drawn: boolean;
      error: string;
    }[]
  >(PANELS);
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await b.eval(`window.scrollTo(0, 0)`);
  await b.screenshot(`${ARTIFACTS}node-exporter-full-${source.replaceAll(" ", "-")}.png`);

  const failed = panels.filter((p) => p.status === "error");
  assert.deepEqual(failed.map((p) => `${p.title}: ${p.error}`), [], "no panel fails");

  // A panel without data must be one whose node_* metrics this machine does not have.
  const exists = new Map<string, boolean>();
  const has = async (metric: string) => {
    if (!exists.has(metric)) {
      const r = await perch.getJson<{ data: unknown[] }>(
        `/api/v1/series?match[]=${encodeURIComponent(`${metric}{job="node"}`)}`,
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
  for (const p of panels.filter((p) => p.noData || !p.drawn)) {
    const metrics = new Set(
      (byKey.get(p.key) ?? []).flatMap((t) => t.expr.match(/node_[a-zA-Z0-9_]+/g) ?? []),
    );
    for (const m of metrics) if (await has(m)) wrong.push(`${p.title}: ${m} exists`);
  }
  const drawn = panels.filter((p) => p.drawn).length;
  console.log(
    `Node Exporter Full (${source}): 141 imported (16 rows, ${count} panels), ${drawn} drawn with data, ` +
      `${count - drawn} without data on this machine`,
  );
  assert.deepEqual(wrong, [], "a panel shows no data although its metric exists");
  assert.ok(drawn >= 60, `only ${drawn} panels drew data`);
  assert.deepEqual(b.errors, []);
}

Deno.test({
  name: "Node Exporter Full imports and draws in Chromium with data from a real node_exporter",
  ignore: !hasChromium(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    assert.ok(
      (await Deno.stat(EXPORTER).catch(() => null))?.isFile,
      `${EXPORTER} is missing (apt install prometheus-node-exporter)`,
    );
    const port = freePort();
    const exporter = new Deno.Command(EXPORTER, {
      args: [`--web.listen-address=127.0.0.1:${port}`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const [perch, b] = await Promise.all([
      startRealPerch(
        {},
        `scrape_configs:
  - job_name: node
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:${port}"]
`,
      ),
      Browser.launch({ width: 1600, height: 1000 }),
    ]);
    try {
      await importAndDraw(perch, b, `127.0.0.1:${port}`, "real node_exporter");
    } finally {
      await b.close();
      await perch.close();
      exporter.kill();
      await exporter.status;
    }
  },
});

Deno.test({
  name: "Node Exporter Full draws from Perch's built-in host metrics with no exporter installed",
  ignore: !hasChromium(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const [perch, b] = await Promise.all([
      startRealPerch({}, "host_metrics:\n  interval: 1s\n"),
      Browser.launch({ width: 1600, height: 1000 }),
    ]);
    try {
      await importAndDraw(perch, b, Deno.hostname(), "built-in host metrics");
    } finally {
      await b.close();
      await perch.close();
    }
  },
});
