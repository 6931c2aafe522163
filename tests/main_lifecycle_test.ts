/**
 * In-process tests of startPerch()/stop(): what may still run once Perch
 * has stopped.
 */
import assert from "node:assert/strict";
import { startPerch } from "../main.ts";

Deno.test("a config file saved just before stop() does not reload stopped components", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-lifecycle-" });
  const file = `${dir}/perch.yml`;
  await Deno.writeTextFile(file, "log:\n  level: info\n");
  const logs: string[] = [];
  const p = await startPerch({
    configPath: file,
    flags: { listen: "127.0.0.1:0", dataDir: `${dir}/data` },
    logSink: (l) => logs.push(l),
  });
  try {
    // Let the watcher settle, then save and stop within the debounce.
    await new Promise((r) => setTimeout(r, 100));
    await Deno.writeTextFile(file, "log:\n  level: debug\n");
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    assert.equal(await p.stop(), true);
  }
  const stoppedAt = logs.length;
  await new Promise((r) => setTimeout(r, 600));
  // SIGHUP or /-/reload racing the shutdown is refused, not applied.
  const late = await p.reload();
  assert.equal(late.ok, false);
  const after = logs.slice(stoppedAt);
  assert.deepEqual(after, [], `log lines after stop:\n${after.join("\n")}`);
  await Deno.remove(dir, { recursive: true });
});
