/**
 * A bounded soak of a whole Perch process, to find leaks and errors that short
 * tests miss:
 *
 *   deno run -A tools/soak.ts [--minutes=10] [--series=200] [--v8=FLAGS (default: tools/_v8_flags.ts)]
 *
 * Starts `deno run -A --v8-flags=<v8> main.ts --listen=127.0.0.1:0
 * --data-dir=<tmp>` with a config file (evaluation and self-scrape every 5 s,
 * a scrape job for a tiny exporter served here, a webhook route to a receiver
 * served here), creates a threshold rule by `POST /api/v1/alerts` on a square
 * wave that flaps every 20 s, and for `--minutes` keeps up:
 * - pushes of `--series` series every second, half by Influx line protocol,
 *   half by remote write (plus the flapping series);
 * - dashboard-like range queries every 2 s;
 * - 3 long-lived `/ws` connections with subscriptions, and one more opened and
 *   closed every 10 s;
 * - a silence created and expired every 30 s.
 * Every 30 s it records the child's VmRSS (/proc/<pid>/status), its /metrics
 * (V8 heap used, head bytes, open fds, head series, HTTP requests by code, notifications, rule
 * evaluation failures) and counts warn/error log lines. At the end it prints a
 * table over time and the findings: RSS growth after warm-up (MiB/min, least
 * squares), fd growth, 5xx, error logs, rule evaluation failures, notification
 * failures, WebSocket disconnects. Exits 1 when a finding is flagged. Traffic
 * goes to 127.0.0.1 only; everything stops by itself after the duration.
 *
 * @module
 */
import { encodeRemoteWriteBody, type WriteSeries } from "../core/ingest/mod.ts";
import { spawnPerch } from "../tests/_perch.ts";
import { PERCH_V8_FLAGS } from "./_v8_flags.ts";
import { arg } from "./_args.ts";

const minutes = Number(arg("minutes", "10"));
const nSeries = Number(arg("series", "200"));
const v8Flags = arg("v8", PERCH_V8_FLAGS);
const durationMs = minutes * 60_000;
const warmupMs = Math.min(3 * 60_000, durationMs / 3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const elapsed = () => Date.now() - t0;

// ---------------------------------------------------------------- local servers
let exporterHits = 0;
const exporter = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
  exporterHits++;
  return new Response(
    "# TYPE soak_exporter_hits_total counter\n" +
      `soak_exporter_hits_total ${exporterHits}\n` +
      "# TYPE soak_exporter_temp gauge\n" +
      `soak_exporter_temp{room="a"} ${20 + Math.sin(Date.now() / 60_000)}\n` +
      `soak_exporter_temp{room="b"} ${21 + Math.cos(Date.now() / 60_000)}\n`,
    { headers: { "content-type": "text/plain; version=0.0.4" } },
  );
});
const webhook = { total: 0, firing: 0, resolved: 0, bad: 0 };
const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  webhook.total++;
  try {
    const b = await req.json();
    if (b.status === "firing") webhook.firing++;
    else if (b.status === "resolved") webhook.resolved++;
  } catch {
    webhook.bad++;
  }
  return new Response("ok");
});

// ---------------------------------------------------------------- child
const dir = await Deno.makeTempDir({ prefix: "perch_soak_" });
const configPath = `${dir}/perch.yaml`;
await Deno.writeTextFile(
  configPath,
  `global:
  evaluation_interval: 5s
  scrape_interval: 5s
  scrape_timeout: 4s
self_scrape:
  interval: 5s
scrape_configs:
  - job_name: soak_exporter
    static_configs:
      - targets: ["127.0.0.1:${exporter.addr.port}"]
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1m
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:${receiver.addr.port}/hook
`,
);
const badLogs: { t: number; level: string; line: string }[] = [];
const perch = await spawnPerch({
  dataDir: `${dir}/data`,
  args: [`--config=${configPath}`],
  runArgs: v8Flags === "" ? [] : [`--v8-flags=${v8Flags}`],
  keepLogs: 30,
  onLog(line) {
    let level = "";
    try {
      level = String(JSON.parse(line).level ?? "");
    } catch {
      // Not a structured line: Deno's own output, an uncaught error's stack.
      if (/error|panic|uncaught/i.test(line)) level = "raw";
    }
    if (level === "warn" || level === "error" || level === "raw") {
      badLogs.push({ t: elapsed(), level, line: line.slice(0, 400) });
    }
  },
});
const pid = perch.process.pid;
let childExited = false;
perch.process.status.then(() => childExited = true);
const base = perch.url;
console.error(`perch pid ${pid} at ${base}, data ${dir}, soak ${minutes} min`);

