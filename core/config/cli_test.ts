import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { FLAGS, parseFlags } from "./cli.ts";

/** What node:util's strict parseArgs makes of `args` (the behaviour parseFlags keeps). */
function reference(args: string[]): Record<string, unknown> | "error" {
  try {
    const r = parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false });
    return { ...r.values };
  } catch {
    return "error";
  }
}

Deno.test("parseFlags() reads the command line as node:util parseArgs does (strict, no positionals)", () => {
  const cases = [
    [],
    ["--config", "perch.yml"],
    ["--config=perch.yml", "--data-dir=/var/lib/perch"],
    ["--listen", "127.0.0.1:9090", "--log-level=debug", "--check-config"],
    ["--listen=a:1", "--listen=b:2"],
    ["--config="],
    ["-h"],
    ["--help", "--version"],
    ["--no-such-flag"],
    ["--config"],
    ["--config", "--listen=x:1"],
    ["--check-config=yes"],
    ["positional"],
    ["-x"],
    ["-"],
    ["--"],
    ["--", "--config=x"],
    ["--config", "x", "--"],
  ];
  for (const args of cases) {
    const want = reference(args);
    if (want === "error") {
      assert.throws(() => parseFlags(args), TypeError, JSON.stringify(args));
    } else assert.deepEqual({ ...parseFlags(args) }, want, JSON.stringify(args));
  }
  assert.throws(() => parseFlags(["--no-such-flag"]), /Unknown option '--no-such-flag'/);
});
