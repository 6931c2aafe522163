import assert from "node:assert/strict";
import { configOf, startWith, testBasics } from "../_component_test_util.ts";
import { changedPaths } from "../lifecycle.ts";
import { RecordingAppender } from "../ingest/mod_testing.ts";
import { rulesComponent } from "./component.ts";

const RULES_A = "groups:\n  - name: a\n    rules:\n      - record: one\n        expr: vector(1)\n";
const RULES_B =
  "groups:\n  - name: b\n    rules:\n      - alert: Two\n        expr: vector(2) > 1\n";
const OWN_ONLY = "self_monitoring_rules: false\nhost_metrics:\n  alerts: false\n";

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "perch-rules-component-" });
  await Deno.writeTextFile(`${dir}/a.yml`, RULES_A);
  await Deno.writeTextFile(`${dir}/b.yml`, RULES_B);
  await Deno.writeTextFile(
    `${dir}/bad.yml`,
    "groups:\n  - name: bad\n    rules:\n      - record: x\n",
  );
  const kv = await Deno.openKv(":memory:");
  const b = testBasics();
  const appender = new RecordingAppender();
  const rules = rulesComponent({
    ...b,
    kv: () => kv,
    engine: () => ({
      instantQuery: () => Promise.resolve({ result: { type: "vector", samples: [] } }),
    }),
    appender: () => appender,
    sink: () => ({ put: () => Promise.resolve() }),
    configDir: dir,
  });
  return { dir, kv, b, rules };
}

const groupNames = (r: { manager: { groups(): { name: string }[] } }) =>
  r.manager.groups().map((g) => g.name).sort();

Deno.test("rules component: a reload loads the new rule files, relative to the config file", async () => {
  const { dir, kv, b, rules } = await setup();
  const perch = await startWith(b, `${OWN_ONLY}rule_files: [a.yml]\n`, [rules]);
  assert.deepEqual(groupNames(rules), ["a"]);
  assert.equal((await perch.reload(`${OWN_ONLY}rule_files: [a.yml, b.yml]\n`)).ok, true);
  assert.deepEqual(groupNames(rules), ["a", "b"]);
  // The shipped rule files come back when the config turns them on.
  assert.equal((await perch.reload(`rule_files: [b.yml]\n`)).ok, true);
  assert.ok(groupNames(rules).includes("perch-self-monitoring"), String(groupNames(rules)));
  assert.ok(!groupNames(rules).includes("a"));
  await perch.stop();
  kv.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("rules component: a broken rule file keeps the previous rules and degrades health", async () => {
  const { dir, kv, b, rules } = await setup();
  const perch = await startWith(b, `${OWN_ONLY}rule_files: [a.yml]\n`, [rules]);
  assert.equal((await b.health.run()).checks.rules?.status, "healthy");
  // The config itself is fine; only the rule file is not: the reload is applied.
  assert.equal((await perch.reload(`${OWN_ONLY}rule_files: [bad.yml]\n`)).ok, true);
  assert.deepEqual(groupNames(rules), ["a"]);
  assert.equal((await b.health.run()).checks.rules?.status, "degraded");
  assert.ok(b.lines.some((l) => l.msg === "rule files rejected; keeping the previous rules"));
  assert.equal((await perch.reload(`${OWN_ONLY}rule_files: [b.yml]\n`)).ok, true);
  assert.deepEqual(groupNames(rules), ["b"]);
  assert.equal((await b.health.run()).checks.rules?.status, "healthy");
  await perch.stop();
  kv.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("rules component reports settings read only at start (external URL, evaluation interval)", async () => {
  const { rules, kv } = await setup();
  const before = configOf("");
  const after = configOf(
    "server:\n  external_url: https://perch.example/\nglobal:\n  evaluation_interval: 30s\n",
  );
  const changed = changedPaths(before, after, rules.restartOnly);
  assert.ok(changed.includes("server.external_url"), String(changed));
  assert.ok(changed.includes("global.evaluation_interval"), String(changed));
  assert.deepEqual(changedPaths(before, configOf(""), rules.restartOnly), []);
  kv.close();
});