// ---------------------------------------------------------------- client-side counters
const client = {
  pushes: 0,
  pushFail: 0,
  queries: 0,
  queryFail: 0,
  queryMsMax: 0,
  querySlow: 0,
  silences: 0,
  silenceFail: 0,
  wsMsgs: 0,
  wsErrors: 0,
  wsDisconnects: 0,
  churnOk: 0,
  churnFail: 0,
};
const clientErrors: string[] = [];
function noteErr(what: string, e: unknown) {
  if (clientErrors.length < 50) {
    clientErrors.push(`${(elapsed() / 1000).toFixed(0)}s ${what}: ${String(e).slice(0, 200)}`);
  }
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  return await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
}

// ---------------------------------------------------------------- alert rule
{
  const r = await call("POST", "/api/v1/alerts", {
    id: "soak-flap",
    name: "SoakFlap",
    expression: "soak_flap",
    operator: "gt",
    threshold: 50,
    duration: "10s",
    evaluation_interval: "5s",
    labels: { severity: "warning" },
    annotations: { summary: "soak_flap at {{ $value }}" },
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST /api/v1/alerts: ${r.status} ${text}`);
}

// ---------------------------------------------------------------- loops
const stopAt = t0 + durationMs;
const running = () => Date.now() < stopAt && !childExited;
const half = Math.floor(nSeries / 2);
const flapValue = (t: number) => (Math.floor(t / 20_000) % 2 === 0 ? 100 : 0);

async function every(ms: number, fn: () => Promise<void>) {
  let next = Date.now();
  while (running()) {
    await fn();
    next += ms;
    const wait = next - Date.now();
    if (wait > 0) await sleep(Math.min(wait, stopAt - Date.now()));
    else next = Date.now();
  }
}

async function pushOnce() {
  const now = Date.now();
  const lines: string[] = [];
  for (let i = 0; i < half; i++) {
    lines.push(
      `soak_lp,series=s${i},host=h${i % 20} value=${(Math.sin(now / 30_000 + i) + 1) * 50} ${now}`,
    );
  }
  const series: WriteSeries[] = [];
  for (let i = half; i < nSeries; i++) {
    series.push({
      labels: [
        { name: "__name__", value: "soak_rw_total" },
        { name: "host", value: `h${i % 20}` },
        { name: "series", value: `s${i}` },
      ],
      t: [now],
      v: [Math.floor((now - t0) / 1000) * (1 + (i % 7))],
    });
  }
  series.push({
    labels: [{ name: "__name__", value: "soak_flap" }],
    t: [now],
    v: [flapValue(now)],
  });
  const jobs = [
    fetch(`${base}/api/v2/write?precision=ms`, {
      method: "POST",
      body: lines.join("\n"),
      signal: AbortSignal.timeout(15_000),
    }),
    fetch(`${base}/api/v1/write`, {
      method: "POST",
      headers: {
        "content-type": "application/x-protobuf",
        "content-encoding": "snappy",
        "x-prometheus-remote-write-version": "0.1.0",
      },
      body: encodeRemoteWriteBody({ series }) as Uint8Array<ArrayBuffer>,
      signal: AbortSignal.timeout(15_000),
    }),
  ];
  for (const [k, p] of jobs.entries()) {
    try {
      const r = await p;
      const text = await r.text();
      client.pushes++;
      if (r.status !== 204 && r.status !== 200) {
        client.pushFail++;
        noteErr(k === 0 ? "line protocol" : "remote write", `${r.status} ${text}`);
      }
    } catch (e) {
      client.pushFail++;
      noteErr("push", e);
    }
  }
}

const QUERIES = [
  { q: "sum by (host) (rate(soak_rw_total[1m]))", range: 15 * 60_000, step: 15_000 },
  { q: '{__name__=~"soak_lp.*"}', range: 5 * 60_000, step: 5_000 },
  { q: "avg_over_time(soak_flap[1m])", range: 30 * 60_000, step: 30_000 },
  { q: "rate(soak_exporter_hits_total[1m])", range: 15 * 60_000, step: 15_000 },
  { q: "sum by (code) (rate(perch_http_requests_total[1m]))", range: 60 * 60_000, step: 60_000 },
  { q: "ALERTS", range: 15 * 60_000, step: 15_000 },
];
let queryIdx = 0;
async function queryOnce() {
  const batch = [QUERIES[queryIdx++ % QUERIES.length]!, QUERIES[queryIdx++ % QUERIES.length]!];
  await Promise.all(batch.map(async ({ q, range, step }) => {
    const end = Date.now() / 1000;
    const params = new URLSearchParams({
      query: q,
      start: String(end - range / 1000),
      end: String(end),
      step: String(step / 1000),
    });
    const started = performance.now();
    try {
      const r = await fetch(`${base}/api/v1/query_range?${params}`, {
        signal: AbortSignal.timeout(15_000),
      });
      const text = await r.text();
      const ms = performance.now() - started;
      client.queries++;
      client.queryMsMax = Math.max(client.queryMsMax, ms);
      if (ms > 1000) client.querySlow++;
      if (r.status !== 200) {
        client.queryFail++;
        noteErr(`query ${q}`, `${r.status} ${text}`);
      }
    } catch (e) {
      client.queryFail++;
      noteErr(`query ${q}`, e);
    }
  }));
}

const wsUrl = `ws://127.0.0.1:${perch.port}/ws`;
const SUBS = [
  { query: "sum(rate(soak_rw_total[1m]))", range: 300_000, step: 5_000, every: 5_000 },
  { query: "soak_flap", range: 120_000, step: 1_000, every: 2_000 },
  { query: "avg by (host) (soak_lp_value)", range: 600_000, step: 10_000 },
];
const wsState: { opened: number; lastMsg: number }[] = [];
/** One long-lived connection; reconnects after an unexpected close (counted). */
async function longWs(idx: number) {
  const st = { opened: 0, lastMsg: 0 };
  wsState[idx] = st;
  while (running()) {
    const ws = new WebSocket(wsUrl);
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    ws.onopen = () => {
      st.opened++;
      for (const [k, s] of SUBS.entries()) {
        ws.send(JSON.stringify({ type: "subscribe", panelId: `${idx}:${k}`, ...s }));
      }
    };
    ws.onmessage = (ev) => {
      client.wsMsgs++;
      st.lastMsg = Date.now();
      const m = JSON.parse(String(ev.data));
      if (m.type === "error") {
        client.wsErrors++;
        noteErr(`ws ${idx} error`, m.error);
      }
    };
    const done = await Promise.race([closed, sleep(stopAt - Date.now()).then(() => null)]);
    if (done === null) {
      ws.close(1000);
      await Promise.race([closed, sleep(2000)]);
      return;
    }
    client.wsDisconnects++;
    noteErr(`ws ${idx} closed`, `${done.code} ${done.reason}`);
    await sleep(1000);
  }
}

async function churnWs() {
  const ws = new WebSocket(wsUrl);
  const closed = new Promise<void>((r) => ws.onclose = () => r());
  const ok = new Promise<boolean>((resolve) => {
    ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", panelId: "c", ...SUBS[0]! }));
    ws.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data));
      resolve(m.type === "result");
    };
    ws.onerror = () => resolve(false);
  });
  const got = await Promise.race([ok, sleep(5000).then(() => false)]);
  if (got) client.churnOk++;
  else {
    client.churnFail++;
    noteErr("ws churn", "no result in 5 s");
  }
  ws.close(1000);
  await Promise.race([closed, sleep(2000)]);
}

