/**
 * The product spec's alerting check, through a real Perch process and a real
 * webhook receiver: create a threshold rule with POST /api/v1/alerts, push
 * values above the threshold and receive "firing"; push normal values and
 * receive "resolved". Bounded to about 40 s.
 */
import assert from "node:assert/strict";
import { hookRouteYaml, spawnWithConfig } from "../_perch.ts";

interface Hook {
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
}

Deno.test("a threshold rule created over the API fires and resolves through a webhook", async () => {
  const received: Hook[] = [];
  const waiters: (() => void)[] = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    received.push(await req.json());
    for (const w of waiters.splice(0)) w();
    return new Response("ok");
  });
  const waitFor = async (pred: () => boolean, what: string, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received)}`);
      }
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 250);
      });
    }
  };

  const p = await spawnWithConfig(`global:
  evaluation_interval: 1s
self_monitoring_rules: false
self_scrape:
  enabled: false
${hookRouteYaml(`http://127.0.0.1:${receiver.addr.port}/hook`)}`);
  const push = async (value: number) => {
    const res = await fetch(`${p.url}/api/v1/metrics`, {
      method: "POST",
      body: JSON.stringify({ name: "freezer_temp_celsius", value, labels: { unit: "f1" } }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  try {
    const created = await fetch(`${p.url}/api/v1/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: "FreezerWarm",
        expression: "freezer_temp_celsius",
        operator: "gt",
        threshold: -10,
        duration: "2s",
        evaluation_interval: "1s",
        labels: { severity: "critical" },
        annotations: { summary: "Freezer {{ $labels.unit }} at {{ $value }}°C" },
      }),
    });
    const rule = await created.json();
    assert.equal(created.status, 201, JSON.stringify(rule));

    // A bad rule is refused with the field named.
    const bad = await fetch(`${p.url}/api/v1/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "X", expression: "up", operator: "bigger", threshold: 1 }),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /operator/);

    // Too warm: pending, then firing after 2 s.
    const warm = setInterval(() => void push(-2), 500);
    try {
      await push(-2);
      await waitFor(() => received.some((h) => h.status === "firing"), "a firing notification");
    } finally {
      clearInterval(warm);
    }
    const firing = received.find((h) => h.status === "firing")!;
    assert.equal(firing.alerts[0]!.labels.alertname, "FreezerWarm");
    assert.equal(firing.alerts[0]!.labels.severity, "critical");
    assert.equal(firing.alerts[0]!.annotations.summary, "Freezer f1 at -2°C");
    const active = await (await fetch(`${p.url}/api/v1/alerts`)).json();
    assert.equal(active.data.alerts[0].state, "firing");

    // Back to normal: one resolved notification.
    const cold = setInterval(() => void push(-18), 500);
    try {
      await push(-18);
      await waitFor(() => received.some((h) => h.status === "resolved"), "a resolved notification");
    } finally {
      clearInterval(cold);
    }
    assert.equal(received.filter((h) => h.status === "firing").length, 1);
    const log = await (await fetch(`${p.url}/api/v1/notifications`)).json();
    assert.ok(JSON.stringify(log).includes("resolved"));
  } finally {
    await p.stop();
    await receiver.shutdown();
  }
});
