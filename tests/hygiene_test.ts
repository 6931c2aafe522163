/**
 * The code stays formatted and lint-clean (`deno task check` without the
 * type check, which `deno test` already does for everything it loads), and
 * the server's sources stay in Latin-1.
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

Deno.test("server sources (core/, routes/, islands/, main.ts; tests and benches aside) are Latin-1", async () => {
  // V8 keeps each module's source (Deno's emit with its inline source map)
  // in the heap, one byte a character, or two for the whole module when one
  // character is above U+00FF: ~2.7 MB of a 20,000-series server's heap
  // went to an arrow or an ellipsis in a comment. Strings say it with an
  // escape ("\u2026"), JSX text an HTML entity (&hellip;).
  const found: string[] = [];
  const check = async (path: string) => {
    const lines = (await Deno.readTextFile(`${ROOT}${path}`)).split("\n");
    lines.forEach((l, i) => {
      if (/[\u0100-\uffff]/.test(l)) found.push(`${path}:${i + 1}: ${l.trim()}`);
    });
  };
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(`${ROOT}${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (/\.tsx?$/.test(e.name) && !/_(test|bench)\.tsx?$/.test(e.name)) await check(path);
    }
  };
  await walk("core");
  await walk("routes");
  await walk("islands"); // Rendered on the server too.
  await check("main.ts");
  assert.deepEqual(found, []);
});