async function silenceOnce() {
  try {
    const now = Date.now();
    const r = await call("POST", "/api/v1/silences", {
      matchers: [{ name: "alertname", value: "SoakFlap", isRegex: false }],
      startsAt: now,
      endsAt: now + 60_000,
      createdBy: "soak",
      comment: "soak",
    });
    const b = await r.json();
    if (!r.ok) throw new Error(`create ${r.status} ${JSON.stringify(b)}`);
    client.silences++;
    const id = b.data.silenceID;
    await sleep(Math.min(15_000, Math.max(0, stopAt - Date.now())));
    const d = await call("DELETE", `/api/v1/silences/${id}`);
    const text = await d.text();
    if (!d.ok) throw new Error(`expire ${d.status} ${text}`);
  } catch (e) {
    client.silenceFail++;
    noteErr("silence", e);
  }
}

// ---------------------------------------------------------------- sampling
interface Row {
  t: number;
  rssMiB: number;
  heapMiB: number;
  headMiB: number;
  fds: number;
  headSeries: number;
  http: Record<string, number>;
  notifSent: number;
  notifFailed: number;
  notifRetried: number;
  ruleFail: number;
  badLogs: number;
  wsMsgs: number;
  wsDisc: number;
}
const rows: Row[] = [];

function parseMetrics(text: string): Map<string, { labels: string; v: number }[]> {
  const out = new Map<string, { labels: string; v: number }[]>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const list = out.get(m[1]!) ?? [];
    list.push({ labels: m[2] ?? "", v: Number(m[3]) });
    out.set(m[1]!, list);
  }
  return out;
}
const sumOf = (m: Map<string, { labels: string; v: number }[]>, name: string) =>
  (m.get(name) ?? []).reduce((a, x) => a + x.v, 0);

