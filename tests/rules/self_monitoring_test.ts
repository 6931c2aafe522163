import assert from "node:assert/strict";
import { parseRuleFile } from "../../core/rules/loader.ts";
import { formatRuleError } from "../../core/rules/rule.ts";
import { loadYaml } from "../../core/model/mod.ts";

// The sync parsers these tests call read YAML through the lazily loaded library.
await loadYaml();

const PATH = new URL("../../rules/self_monitoring.yml", import.meta.url).pathname;

Deno.test("rules/self_monitoring.yml passes validation and covers the required conditions", async () => {
  const r = parseRuleFile(await Deno.readTextFile(PATH), "self_monitoring.yml", {
    defaultIntervalMs: 60_000,
  });
  assert.deepEqual(r.errors.map(formatRuleError), []);
  const exprs = r.groups.flatMap((g) => g.rules.map((x) => x.expr)).join("\n");
  for (
    const m of [
      "up == 0",
      "perch_tsdb_wal_fsync_duration_seconds_total",
      "perch_ingest_samples_rejected_total",
      "perch_tsdb_corrupt_blocks",
      "perch_rule_evaluation_failures_total",
      "perch_notifications_failed_total",
    ]
  ) assert.ok(exprs.includes(m), m);
});
