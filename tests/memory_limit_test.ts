/**
 * The memory ceiling through a real Perch child: with `limits.memory_limit`
 * below its resident size, Perch sheds queries and pushes (503 with
 * Retry-After, naming the setting) while probes, /metrics and admin actions
 * keep working and /health reports it; raising the limit (reload) brings
 * everything back.
 */
import assert from "node:assert/strict";
import { procMem, spawnPerch } from "./_perch.ts";

Deno.test("over limits.memory_limit Perch sheds queries and pushes with 503; probes and admin stay", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-memlimit-" });
  const file = `${dir}/perch.yml`;
  // Far below any Deno process's resident size.
  await Deno.writeTextFile(file, "limits:\n  memory_limit: 16MiB\n");
  const perch = await spawnPerch({ args: [`--config=${file}`], dataDir: `${dir}/data` });
  const status = async (path: string, init?: RequestInit) => {
    const r = await fetch(`${perch.url}${path}`, init);
    return { status: r.status, retryAfter: r.headers.get("retry-after"), text: await r.text() };
  };
  const push = () =>
    status("/api/v1/metrics", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "shed_me", value: 1 }),
    });
  try {
    assert.ok(procMem(perch.process.pid).VmRSS! > 16, "the child is below the limit");
    const q = await status("/api/v1/query?query=1");
    assert.equal(q.status, 503);
    assert.equal(q.retryAfter, "5");
    assert.match(JSON.parse(q.text).error, /limits\.memory_limit: 16\.0 MiB/);
    assert.equal((await push()).status, 503);
    assert.equal((await status("/-/healthy")).status, 200);
    assert.equal((await status("/metrics")).status, 200);
    const h = JSON.parse((await status("/health")).text);
    assert.equal(h.checks.memory.status, "degraded");
    assert.match(h.checks.memory.message, /over limits\.memory_limit/);

    // Raise the limit: work is accepted again (admin actions were never shed).
    await Deno.writeTextFile(file, "limits:\n  memory_limit: 8GiB\n");
    assert.equal((await status("/-/reload", { method: "POST" })).status, 200);
    let ok = 0;
    for (let i = 0; i < 50 && ok !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ok = (await status("/api/v1/query?query=1")).status;
    }
    assert.equal(ok, 200);
    assert.equal((await push()).status, 200);
    assert.match(
      await (await fetch(`${perch.url}/metrics`)).text(),
      /perch_http_requests_shed_total [1-9]/,
    );
  } finally {
    assert.equal(await perch.stop(), 0);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
