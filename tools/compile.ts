/**
 * Builds the single `perch` executable (`deno task compile`).
 *
 * `deno compile` needs Deno's `denort` runtime. Online, Deno downloads it
 * from dl.deno.land; offline, point `DENORT_BIN` at a `denort` binary of the
 * same Deno version (2.9.6) and Deno uses that instead. Browser assets are
 * rebuilt first and embedded as modules, so the binary reads no source files.
 *
 * Usage: deno task compile [--output perch] [--target x86_64-unknown-linux-gnu]
 */
import { parseArgs } from "node:util";
import { PERCH_V8_FLAGS } from "./_v8_flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    output: { type: "string", default: "perch" },
    target: { type: "string" },
    "skip-build": { type: "boolean", default: false },
  },
});
const root = new URL("../", import.meta.url).pathname;

async function run(args: string[]): Promise<void> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    console.error(`deno ${args[0]} failed with exit code ${code}`);
    Deno.exit(code);
  }
}

if (!values["skip-build"]) await run(["run", "--allow-all", "tools/build.ts"]);

if (Deno.env.get("DENORT_BIN")) {
  console.log(`using DENORT_BIN=${Deno.env.get("DENORT_BIN")} (offline build)`);
} else {
  console.log("downloading denort from dl.deno.land (set DENORT_BIN to build offline)");
}
await run([
  "compile",
  "--allow-all",
  "--unstable-kv",
  `--v8-flags=${PERCH_V8_FLAGS}`,
  // The block writer runs in a Web Worker loaded by URL; embed its module.
  "--include",
  "core/tsdb/block_worker.ts",
  "--output",
  values.output!,
  ...(values.target ? ["--target", values.target] : []),
  "main.ts",
]);
console.log(`built ${values.output}`);
