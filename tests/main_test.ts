/**
 * End-to-end tests of the Perch process: start with embedded defaults,
 * config errors, reload, shutdown, and the HTTP shell.
 */
import assert from "node:assert/strict";
import { parsePrometheusText } from "../core/ingest/prometheus_text.ts";
import { runPerch, spawnPerch } from "./_perch.ts";
import { requireBinary } from "./_require.ts";

Deno.test("perch starts with no config file and serves health, readiness and the UI", async () => {
  const p = await spawnPerch();
  try {
    const res = await fetch(`${p.url}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const body = await res.json();
    assert.equal(body.status, "healthy");
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
    for (const check of Object.values(body.checks) as Record<string, string>[]) {
      assert.ok(["healthy", "degraded", "unhealthy"].includes(check.status!));
      assert.ok(!Number.isNaN(Date.parse(check.last_checked!)));
    }
    assert.equal(await (await fetch(`${p.url}/-/healthy`)).text(), "Perch is Healthy.\n");
    assert.equal((await fetch(`${p.url}/-/ready`)).status, 200);
    await (await fetch(`${p.url}/-/ready`)).body?.cancel();
    const page = await fetch(`${p.url}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<title>Home · Perch<\/title>/);
    assert.match(html, /data-island="HealthPanel"/);
    const js = await fetch(`${p.url}/static/app.js`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
    assert.ok((await js.text()).length > 1000);
  } finally {
    assert.equal(await p.stop("SIGTERM"), 0);
  }
  assert.ok(p.logs.some((l) => l.includes('"msg":"component stopped"')));
  for (const line of p.logs) {
    // Deno itself prints package set-up lines on a fresh clone; everything else is Perch's.
    if (/^(Download|Initialize|Warning) /.test(line)) continue;
    const o = JSON.parse(line);
    assert.ok(o.time && o.level && o.msg && o.component, `structured log line: ${line}`);
  }
});

Deno.test("perch exits non-zero on an invalid config and lists every error", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/perch.yml`;
  await Deno.writeTextFile(
    file,
    "server:\n  listen: nope\nstorage:\n  retention: soon\n  fsync: never\nlog:\n  level: chatty\n",
  );
  const r = await runPerch([`--config=${file}`, `--data-dir=${dir}/data`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /server\.listen: must be host:port/);
  assert.match(r.stderr, /storage\.retention: must be a duration/);
  assert.match(r.stderr, /storage\.fsync: must be always or interval/);
  assert.match(r.stderr, /log\.level: must be one of/);

  // Sections validated by their components are part of the same report.
  const sections = `${dir}/sections.yml`;
  await Deno.writeTextFile(
    sections,
    'receivers:\n  - name: x\n    webhook_configs: [{url: "nope"}]\n' +
      'scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ["http://x"]}]\n',
  );
  const s = await runPerch([`--config=${sections}`, `--data-dir=${dir}/data`]);
  assert.equal(s.code, 1);
  assert.match(
    s.stderr,
    /scrape_configs\[0\]\.static_configs\[0\]\.targets\[0\]: "http:\/\/x" is not a valid host:port/,
  );
  assert.match(s.stderr, /receivers\[0\]\.webhook_configs\[0\]\.url: must be a URL/);

  const missing = await runPerch([`--config=${dir}/nope.yml`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.yml: file not found/);

  const badFlag = await runPerch(["--no-such-flag"]);
  assert.equal(badFlag.code, 2);

  const check = await runPerch([`--config=${file}`, "--check-config"]);
  assert.equal(check.code, 1);
  await Deno.writeTextFile(file, "storage:\n  retention: 7d\n");
  const ok = await runPerch([`--config=${file}`, "--check-config"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Configuration is valid/);
});

/**
 * Replaces a file in one step (write beside it, then rename), so Perch's file
 * watcher never reloads a half-written config while the test is busy.
 */
async function writeAtomic(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${path}.tmp`, text);
  await Deno.rename(`${path}.tmp`, path);
}

