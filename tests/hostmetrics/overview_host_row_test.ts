/**
 * The README's quick start: a Perch started with no config file shows the
 * host on the built-in overview. Every host panel's query (as the dashboard
 * stores it) returns data from the built-in collector; the temperature
 * panels do so exactly when the machine has a thermal zone or hwmon sensor.
 * Only the interval is shortened (by environment), so rates have two samples
 * within seconds.
 */
import assert from "node:assert/strict";
import { spawnPerch } from "../_perch.ts";

interface Panel {
  id: number;
  title: string;
  targets: { expr: string }[];
}

Deno.test("the overview's host row has data with no configuration", async () => {
  const perch = await spawnPerch({ env: { PERCH_HOST_METRICS__INTERVAL: "1s" } });
  const query = async (q: string) => {
    const r = await fetch(`${perch.url}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = await r.json();
    assert.equal(body.status, "success", `${q}: ${JSON.stringify(body)}`);
    return body.data.result as unknown[];
  };
  try {
    // Three passes stored, so every rate() has two samples (bounded wait: a busy machine
    // delays passes).
    const end = Date.now() + 60_000;
    for (;;) {
      const r = await query('count_over_time(node_time_seconds{job="node"}[1m]) >= 3');
      if (r.length > 0) break;
      assert.ok(Date.now() < end, "fewer than 3 host passes after 60 s");
      await new Promise((r) => setTimeout(r, 250));
    }

    const res = await fetch(`${perch.url}/api/dashboards/perch-overview`);
    assert.equal(res.status, 200);
    const doc = await res.json();
    const panels = ((doc.dashboard ?? doc).panels as Panel[]).filter((p) =>
      p.targets.some((t) => t.expr.includes("node_"))
    );
    assert.ok(panels.length >= 10, `host panels: ${panels.map((p) => p.title).join(", ")}`);
    const hasTemps = (await query("node_thermal_zone_temp or node_hwmon_temp_celsius")).length > 0;
    for (const p of panels) {
      const temperature = p.targets.every((t) => /thermal|hwmon/.test(t.expr));
      let rows = 0;
      for (const t of p.targets) {
        rows += (await query(t.expr.replaceAll("$__rate_interval", "1m"))).length;
      }
      if (temperature) assert.equal(rows > 0, hasTemps, p.title);
      else assert.ok(rows > 0, `panel "${p.title}" has no data`);
    }
  } finally {
    await perch.stop();
    await Deno.remove(perch.dataDir, { recursive: true }).catch(() => {});
  }
});
