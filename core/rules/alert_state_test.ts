import assert from "node:assert/strict";
import { toLabels } from "../model/mod.ts";
import { parseExpr } from "../promql/mod.ts";
import {
  type AlertRecord,
  DEFAULT_STEP_CONTEXT,
  NODATA_LABEL,
  type QuerySample,
  stepAlerts,
  type Transition,
} from "./alert_state.ts";
import type { AlertingRule } from "./rule.ts";

const M = 60_000;

function rule(over: Partial<AlertingRule> = {}): AlertingRule {
  return {
    kind: "alerting",
    key: "k",
    name: "HighTemp",
    expr: "temp > 90",
    query: parseExpr("temp"),
    forMs: 5 * M,
    keepFiringForMs: 0,
    labels: { severity: "critical" },
    annotations: { summary: "{{ $labels.room }} at {{ $value }}" },
    noData: "ok",
    ...over,
  };
}

function s(room: string, value: number): QuerySample {
  return { labels: toLabels("temp", { room }), value };
}

/** Runs evaluations at t = 0, 1m, 2m, … and returns the states per step and every transition. */
function run(r: AlertingRule, steps: QuerySample[][], ctx = DEFAULT_STEP_CONTEXT) {
  let state = new Map<string, AlertRecord>();
  const states: string[] = [];
  const transitions: Transition[][] = [];
  steps.forEach((samples, i) => {
    const out = stepAlerts(r, state, samples, i * M, ctx);
    assert.equal(out.error, undefined);
    state = out.next;
    states.push([...state.values()].map((x) => x.state).join(",") || "inactive");
    transitions.push(out.transitions);
  });
  return { states, transitions, state };
}

Deno.test("stepAlerts() goes pending then firing once the condition held for `for`", () => {
  const hot = [s("a", 95)];
  const { states, transitions, state } = run(rule(), [hot, hot, hot, hot, hot, hot, hot]);
  assert.deepEqual(states, [
    "pending",
    "pending",
    "pending",
    "pending",
    "pending",
    "firing",
    "firing",
  ]);
  assert.deepEqual(transitions[0]!.map((t) => `${t.from}>${t.to}`), ["inactive>pending"]);
  assert.deepEqual(transitions[5]!.map((t) => `${t.from}>${t.to}`), ["pending>firing"]);
  assert.equal(transitions[6]!.length, 0);
  const rec = [...state.values()][0]!;
  assert.equal(rec.activeAt, 0);
  assert.equal(rec.firedAt, 5 * M);
  assert.deepEqual(rec.labels, { alertname: "HighTemp", room: "a", severity: "critical" });
  assert.equal(rec.annotations.summary, "a at 95");
});

Deno.test("stepAlerts() drops a pending alert that clears before `for` without a firing transition", () => {
  const { states, transitions } = run(rule(), [[s("a", 95)], [s("a", 95)], [], [s("a", 95)]]);
  assert.deepEqual(states, ["pending", "pending", "inactive", "pending"]);
  assert.deepEqual(transitions[2]!.map((t) => `${t.from}>${t.to}`), ["pending>inactive"]);
  assert.ok(!transitions.flat().some((t) => t.to === "firing"));
  // The new pending period starts again from scratch.
  assert.equal(transitions[3]![0]!.record.activeAt, 3 * M);
});

Deno.test("stepAlerts() fires at once with for: 0 and resolves when the series goes away", () => {
  const { states, transitions, state } = run(rule({ forMs: 0 }), [[s("a", 95)], []]);
  assert.deepEqual(states, ["firing", "resolved"]);
  assert.deepEqual(transitions[0]!.map((t) => t.to), ["pending", "firing"]);
  const rec = [...state.values()][0]!;
  assert.equal(rec.resolvedAt, M);
  assert.equal(rec.firedAt, 0);
});

Deno.test("stepAlerts() keeps firing for keep_firing_for after the condition clears", () => {
  const r = rule({ forMs: 0, keepFiringForMs: 3 * M });
  const { states } = run(r, [[s("a", 95)], [], [], [], [], []]);
  // Cleared at 1m; held through 1m..3m (< 3m since), resolved at 4m.
  assert.deepEqual(states, ["firing", "firing", "firing", "firing", "resolved", "resolved"]);
  // A condition that comes back inside the window keeps the same alert.
  const again = run(r, [[s("a", 95)], [], [s("a", 95)], [], [], [], []]);
  assert.deepEqual(again.states, [
    "firing",
    "firing",
    "firing",
    "firing",
    "firing",
    "firing",
    "resolved",
  ]);
  assert.equal([...again.state.values()][0]!.firedAt, 0);
});

