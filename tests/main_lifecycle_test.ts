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

Deno.test("the config watcher does not reload a save that a reload already loaded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-lifecycle-" });
  const file = `${dir}/perch.yml`;
  await Deno.writeTextFile(file, "server:\n  max_body_bytes: 1KiB\n");
  const logs: string[] = [];
  const p = await startPerch({
    configPath: file,
    flags: { listen: "127.0.0.1:0", dataDir: `${dir}/data` },
    logSink: (l) => logs.push(l),
  });
  const reloaded = () => logs.filter((l) => l.includes('"msg":"config reloaded"')).length;
  try {
    // Save and reload at once (as a deploy script sending SIGHUP does).
    await Deno.writeTextFile(file, "server:\n  max_body_bytes: 2KiB\n");
    assert.deepEqual(await p.reload(), { ok: true, restart: [] });
    // The watcher sees the save (debounced 250 ms) and finds its text loaded.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(reloaded(), 1);
    assert.equal(p.config().server.max_body_bytes, 2048);
    // A save with other text still reloads.
    await Deno.writeTextFile(file, "server:\n  max_body_bytes: 3KiB\n");
    for (let i = 0; i < 200 && reloaded() < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(reloaded(), 2);
    assert.equal(p.config().server.max_body_bytes, 3072);
  } finally {
    assert.equal(await p.stop(), true);
  }
  await Deno.remove(dir, { recursive: true });
});
