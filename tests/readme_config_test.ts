/**
 * Every Perch config example in the README is valid: each ```yaml block is
 * checked with `perch --check-config`, as a user copying it would. Blocks of
 * other programs' configs (starting `# prometheus.yml`) and blocks with
 * `"<…>"` placeholders a user must fill in are left out.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

function yamlBlocks(md: string): string[] {
  return [...md.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

Deno.test("every Perch config example in the README passes --check-config", async () => {
  const blocks = yamlBlocks(await Deno.readTextFile(`${ROOT}README.md`))
    .filter((b) => !b.startsWith("# prometheus.yml") && !/"<[^"]*>"/.test(b));
  assert.ok(blocks.length >= 4, `README config examples found: ${blocks.length}`);
  const dir = await Deno.makeTempDir();
  try {
    for (const [i, block] of blocks.entries()) {
      const file = `${dir}/example-${i}.yml`;
      await Deno.writeTextFile(file, block);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", `${ROOT}main.ts`, "--check-config", `--config=${file}`],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `README example ${i} (${block.split("\n")[0]}):\n${text}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
