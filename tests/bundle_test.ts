/**
 * Single-binary readiness: the server bundled into one file runs from an
 * empty directory (no source tree, no node_modules) and serves /health and a
 * UI page with its embedded assets.
 */
import assert from "node:assert/strict";
import { ROOT, spawnPerch } from "./_perch.ts";

Deno.test("the bundled server runs from an empty directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-bundle-" });
  const out = `${dir}/perch.js`;
  const b = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform=deno", "-o", out, `${ROOT}main.ts`],
    cwd: ROOT,
    stderr: "piped",
  }).output();
  assert.equal(b.code, 0, new TextDecoder().decode(b.stderr));
  const files = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.deepEqual(files, ["perch.js"]);

  // Run it with no config file in reach, from the empty directory.
  const p = await spawnPerch({
    script: out,
    cwd: dir,
    dataDir: `${dir}/data`,
    env: { DENO_NO_PACKAGE_JSON: "1" },
    runArgs: ["--no-config", "--unstable-kv", "--no-lock"],
  });
  try {
    const h = await fetch(`${p.url}/health`);
    assert.equal(h.status, 200);
    assert.equal((await h.json()).status, "healthy");
    const page = await fetch(`${p.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-island="HealthPanel"/);
    const css = await fetch(`${p.url}/static/style.css`);
    assert.equal(css.status, 200);
    assert.match(await css.text(), /--accent/);
  } finally {
    await p.stop();
  }
  // Nothing was created beside the bundle except the data dir.
  const after = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(after, ["data", "perch.js"]);
});

Deno.test("the committed embedded assets match a fresh build", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}tools/build.ts`, "--check"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0, text);
});

Deno.test("the embedded rule files match rules/", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}tools/embed_rules.ts`, "--check"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0, text);
});
