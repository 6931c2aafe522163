import assert from "node:assert/strict";
import { harness } from "../core/rules/mod_testing.ts";
import { rulesRoutes } from "./rules.ts";

const M = 60_000;
const FILE = `
groups:
  - name: temps
    rules:
      - alert: HighTemp
        expr: temp > 90
        for: 1m
        annotations: { summary: "{{ $labels.room }}" }
      - record: room:temp:max
        expr: max by (room) (temp)
alerts:
  - id: from-file
    name: FileRule
    expression: temp
    operator: lt
    threshold: -100
`;

async function setup() {
  const h = await harness({ files: { "r.yml": FILE } });
  const res = await h.manager.start();
  assert.ok(res.ok, res.errors.join("\n"));
  const app = rulesRoutes({ rules: h.manager });
  const req = async (method: string, path: string, body?: unknown) => {
    const r = await app.request(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: r.status, json: await r.json() };
  };
  return { h, req };
}

const CPU_RULE = {
  id: "cpu-high",
  name: "HighCPU",
  expression: "cpu_usage_percent",
  operator: "gt",
  threshold: 90,
  resolve_threshold: 80,
  duration: "2m",
  evaluation_interval: "1m",
  labels: { severity: "critical" },
  annotations: { summary: "CPU on {{ $labels.host }} at {{ $value }}%" },
};