Deno.test("a rejected reload keeps the old config in force; a good one applies", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/perch.yml`;
  await Deno.writeTextFile(file, "server:\n  max_body_bytes: 1KiB\n");
  const p = await spawnPerch({ args: [`--config=${file}`], dataDir: `${dir}/data` });
  const big = "x".repeat(4096);
  const post = async (path: string, body?: string) => {
    // Admin endpoints take JSON only (the body's content does not matter to /-/reload).
    const headers = body === undefined ? undefined : { "content-type": "application/json" };
    const res = await fetch(`${p.url}${path}`, { method: "POST", body, headers });
    return { status: res.status, body: await res.json() };
  };
  try {
    // 1 KiB limit in force.
    let r = await post("/-/reload", big);
    assert.equal(r.status, 413);
    assert.match(r.body.error, /server\.max_body_bytes/);

    // A broken file is rejected with its errors; the limit stays.
    await writeAtomic(
      file,
      "server:\n  max_body_bytes: 1MiB\nstorage:\n  retention: soon\n",
    );
    r = await post("/-/reload");
    assert.equal(r.status, 500);
    assert.deepEqual(r.body.errors, [
      "storage.retention: must be a duration such as 30s, 5m, 1h30m (0 turns it off)",
    ]);
    assert.equal((await post("/-/reload", big)).status, 413);
    const health = await (await fetch(`${p.url}/health`)).json();
    assert.equal(health.status, "degraded");
    assert.equal(health.checks.config.status, "degraded");

    // SIGHUP with a good file applies it.
    await writeAtomic(file, "server:\n  max_body_bytes: 1MiB\n");
    p.process.kill("SIGHUP");
    await p.waitForLog((l) => l.includes('"msg":"config reloaded"'));
    r = await post("/-/reload", big);
    assert.equal(r.status, 200);
    assert.equal((await (await fetch(`${p.url}/health`)).json()).status, "healthy");

    // Saving the file is enough too.
    const before = p.logs.filter((l) => l.includes('"msg":"config reloaded"')).length;
    await writeAtomic(file, "server:\n  max_body_bytes: 2KiB\n");
    await p.waitForLog(() =>
      p.logs.filter((l) => l.includes('"msg":"config reloaded"')).length > before
    );
    assert.equal((await post("/-/reload", big)).status, 413);
  } finally {
    await p.stop();
  }
});

Deno.test("the HTTP shell answers CORS preflights, unknown paths and self-metrics", async () => {
  const p = await spawnPerch();
  try {
    const pre = await fetch(`${p.url}/api/v1/query`, {
      method: "OPTIONS",
      headers: { Origin: "http://example.com", "Access-Control-Request-Method": "POST" },
    });
    await pre.body?.cancel();
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /POST/);

    const nf = await fetch(`${p.url}/no/such/path`);
    assert.equal(nf.status, 404);
    assert.match((await nf.json()).error, /not found/);

    const m = await (await fetch(`${p.url}/metrics`)).text();
    assert.match(
      m,
      /^perch_http_requests_total\{handler="\/health|other",method="[A-Z]+",code="\d+"\} \d+$/m,
    );
    assert.match(m, /^# TYPE perch_http_request_duration_seconds histogram$/m);
    assert.match(m, /^process_resident_memory_bytes \d+$/m);
    assert.match(m, /^perch_build_info\{version="[^"]+",.*\} 1$/m);
  } finally {
    await p.stop();
  }
});

Deno.test("GET /metrics parses back as Prometheus text and passes promtool", async () => {
  const p = await spawnPerch();
  try {
    await (await fetch(`${p.url}/health`)).body?.cancel();
    const res = await fetch(`${p.url}/metrics`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const rows = parsePrometheusText(text, { now: Date.now(), openMetrics: false });
    assert.deepEqual(rows.errors, []);
    assert.ok(rows.sampleCount > 10, `only ${rows.sampleCount} samples`);
    const names = new Set(rows.seriesName);
    for (
      const n of ["process_resident_memory_bytes", "perch_build_info", "perch_http_requests_total"]
    ) {
      assert.ok(names.has(n), `missing ${n}`);
    }
    assert.equal(rows.metadata.get("perch_http_request_duration_seconds")?.type, "histogram");

    // Debian's promtool is the reference linter for the format.
    const promtool = "/usr/bin/promtool";
    requireBinary(promtool, "prometheus");
    const child = new Deno.Command(promtool, {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    await w.close();
    const out = await child.output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
  } finally {
    await p.stop();
  }
});

Deno.test("Perch scrapes itself from the start, also when listening on port 0", async () => {
  const p = await spawnPerch({ env: { PERCH_SELF_SCRAPE__INTERVAL: "1s" } });
  try {
    const deadline = Date.now() + 15_000;
    let result: { metric: Record<string, string>; value: [number, string] }[] = [];
    while (Date.now() < deadline) {
      // The built-in host job (node) has its own `up`.
      const q = encodeURIComponent('up{job="perch"}');
      const r = await (await fetch(`${p.url}/api/v1/query?query=${q}`)).json();
      result = r.data.result;
      if (result.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(result.length, 1, "no up series from the self-scrape");
    assert.deepEqual(result[0]!.metric, {
      __name__: "up",
      instance: `127.0.0.1:${p.port}`,
      job: "perch",
    });
    assert.equal(result[0]!.value[1], "1");
    const own = await (await fetch(`${p.url}/api/v1/query?query=process_resident_memory_bytes`))
      .json();
    assert.equal(own.data.result.length, 1);
  } finally {
    await p.stop();
  }
});