async function sample() {
  let rss = NaN;
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(s)?.[1]) / 1024;
  } catch { /* exited */ }
  let m = new Map<string, { labels: string; v: number }[]>();
  try {
    const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(15_000) });
    m = parseMetrics(await r.text());
  } catch (e) {
    noteErr("/metrics", e);
  }
  const http: Record<string, number> = {};
  for (const { labels, v } of m.get("perch_http_requests_total") ?? []) {
    const code = /code="(\d+)"/.exec(labels)?.[1] ?? "?";
    http[code] = (http[code] ?? 0) + v;
  }
  rows.push({
    t: elapsed(),
    rssMiB: rss,
    heapMiB: sumOf(m, "perch_heap_used_bytes") / 2 ** 20,
    headMiB: sumOf(m, "perch_tsdb_head_bytes") / 2 ** 20,
    fds: sumOf(m, "process_open_fds"),
    headSeries: sumOf(m, "perch_tsdb_head_series"),
    http,
    notifSent: sumOf(m, "perch_notifications_sent_total"),
    notifFailed: sumOf(m, "perch_notifications_failed_total"),
    notifRetried: sumOf(m, "perch_notifications_retried_total"),
    ruleFail: sumOf(m, "perch_rule_evaluation_failures_total"),
    badLogs: badLogs.length,
    wsMsgs: client.wsMsgs,
    wsDisc: client.wsDisconnects,
  });
  const r = rows[rows.length - 1]!;
  console.error(
    `${(r.t / 1000).toFixed(0)}s rss=${r.rssMiB.toFixed(1)}MiB fds=${r.fds} head=${r.headSeries} ` +
      `http=${JSON.stringify(r.http)} sent=${r.notifSent} failed=${r.notifFailed} ` +
      `rulefail=${r.ruleFail} badlogs=${r.badLogs} ws=${r.wsMsgs}/${r.wsDisc}`,
  );
}

// ---------------------------------------------------------------- run
await sample();
await Promise.all([
  every(1000, pushOnce),
  every(2000, queryOnce),
  every(10_000, churnWs),
  every(30_000, silenceOnce),
  every(30_000, sample),
  longWs(0),
  longWs(1),
  longWs(2),
]);
if (!childExited) await sample();

// Stop the child, the servers; wait for logs.
const exitedEarly = childExited;
const stopped = perch.stop("SIGTERM");
const status = await Promise.race([perch.process.status, sleep(20_000).then(() => null)]);
if (status === null) perch.process.kill("SIGKILL");
await Promise.race([stopped, sleep(2000)]);
await exporter.shutdown();
await receiver.shutdown();

