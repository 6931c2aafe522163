import assert from "node:assert/strict";
import { humanizeTimestamp } from "../template/mod.ts";
import { harness } from "./_harness.ts";

Deno.test("alert annotations run query at the evaluation time through the rule manager", async () => {
  const file = `
groups:
  - name: disks
    rules:
      - alert: DiskFull
        expr: disk_used > 0.9
        annotations:
          summary: >-
            {{ $labels.instance }} at {{ humanizePercentage $value }}, {{ with printf "disk_free_bytes{instance='%s'}" $labels.instance | query }}{{ . | first | value | humanize1024 }}B free{{ end }},
            {{ len (query "disk_used") }} disks watched at {{ now | humanizeTimestamp }}
`;
  const h = await harness({ files: { "r.yml": file }, clockStart: Date.UTC(2024, 0, 1) });
  try {
    assert.deepEqual((await h.manager.start()).errors, []);
    h.push("disk_used", { instance: "a" }, 0.95);
    h.push("disk_used", { instance: "b" }, 0.5);
    h.push("disk_free_bytes", { instance: "a" }, 3 * 1024 ** 3);
    const t = h.clock.now();
    await h.manager.evaluateAll(t);
    const a = h.sink.all.find((x) => x.labels.alertname === "DiskFull");
    assert.ok(a, "DiskFull handed over");
    assert.equal(
      a.annotations.summary,
      `a at 95%, 3GiB free, 2 disks watched at ${humanizeTimestamp(t / 1000)}`,
    );
  } finally {
    await h.close();
  }
});
