/**
 * A `PERCH_*` variable that is no setting (set by a wrapper script or an
 * init system) must not stop Perch: it starts, says what it ignored, and a
 * mistyped key of a known section still refuses to start.
 */
import assert from "node:assert/strict";
import { runPerch, spawnPerch } from "../_perch.ts";

Deno.test("Perch starts with PERCH_DIR and PERCH_HOME set, warning that it ignored them", async () => {
  const perch = await spawnPerch({ env: { PERCH_DIR: "/opt/perch", PERCH_HOME: "/home/perch" } });
  try {
    const line = await perch.waitForLog((l) => l.includes("PERCH_DIR is not a Perch setting"));
    assert.equal(JSON.parse(line).level, "warn");
    const res = await fetch(`${perch.url}/-/healthy`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    assert.equal(await perch.stop(), 0);
  }
});

Deno.test("Perch refuses to start on a mistyped key of a known section in the environment", async () => {
  const r = await runPerch(["--check-config"], { PERCH_STORAGE__RETENTON: "7d" });
  assert.equal(r.code, 1);
  assert.match(r.stderr + r.stdout, /storage: unknown field retenton/);
});
