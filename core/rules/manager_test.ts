import assert from "node:assert/strict";
import { getLabel, isStaleNaN } from "../model/mod.ts";
import { harness } from "./_harness.ts";
import { groupOffset, nextSlot } from "./group.ts";

const M = 60_000;
const ALERT_FILE = `
groups:
  - name: temps
    rules:
      - alert: HighTemp
        expr: temp > 90
        for: 2m
        labels: { severity: critical }
        annotations:
          summary: "{{ $labels.room }} is {{ $value | humanize }}°C"
      - record: room:temp:max
        expr: max by (room) (temp)
`;

Deno.test("nextSlot() and groupOffset() give a stable slot per group within the interval", () => {
  const g = { name: "a", file: "f", intervalMs: M, limit: 0, rules: [] };
  const off = groupOffset(g);
  assert.ok(off >= 0 && off < M);
  assert.equal(groupOffset({ ...g }), off);
  assert.notEqual(groupOffset({ ...g, name: "b" }), off);
  assert.equal(nextSlot(1000, M, 500), 60_500);
  assert.equal(nextSlot(60_500, M, 500), 60_500);
  assert.equal(nextSlot(60_501, M, 500), 120_500);
});

Deno.test("rule manager fires after `for` on the schedule, writes ALERTS and recording output", async () => {
  const h = await harness({ files: { "r.yml": ALERT_FILE } });
  try {
    const res = await h.manager.start();
    assert.deepEqual(res.errors, []);
    const firstAt: Record<string, number> = {};
    for (let i = 0; i < 5; i++) {
      h.push("temp", { room: "a" }, 95);
      h.push("temp", { room: "b" }, 20);
      await h.clock.advance(M);
      for (const a of h.manager.alerts()) firstAt[a.state] ??= i;
    }
    assert.equal(firstAt.pending, 0);
    assert.equal(firstAt.firing, 2);
    const firing = h.sink.all.filter((a) => a.endsAt === 0);
    assert.ok(firing.length >= 1);
    const a = firing[0]!;
    assert.deepEqual(a.labels, { alertname: "HighTemp", room: "a", severity: "critical" });
    assert.equal(a.annotations.summary, "a is 95°C");
    const active = h.manager.alerts()[0]!;
    assert.equal(a.startsAt - active.activeAt, 2 * M);
    assert.match(a.generatorURL, /^http:\/\/perch\.test\/graph\?g0\.expr=temp%20%3E%2090/);
    // Only one distinct (fingerprint, startsAt, state): resends carry the same key.
    assert.equal(h.sink.keys().size, 1);

    const alerts = await h.query("ALERTS");
    assert.equal(alerts.length, 1);
    assert.equal(getLabel(alerts[0]!.labels, "alertstate"), "firing");
    const fs = await h.query("ALERTS_FOR_STATE");
    assert.equal(fs[0]!.v, active.activeAt / 1000);
    const rec = await h.query("room:temp:max");
    assert.deepEqual(rec.map((s) => [getLabel(s.labels, "room"), s.v]).sort(), [["a", 95], [
      "b",
      20,
    ]]);

    const metrics = h.registry.expose();
    assert.match(metrics, /perch_rule_evaluations_total\{rule_group="r.yml;temps"\} 10/);
    assert.match(metrics, /perch_rule_evaluation_failures_total\{rule_group="r.yml;temps"\} 0/);
    assert.match(metrics, /perch_rule_group_last_duration_seconds\{rule_group="r.yml;temps"\} /);
    assert.match(metrics, /perch_rule_alerts\{state="firing"\} 1/);

    // Normal values: the alert resolves once, ALERTS goes stale.
    const before = h.sink.all.length;
    h.push("temp", { room: "a" }, 50);
    await h.clock.advance(M);
    const resolved = h.sink.all.slice(before).filter((x) => x.endsAt > 0);
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0]!.startsAt, a.startsAt);
    assert.equal(h.manager.alerts().length, 0);
    assert.ok(
      h.appender.samples.some((s) =>
        getLabel(s.labels, "__name__") === "ALERTS" && isStaleNaN(s.v)
      ),
    );
    await h.clock.advance(M);
    assert.equal(
      h.sink.all.slice(before).filter((x) => x.endsAt > 0).length,
      1,
      "resolved put once",
    );
  } finally {
    await h.close();
  }
});