Deno.test("stepAlerts() applies hysteresis: fires above threshold, clears only below resolve_threshold", () => {
  const r = rule({ forMs: 0, threshold: { op: "gt", value: 90, resolve: 80 } });
  const values = [85, 91, 85, 81, 79, 85];
  const { states } = run(r, values.map((v) => [s("a", v)]));
  assert.deepEqual(states, ["inactive", "firing", "firing", "firing", "resolved", "resolved"]);
  // Without a resolve threshold it clears at once below 90.
  const plain = run(
    rule({ forMs: 0, threshold: { op: "gt", value: 90 } }),
    values.map((v) => [s("a", v)]),
  );
  assert.deepEqual(plain.states, [
    "inactive",
    "firing",
    "resolved",
    "resolved",
    "resolved",
    "resolved",
  ]);
  // lt with resolve above.
  const lt = run(
    rule({ forMs: 0, threshold: { op: "lt", value: 10, resolve: 15 } }),
    [9, 12, 16].map((v) => [s("a", v)]),
  );
  assert.deepEqual(lt.states, ["firing", "firing", "resolved"]);
});

Deno.test("stepAlerts() marks an instance flapping after more than 5 changes in 10m and clears it when stable", () => {
  const r = rule({ forMs: 0 });
  const on = [s("a", 95)], off: QuerySample[] = [];
  const seq = [on, off, on, off, on, off, on, ...Array(12).fill(off), on];
  let state = new Map<string, AlertRecord>();
  const flags: boolean[] = [];
  seq.forEach((x, i) => {
    state = stepAlerts(r, state, x, i * M).next;
    flags.push([...state.values()][0]?.flapping ?? false);
  });
  // Changes: fire at 0, 2, 4, 6 and resolve at 1, 3, 5 → 6th change at 5m, > 5 → flapping.
  assert.deepEqual(flags.slice(0, 7), [false, false, false, false, false, true, true]);
  // After the window passes with no changes, it is stable again (new alert not flapping).
  assert.equal(flags[flags.length - 1], false);
});

Deno.test("stepAlerts() keeps one instance per series and resolves only the one that cleared", () => {
  const r = rule({ forMs: 0 });
  const { states, state, transitions } = run(r, [[s("a", 95), s("b", 99)], [s("b", 99)]]);
  assert.deepEqual(states, ["firing,firing", "firing,resolved"]);
  assert.deepEqual(transitions[1]!.map((t) => `${t.record.labels.room}:${t.to}`), ["a:resolved"]);
  assert.equal(state.size, 2);
});

Deno.test("stepAlerts() reports duplicate label sets after dropping __name__ and keeps state", () => {
  const r = rule({ forMs: 0 });
  const dup = [
    { labels: toLabels("x", { room: "a" }), value: 1 },
    { labels: toLabels("y", { room: "a" }), value: 2 },
  ];
  const out = stepAlerts(r, new Map(), dup, 0);
  assert.match(out.error!, /same labelset/);
  assert.equal(out.next.size, 0);
});

Deno.test("stepAlerts() falls back to the raw template text and reports a render error", () => {
  const r = rule({ forMs: 0, annotations: { summary: "load {{ humanize $labels.room }}" } });
  const out = stepAlerts(r, new Map(), [s("kitchen", 1)], 0);
  const rec = [...out.next.values()][0]!;
  assert.match(
    rec.annotations.summary!,
    /^load \{\{ humanize \$labels\.room \}\} \(template error: /,
  );
  assert.equal(out.templateErrors.length, 1);
  assert.equal(rec.state, "firing");
});

Deno.test("stepAlerts() with no_data: firing keeps absent series active and raises a no-data alert", () => {
  const r = rule({ forMs: 0, noData: "firing", threshold: { op: "gt", value: 90 } });
  // Series a fires, then vanishes: it stays firing (value NaN).
  const gone = run(r, [[s("a", 95)], []]);
  assert.deepEqual(gone.states[1], "firing");
  // Nothing at all from the start: one no-data instance fires.
  const none = run(r, [[], [s("a", 50)]]);
  assert.equal(none.states[0], "firing");
  const nd = none.transitions[0]!.find((t) => t.to === "firing")!.record;
  assert.equal(nd.labels[NODATA_LABEL], "true");
  // Data comes back below threshold: the no-data alert resolves.
  assert.equal(none.states[1], "resolved");
  // Default policy: absence resolves.
  assert.deepEqual(
    run(rule({ forMs: 0, threshold: { op: "gt", value: 90 } }), [[s("a", 95)], []]).states,
    [
      "firing",
      "resolved",
    ],
  );
});

Deno.test("stepAlerts() forgets resolved instances after the retention and errors past the limit", () => {
  const r = rule({ forMs: 0 });
  const ctx = { ...DEFAULT_STEP_CONTEXT, resolvedRetentionMs: 2 * M };
  const { states } = run(r, [[s("a", 95)], [], [], []], ctx);
  assert.deepEqual(states, ["firing", "resolved", "resolved", "inactive"]);
  const out = stepAlerts(r, new Map(), [s("a", 95), s("b", 95)], 0, { ...ctx, limit: 1 });
  assert.match(out.error!, /exceeded limit of 1 with 2 alerts/);
});
