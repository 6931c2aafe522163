/**
 * The code stays formatted and lint-clean (`deno task check` without the
 * type check, which `deno test` already does for everything it loads).
 */
import assert from "node:assert/strict";
import { ROOT } from "./_perch.ts";

async function run(args: string[]): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("deno fmt --check finds nothing to reformat", async () => {
  const r = await run(["fmt", "--check"]);
  assert.equal(r.code, 0, r.text.slice(0, 4000));
});

Deno.test("deno lint finds no problem", async () => {
  const r = await run(["lint"]);
  assert.equal(r.code, 0, r.text.slice(0, 4000));
});

Deno.test("deno task start runs Perch with the V8 flags the compiled binary has", async () => {
  const { PERCH_V8_FLAGS } = await import("../tools/_v8_flags.ts");
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks;
  assert.match(tasks.start, new RegExp(`--v8-flags=${PERCH_V8_FLAGS}( |$)`));
});