Deno.test("rule manager reports failing rules with health and counts failures", async () => {
  const h = await harness({
    files: {
      "r.yml":
        'groups:\n- name: g\n  rules:\n  - alert: Bad\n    expr: \'label_replace(up, "x", "$1", "job", "(")\'\n',
    },
  });
  try {
    const r = await h.manager.start();
    assert.ok(r.ok, r.errors.join("\n"));
    await h.manager.evaluateAll(h.clock.now());
    const st = h.manager.groups()[0]!.rules[0]!.status;
    assert.equal(st.health, "err");
    assert.ok(st.lastError.length > 0);
    assert.match(
      h.registry.expose(),
      /perch_rule_evaluation_failures_total\{rule_group="r.yml;g"\} 1/,
    );
  } finally {
    await h.close();
  }
});

Deno.test("rule manager counts missed iterations and never overlaps evaluations", async () => {
  const h0 = await harness({
    files: { "r.yml": "groups:\n- name: g\n  rules:\n  - record: x:y\n    expr: vector(1)\n" },
  });
  await h0.close();
  let extra = 0;
  let running = 0, maxRunning = 0, calls = 0;
  const clock = {
    now: () => fake.now() + extra,
    setTimeout: (fn: () => void | Promise<void>, ms: number) => fake.setTimeout(fn, ms),
    clearTimeout: (id: number) => fake.clearTimeout(id),
  };
  const h = await harness({
    files: { "r.yml": "groups:\n- name: g\n  rules:\n  - record: x:y\n    expr: vector(1)\n" },
    manager: {
      clock,
      query: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        calls++;
        // The second evaluation takes 2.5 intervals.
        if (calls === 2) extra += 150_000;
        await Promise.resolve();
        running--;
        return [{ labels: [], value: 1 }];
      },
    },
  });
  const fake = h.clock;
  try {
    await h.manager.start();
    await fake.advance(M); // first evaluation
    await fake.advance(M); // second: slow
    assert.match(
      h.registry.expose(),
      /perch_rule_group_iterations_missed_total\{rule_group="r.yml;g"\} 2/,
    );
    await Promise.all([h.manager.evaluateAll(fake.now()), h.manager.evaluateAll(fake.now())]);
    assert.equal(maxRunning, 1);
  } finally {
    await h.close();
  }
});

Deno.test("reload() keeps old rules on errors and carries alert state across a good reload", async () => {
  const files: Record<string, string> = { "r.yml": ALERT_FILE };
  const h = await harness({ files });
  try {
    await h.manager.start();
    for (let i = 0; i < 3; i++) {
      h.push("temp", { room: "a" }, 95);
      await h.clock.advance(M);
    }
    assert.equal(h.manager.alerts()[0]!.state, "firing");
    files["r.yml"] = "groups:\n- name: temps\n  rules:\n  - alert: X\n    expr: 'temp >'\n";
    const bad = await h.manager.reload();
    assert.equal(bad.ok, false);
    assert.match(bad.errors[0]!, /r\.yml: group "temps", rule 1 \(X\): could not parse expression/);
    assert.equal(h.manager.alerts()[0]!.state, "firing");
    // Same rule with a changed annotation: same state, no new firing.
    files["r.yml"] = ALERT_FILE.replace("°C", " C");
    assert.ok((await h.manager.reload()).ok);
    h.push("temp", { room: "a" }, 95);
    await h.clock.advance(M);
    assert.equal(h.manager.alerts()[0]!.state, "firing");
    assert.equal(h.sink.keys().size, 1);
    // Rule removed: its alert resolves and is handed over once.
    files["r.yml"] = "groups: []";
    const n = h.sink.all.length;
    assert.ok((await h.manager.reload()).ok);
    const after = h.sink.all.slice(n);
    assert.equal(after.length, 1);
    assert.ok(after[0]!.endsAt > 0);
    assert.equal(h.manager.alerts().length, 0);
  } finally {
    await h.close();
  }
});
