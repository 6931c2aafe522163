/**
 * Parses every `eval` expression of Prometheus's own test scripts
 * (`tests/promql/testdata/upstream/*.test`) and checks that it parses and
 * survives a print → parse round trip. Expressions that need features Perch
 * does not support are listed in {@linkcode UNSUPPORTED} with the reason.
 */
import assert from "node:assert/strict";
import type { Expr } from "./ast.ts";
import { parseExpr } from "./parser.ts";
import { formatExpr } from "./printer.ts";
import { stripForCompare } from "./_test_util.ts";

const DIR = new URL("../../tests/promql/testdata/upstream/", import.meta.url);

interface Case {
  file: string;
  line: number;
  expr: string;
  expectFail: boolean;
}

/** Features Perch does not parse, recognised by their syntax, with the reason. */
const UNSUPPORTED: { re: RegExp; reason: string }[] = [
  {
    re: /\[[^\]]*(step\(\)|range\(\)|min_of|max_of|[0-9smhdwy)]\s*[-+*/%^]\s*[0-9(.])[^\]]*\]/i,
    reason: "experimental duration expressions inside [...]",
  },
  {
    re: /offset\s*[-+]?\s*(\(|step\(\)|range\(\)|min_of|max_of)/i,
    reason: "experimental duration expressions after offset",
  },
  {
    re: /\b(fill|fill_left|fill_right)\s*\(/,
    reason: "experimental binop fill modifiers (fill/fill_left/fill_right)",
  },
  {
    re: /\b(smoothed|anchored)\b/,
    reason: "experimental extended range selectors (anchored/smoothed)",
  },
  { re: /[<>]\//, reason: "native-histogram trim operators `</` and `>/`" },
  {
    re: /\bstart_timestamp\s*\(/,
    reason: "experimental start_timestamp() (Perch stores no start/created timestamps)",
  },
];

function extractCases(file: string, text: string): Case[] {
  const lines = text.split("\n");
  const out: Case[] = [];
  const head =
    /^eval(_fail|_warn|_info|_ordered)?\s+(?:instant\s+at\s+\S+|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+)\s+(.*)$/;
  for (let i = 0; i < lines.length; i++) {
    const m = head.exec(lines[i].trim());
    if (!m) continue;
    let expectFail = m[1] === "_fail";
    for (let j = i + 1; j < lines.length && lines[j].trim() !== ""; j++) {
      if (/^expect\s+fail\b/.test(lines[j].trim())) expectFail = true;
    }
    out.push({ file, line: i + 1, expr: m[2], expectFail });
  }
  return out;
}

function unsupportedReason(expr: string): string | undefined {
  return UNSUPPORTED.find((u) => u.re.test(expr))?.reason;
}

async function loadCases(): Promise<Case[]> {
  const cases: Case[] = [];
  const names: string[] = [];
  for await (const e of Deno.readDir(DIR)) if (e.name.endsWith(".test")) names.push(e.name);
  names.sort();
  for (const name of names) {
    cases.push(...extractCases(name, await Deno.readTextFile(new URL(name, DIR))));
  }
  return cases;
}

Deno.test("parseExpr() parses every upstream Prometheus test expression except unsupported features", async () => {
  const cases = await loadCases();
  assert.ok(cases.length > 1500, `expected many cases, found ${cases.length}`);
  const failures: string[] = [];
  const skipped = new Map<string, number>();
  let parsed = 0;
  for (const c of cases) {
    let expr: Expr | undefined;
    let error: unknown;
    try {
      expr = parseExpr(c.expr);
    } catch (e) {
      error = e;
    }
    const reason = expr === undefined ? unsupportedReason(c.expr) : undefined;
    if (expr === undefined && reason !== undefined) {
      skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
      continue;
    }
    // Every `expect fail` case upstream fails at evaluation time, not at parse time.
    if (expr === undefined) {
      failures.push(`${c.file}:${c.line} ${c.expr}\n    ${(error as Error).message}`);
      continue;
    }
    parsed++;
  }
  console.log(`upstream expressions: ${cases.length}, parsed: ${parsed}`);
  for (const [reason, n] of skipped) console.log(`  unsupported (${n}): ${reason}`);
  assert.deepEqual(failures, []);
});

Deno.test("formatExpr() output of every upstream test expression parses back to the same tree", async () => {
  const cases = await loadCases();
  const failures: string[] = [];
  let checked = 0;
  for (const c of cases) {
    let first: Expr;
    try {
      first = parseExpr(c.expr);
    } catch {
      continue; // reported by the test above
    }
    const printed = formatExpr(first);
    try {
      const second = parseExpr(printed);
      assert.deepEqual(stripForCompare(second), stripForCompare(first));
      assert.equal(formatExpr(second), printed);
      checked++;
    } catch (e) {
      failures.push(
        `${c.file}:${c.line} ${c.expr}\n    printed: ${printed}\n    ${
          (e as Error).message.slice(0, 300)
        }`,
      );
    }
  }
  console.log(`round-tripped: ${checked}`);
  assert.deepEqual(failures, []);
});