Deno.test("product spec check: POST /api/v1/alerts, push high values, fires; push normal values, resolves", async () => {
  const { h, req } = await setup();
  try {
    const created = await req("POST", "/api/v1/alerts", CPU_RULE);
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.data.id, "cpu-high");
    assert.equal(created.json.data.expr, "(cpu_usage_percent) > 90");
    assert.equal(created.json.data.duration, 120);
    assert.equal(created.json.warnings, undefined);
    const late = await req("POST", "/api/v1/alerts", {
      ...CPU_RULE,
      id: "late",
      evaluation_interval: "2m",
    });
    assert.match(late.json.warnings[0], /longer than half the duration/);
    await req("DELETE", "/api/v1/alerts/late");

    const fired: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.push("cpu_usage_percent", { host: "pi-1" }, 95);
      await h.clock.advance(M);
      if (h.sink.all.some((a) => a.labels.alertname === "HighCPU" && a.endsAt === 0)) fired.push(i);
    }
    // Pending at the first evaluation, firing two minutes later.
    assert.equal(fired[0], 2);
    const alert = h.sink.all.find((a) => a.labels.alertname === "HighCPU")!;
    assert.deepEqual(alert.labels, { alertname: "HighCPU", host: "pi-1", severity: "critical" });
    assert.equal(alert.annotations.summary, "CPU on pi-1 at 95%");

    const active = await req("GET", "/api/v1/alerts");
    assert.equal(active.json.data.alerts.length, 1);
    assert.equal(active.json.data.alerts[0].state, "firing");
    assert.equal(active.json.data.alerts[0].value, "9.5e+01");

    // 85 is below 90 but above the resolve threshold 80: still firing (hysteresis).
    h.push("cpu_usage_percent", { host: "pi-1" }, 85);
    await h.clock.advance(M);
    assert.equal(h.sink.all.filter((a) => a.endsAt > 0).length, 0);
    // Normal values: resolves, handed over once.
    h.push("cpu_usage_percent", { host: "pi-1" }, 40);
    await h.clock.advance(M);
    h.push("cpu_usage_percent", { host: "pi-1" }, 40);
    await h.clock.advance(M);
    const resolved = h.sink.all.filter((a) => a.endsAt > 0);
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0]!.startsAt, alert.startsAt);
    assert.equal((await req("GET", "/api/v1/alerts")).json.data.alerts.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("POST /api/v1/alerts validates every field and refuses duplicates", async () => {
  const { h, req } = await setup();
  try {
    const bad = await req("POST", "/api/v1/alerts", {
      name: "",
      expression: "rate(x[5m]",
      operator: "above",
      threshold: "high",
      colour: 1,
    });
    assert.equal(bad.status, 400);
    const fields = bad.json.errors.map((e: { field: string }) => e.field);
    for (const f of ["name", "operator", "threshold", "(root)"]) assert.ok(fields.includes(f), f);
    const badExpr = await req("POST", "/api/v1/alerts", { ...CPU_RULE, expression: "rate(x[5m]" });
    assert.equal(badExpr.status, 400);
    assert.equal(badExpr.json.errors[0].field, "expression");
    assert.match(badExpr.json.errors[0].message, /1:\d+/);
    const hyst = await req("POST", "/api/v1/alerts", { ...CPU_RULE, resolve_threshold: 95 });
    assert.equal(hyst.status, 400);
    assert.equal(hyst.json.errors[0].field, "resolve_threshold");
    assert.equal((await req("POST", "/api/v1/alerts", "{not json")).status, 400);

    assert.equal((await req("POST", "/api/v1/alerts", CPU_RULE)).status, 201);
    assert.equal((await req("POST", "/api/v1/alerts", CPU_RULE)).status, 409);
    assert.equal(
      (await req("POST", "/api/v1/alerts", { ...CPU_RULE, id: "from-file" })).status,
      409,
    );
    // Stored in KV.
    const stored = await h.kv.get(["rules", "threshold", "cpu-high"]);
    assert.equal((stored.value as { name: string }).name, "HighCPU");
  } finally {
    await h.close();
  }
});

Deno.test("GET/PUT/DELETE /api/v1/alerts/<id> read, replace and remove API rules only", async () => {
  const { h, req } = await setup();
  try {
    await req("POST", "/api/v1/alerts", CPU_RULE);
    const got = await req("GET", "/api/v1/alerts/cpu-high");
    assert.equal(got.status, 200);
    assert.equal(got.json.data.source, "api");
    assert.equal(got.json.data.threshold, 90);
    const put = await req("PUT", "/api/v1/alerts/cpu-high", {
      ...CPU_RULE,
      id: undefined,
      threshold: 95,
    });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    assert.equal(put.json.data.threshold, 95);
    assert.equal((await req("GET", "/api/v1/alerts/cpu-high")).json.data.threshold, 95);
    assert.equal(
      (await req("PUT", "/api/v1/alerts/cpu-high", { ...CPU_RULE, id: "other" })).status,
      400,
    );
    assert.equal((await req("GET", "/api/v1/alerts/from-file")).json.data.source, "r.yml");
    assert.equal((await req("DELETE", "/api/v1/alerts/from-file")).status, 409);
    assert.equal((await req("PUT", "/api/v1/alerts/nope", CPU_RULE)).status, 404);
    assert.equal((await req("DELETE", "/api/v1/alerts/cpu-high")).status, 200);
    assert.equal((await req("GET", "/api/v1/alerts/cpu-high")).status, 404);
    assert.equal((await h.kv.get(["rules", "threshold", "cpu-high"])).value, null);
  } finally {
    await h.close();
  }
});

Deno.test("deleting a firing API rule resolves its alert once", async () => {
  const { h, req } = await setup();
  try {
    await req("POST", "/api/v1/alerts", { ...CPU_RULE, duration: 0 });
    h.push("cpu_usage_percent", { host: "pi-1" }, 99);
    await h.clock.advance(M);
    assert.equal(h.manager.alerts().length, 1);
    const n = h.sink.all.length;
    await req("DELETE", "/api/v1/alerts/cpu-high");
    const after = h.sink.all.slice(n);
    assert.equal(after.length, 1);
    assert.ok(after[0]!.endsAt > 0);
  } finally {
    await h.close();
  }
});

Deno.test("POST /api/v1/alerts/<id>/test shows what would fire without changing state", async () => {
  const { h, req } = await setup();
  try {
    await req("POST", "/api/v1/alerts", { ...CPU_RULE, duration: 0 });
    h.push("cpu_usage_percent", { host: "pi-1" }, 99);
    h.push("cpu_usage_percent", { host: "pi-2" }, 10);
    const t = await req("POST", "/api/v1/alerts/cpu-high/test");
    assert.equal(t.status, 200);
    assert.equal(t.json.data.samples.length, 2);
    assert.deepEqual(
      t.json.data.wouldNotify.map((a: { labels: { host: string } }) => a.labels.host),
      ["pi-1"],
    );
    assert.equal(t.json.data.wouldNotify[0].status, "firing");
    assert.equal(h.manager.alerts().length, 0);
    assert.equal(h.sink.puts.length, 0);
    assert.equal((await req("POST", "/api/v1/alerts/nope/test")).status, 404);
  } finally {
    await h.close();
  }
});

Deno.test("GET /api/v1/rules returns Prometheus's shape with health and the type filter", async () => {
  const { h, req } = await setup();
  try {
    h.push("temp", { room: "a" }, 95);
    await h.clock.advance(M);
    const all = await req("GET", "/api/v1/rules");
    assert.equal(all.json.status, "success");
    const g = all.json.data.groups.find((x: { name: string }) => x.name === "temps");
    assert.equal(g.file, "r.yml");
    assert.equal(g.interval, 60);
    assert.ok(g.lastEvaluation.startsWith("2024-01-01T"));
    const [alertRule, recRule] = g.rules;
    assert.equal(alertRule.type, "alerting");
    assert.equal(alertRule.state, "pending");
    assert.equal(alertRule.health, "ok");
    assert.equal(alertRule.query, "temp > 90");
    assert.equal(alertRule.duration, 60);
    assert.equal(alertRule.alerts[0].labels.room, "a");
    assert.equal(recRule.type, "recording");
    assert.equal(typeof recRule.evaluationTime, "number");
    const onlyRec = await req("GET", "/api/v1/rules?type=record");
    const types = onlyRec.json.data.groups.flatMap((x: { rules: { type: string }[] }) =>
      x.rules.map((r) => r.type)
    );
    assert.deepEqual(types, ["recording"]);
    assert.equal((await req("GET", "/api/v1/rules?type=bogus")).status, 400);
  } finally {
    await h.close();
  }
});
