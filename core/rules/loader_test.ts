import assert from "node:assert/strict";
import { globToRegExp } from "./glob.ts";
import { loadRuleFiles, parseRuleFile } from "./loader.ts";
import { formatRuleError } from "./rule.ts";
import { loadYaml } from "../model/mod.ts";

// The sync parsers these tests call read YAML through the lazily loaded library.
await loadYaml();

const opts = { defaultIntervalMs: 60_000 };

function errorsOf(yaml: string): string[] {
  return parseRuleFile(yaml, "r.yml", opts).errors.map(formatRuleError);
}

Deno.test("parseRuleFile() reads Prometheus groups with alert and record rules", () => {
  const r = parseRuleFile(
    `
groups:
  - name: node
    interval: 30s
    labels: { team: ops }
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: { severity: critical }
        annotations: { summary: "{{ $labels.instance }} down" }
      - record: job:up:sum
        expr: sum by (job) (up)
`,
    "r.yml",
    opts,
  );
  assert.deepEqual(r.errors, []);
  const g = r.groups[0]!;
  assert.equal(g.intervalMs, 30_000);
  const [a, rec] = g.rules;
  assert.equal(a!.kind, "alerting");
  if (a!.kind !== "alerting") return;
  assert.equal(a.forMs, 300_000);
  assert.equal(a.keepFiringForMs, 60_000);
  assert.deepEqual(a.labels, { team: "ops", severity: "critical" });
  assert.equal(rec!.kind, "recording");
  assert.equal(rec!.expr, "sum by (job) (up)");
});

Deno.test("parseRuleFile() reports every problem with file, group, rule and reason", () => {
  const errs = errorsOf(`
groups:
  - name: g
    rules:
      - record: ok:metric
        expr: sum(up)
        for: 5m
      - alert: Bad
        expr: up ==
      - alert: A
        record: b
        expr: up
      - expr: up
      - alert: L
        expr: up
        labels: { "bad-name": x }
        annotations: { s: "{{ $labels.x " }
      - alert: U
        expr: up
        severity: page
      - record: "not a metric"
        expr: up
  - name: g
    rules: []
`);
  const want = [
    "r.yml: group \"g\", rule 1 (ok:metric): invalid field 'for' in recording rule",
    'r.yml: group "g", rule 2 (Bad): could not parse expression: ',
    "r.yml: group \"g\", rule 3 (A): only one of 'record' and 'alert' must be set",
    "r.yml: group \"g\", rule 4: one of 'record' or 'alert' must be set",
    'r.yml: group "g", rule 5 (L): invalid label name "bad-name"',
    'r.yml: group "g", rule 5 (L): annotations.s: Cannot parse template',
    'r.yml: group "g", rule 6 (U): unknown field "severity"',
    'r.yml: group "g", rule 7 (not a metric): invalid recording rule name',
    'r.yml: group "g": groupname "g" is repeated in the same file',
  ];
  for (const w of want) {
    assert.ok(errs.some((e) => e.startsWith(w)), `missing ${w} in\n${errs.join("\n")}`);
  }
  assert.equal(errs.length, want.length, errs.join("\n"));
  // The parse error carries a position.
  assert.match(errs.find((e) => e.includes("(Bad)"))!, /1:\d+/);
});

Deno.test("parseRuleFile() rejects unknown top-level fields, bad YAML and bad durations", () => {
  assert.match(errorsOf("grups: []")[0]!, /unknown field "grups"/);
  assert.match(errorsOf("groups: [\n")[0]!, /cannot parse YAML/);
  assert.match(errorsOf("groups:\n- name: a\n  interval: 5x\n  rules: []")[0]!, /invalid interval/);
  assert.match(
    errorsOf("groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up\n    for: soon")[0]!,
    /invalid 'for' duration/,
  );
  assert.match(
    errorsOf(
      "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: sum(up) / 2 > rate(up[5m])[1m:]",
    )
      .join("\n"),
    /could not parse|instant vector/,
  );
});

Deno.test("parseRuleFile() normalises threshold rules under alerts: with hysteresis", () => {
  const r = parseRuleFile(
    `
alerts:
  - id: freezer
    name: FreezerWarm
    expression: freezer_temp
    operator: gt
    threshold: -10
    resolve_threshold: -15
    duration: 5m
    evaluation_interval: 30s
    labels: { severity: critical }
`,
    "t.yml",
    opts,
  );
  assert.deepEqual(r.errors, []);
  const g = r.groups[0]!;
  assert.equal(g.name, "threshold/freezer");
  assert.equal(g.intervalMs, 30_000);
  const rule = g.rules[0]!;
  assert.equal(rule.expr, "(freezer_temp) > -10");
  assert.ok(rule.kind === "alerting" && rule.threshold?.resolve === -15 && rule.forMs === 300_000);
});

Deno.test("parseRuleFile() validates threshold rules field by field", () => {
  const errs = errorsOf(`
alerts:
  - name: A
    expression: "rate(x[5m]"
    operator: above
    threshold: 1
  - name: B
    expression: x
    operator: gt
    threshold: 10
    resolve_threshold: 20
    colour: red
`);
  assert.ok(errs.some((e) => /rule 1 \(A\): operator: must be one of/.test(e)), errs.join("\n"));
  assert.ok(
    errs.some((e) => /rule 2 \(B\): \(root\): unknown field\(s\) colour/.test(e)),
    errs.join("\n"),
  );
  const e2 = errorsOf(
    "alerts:\n- name: B\n  expression: x\n  operator: gt\n  threshold: 10\n  resolve_threshold: 20",
  );
  assert.match(e2[0]!, /resolve_threshold: must not be above threshold 10/);
  const e3 = errorsOf(
    "alerts:\n- name: C\n  expression: 'rate(x[5m]'\n  operator: gt\n  threshold: 1",
  );
  assert.match(e3[0]!, /expression: .*1:\d+/);
});

Deno.test("globToRegExp() matches *, ?, ** and classes", () => {
  const cases: [string, string, boolean][] = [
    ["rules/*.yml", "rules/a.yml", true],
    ["rules/*.yml", "rules/sub/a.yml", false],
    ["rules/**/*.yml", "rules/a.yml", true],
    ["rules/**/*.yml", "rules/x/y/a.yml", true],
    ["r?.yml", "r1.yml", true],
    ["r[0-2].yml", "r3.yml", false],
    ["r[!0-2].yml", "r3.yml", true],
    ["a.yml", "axyml", false],
  ];
  for (const [g, p, want] of cases) assert.equal(globToRegExp(g).test(p), want, `${g} ~ ${p}`);
});

Deno.test("loadRuleFiles() expands globs, reads files and keeps nothing on error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(
      `${dir}/a.yml`,
      "groups:\n- name: a\n  rules:\n  - record: x:y\n    expr: up",
    );
    await Deno.writeTextFile(`${dir}/sub/b.yml`, "groups:\n- name: b\n  rules: []");
    await Deno.writeTextFile(`${dir}/c.txt`, "not yaml: [");
    const ok = await loadRuleFiles([`${dir}/**/*.yml`], opts);
    assert.deepEqual(ok.errors, []);
    assert.deepEqual(ok.groups.map((g) => g.name), ["a", "b"]);
    const bad = await loadRuleFiles([`${dir}/*.yml`, `${dir}/missing.yml`], opts);
    assert.equal(bad.groups.length, 0);
    assert.match(formatRuleError(bad.errors[0]!), /missing\.yml: cannot read file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