// ---------------------------------------------------------------- report
const codes = [...new Set(rows.flatMap((r) => Object.keys(r.http)))].sort();
console.log(
  [
    "t(s)",
    "RSS MiB",
    "heap MiB",
    "head MiB",
    "fds",
    "head",
    ...codes.map((c) => `http ${c}`),
    "sent",
    "failed",
    "retried",
  ]
    .concat(["rulefail", "warn/err", "ws msgs", "ws disc"]).join("\t"),
);
for (const r of rows) {
  console.log([
    (r.t / 1000).toFixed(0),
    r.rssMiB.toFixed(1),
    r.heapMiB.toFixed(1),
    r.headMiB.toFixed(2),
    r.fds,
    r.headSeries,
    ...codes.map((c) => r.http[c] ?? 0),
    r.notifSent,
    r.notifFailed,
    r.notifRetried,
    r.ruleFail,
    r.badLogs,
    r.wsMsgs,
    r.wsDisc,
  ].join("\t"));
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b) / n;
  const my = ys.reduce((a, b) => a + b) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
const warm = rows.filter((r) => r.t >= warmupMs && Number.isFinite(r.rssMiB));
const rssSlope = slope(warm.map((r) => r.t / 60_000), warm.map((r) => r.rssMiB));
const heapSlope = slope(warm.map((r) => r.t / 60_000), warm.map((r) => r.heapMiB));
const fdSlope = slope(warm.map((r) => r.t / 60_000), warm.map((r) => r.fds));
const first = rows[0]!;
const last = rows[rows.length - 1]!;
const fiveXX = Object.entries(last.http).filter(([c]) => c.startsWith("5"));
const findings: string[] = [];
if (exitedEarly) findings.push(`child exited before the end:\n${perch.logs.join("\n")}`);
if (rssSlope > 0.5) findings.push(`RSS grows ${rssSlope.toFixed(2)} MiB/min after warm-up`);
if (warm.length >= 2 && warm[warm.length - 1]!.fds - warm[0]!.fds > 5) {
  findings.push(`fds grow ${warm[0]!.fds} -> ${warm[warm.length - 1]!.fds}`);
}
if (fiveXX.length) findings.push(`5xx responses: ${JSON.stringify(Object.fromEntries(fiveXX))}`);
if (badLogs.length) findings.push(`${badLogs.length} warn/error log lines`);
if (last.ruleFail > 0) findings.push(`rule evaluation failures: ${last.ruleFail}`);
if (last.notifFailed > 0) findings.push(`notification failures: ${last.notifFailed}`);
if (client.wsDisconnects > 0) findings.push(`WebSocket disconnects: ${client.wsDisconnects}`);
if (client.pushFail || client.queryFail || client.churnFail || client.silenceFail) {
  findings.push(
    `client failures: push ${client.pushFail}, query ${client.queryFail}, ` +
      `ws churn ${client.churnFail}, silence ${client.silenceFail}`,
  );
}
if (client.wsErrors) findings.push(`WebSocket error messages: ${client.wsErrors}`);
if (webhook.firing === 0 || webhook.resolved === 0) {
  findings.push(
    `webhook never saw both states (firing ${webhook.firing}, resolved ${webhook.resolved})`,
  );
}

console.log(JSON.stringify({
  minutes,
  series: nSeries,
  rss: {
    startMiB: first.rssMiB,
    endMiB: last.rssMiB,
    maxMiB: Math.max(...rows.map((r) => r.rssMiB)),
  },
  rssSlopeMiBPerMinAfterWarmup: +rssSlope.toFixed(3),
  heapUsedSlopeMiBPerMinAfterWarmup: +heapSlope.toFixed(3),
  headMiB: { start: first.headMiB, end: last.headMiB },
  fds: { start: first.fds, end: last.fds, slopePerMin: +fdSlope.toFixed(3) },
  http: last.http,
  notifications: { sent: last.notifSent, failed: last.notifFailed, retried: last.notifRetried },
  webhook,
  ruleEvaluationFailures: last.ruleFail,
  client,
  exporterHits,
  wsConnections: wsState.map((s) => s.opened),
}));
if (badLogs.length) {
  console.log("warn/error log lines (first 20):");
  for (const l of badLogs.slice(0, 20)) console.log(`  ${(l.t / 1000).toFixed(0)}s ${l.line}`);
}
if (clientErrors.length) {
  console.log("client-side errors (first 50):");
  for (const e of clientErrors) console.log(`  ${e}`);
}
console.log(findings.length ? `FINDINGS:\n- ${findings.join("\n- ")}` : "no findings");
await Deno.remove(dir, { recursive: true }).catch(() => {});
Deno.exit(findings.length ? 1 : 0);
