/**
 * Modules are entered through their doors.
 *
 * A module is a folder directly under `core/` that holds a `mod.ts`
 * (`core/tsdb/`, `core/promql/`, …; its subfolders belong to it). Its doors
 * are `mod.ts` and any `mod_<part>.ts` beside it: a smaller entry for callers
 * that must not load the whole module (browser code, test support). A file
 * directly in `core/` (`clock.ts`, `lifecycle.ts`, …) is a module of its own
 * and its own door.
 *
 * Checked: every file under `core/`, `routes/` and `islands/`, and `main.ts`
 * (tests and benches there included). Not checked: `tests/` and `tools/`,
 * which test and measure internals on purpose.
 *
 * Rules:
 * 1. A file outside a module imports it only through a door (static, type
 *    and literal dynamic imports alike). Files inside a module, tests
 *    included, may import its internals.
 * 2. A file Perch loads (reachable from `main.ts` or an island bundle entry)
 *    that is inside a module and is not one of its doors does not import its
 *    own module's doors: that would be a cycle through `mod.ts`, whose
 *    evaluation order depends on who is imported first.
 * 3. Among the files Perch loads, modules do not import each other in a
 *    cycle.
 * 4. Perch never loads a `mod_testing.ts` (test support other modules'
 *    tests share).
 * 5. A file under `core/` that Perch loads imports neither `routes/`,
 *    `islands/` nor the HTTP and UI packages (hono, preact): the domain
 *    logic stays free of them.
 *
 * Specifiers come from Deno's own module graph (`deno info --json`), so
 * comments, strings and multi-line imports are parsed as Deno parses them.
 */
import assert from "node:assert/strict";
import { ROOT } from "./_perch.ts";

/** Entry points of what Perch loads: the server and the browser bundles. */
const ENTRIES = ["main.ts", "islands/client.ts", "islands/client_dash.ts"];

/** One import of one file, as `deno info` reports it. */
export interface ImportEdge {
  /** Importing file, relative to the repository root. */
  readonly from: string;
  /** 1-based line of the specifier. */
  readonly line: number;
  /** Imported file, relative to the repository root. */
  readonly to: string;
  readonly dynamic: boolean;
}

/** Where a file sits: its module (undefined outside `core/<module>/`) and whether it is a door. */
export function placeOf(
  path: string,
  modules: ReadonlySet<string>,
): { module: string | undefined; door: boolean } {
  const parts = path.split("/");
  if (parts[0] !== "core" || parts.length < 3 || !modules.has(parts[1])) {
    return { module: undefined, door: true };
  }
  const door = parts.length === 3 && /^mod(_[a-z0-9_]+)?\.tsx?$/.test(parts[2]);
  return { module: parts[1], door };
}

/** Whether rule 1 checks imports made by `path`. */
export function isChecked(path: string): boolean {
  return path === "main.ts" || /^(core|routes|islands)\//.test(path);
}

/** Rule 1: why importing `to` from `from` is a deep import, or undefined when it is not. */
export function deepImport(
  from: string,
  to: string,
  modules: ReadonlySet<string>,
): string | undefined {
  const target = placeOf(to, modules);
  if (target.module === undefined || target.door) return undefined;
  if (placeOf(from, modules).module === target.module) return undefined;
  return `imports ${to}, inside module core/${target.module}/: use core/${target.module}/mod.ts (or a mod_*.ts door)`;
}

/** Rule 2: why `from` (a file Perch loads) must not import `to`, or undefined. */
export function backDoor(
  from: string,
  to: string,
  modules: ReadonlySet<string>,
): string | undefined {
  const source = placeOf(from, modules);
  const target = placeOf(to, modules);
  if (source.module === undefined || source.door) return undefined;
  if (target.module !== source.module || !target.door) return undefined;
  return `imports its own module's door ${to} (a cycle through core/${source.module}/${
    to.split("/")[2]
  }): import the file that defines the name`;
}

/** npm packages of the HTTP and UI layers. */
const EDGE_PACKAGES = new Set([
  "npm:hono",
  "npm:preact",
  "npm:preact-render-to-string",
  "npm:@preact/signals",
]);

/** Rule 5: why `from` (a file Perch loads) breaks the layering by importing `to`, or undefined. */
export function layerBreach(from: string, to: string): string | undefined {
  if (!from.startsWith("core/")) return undefined;
  if (!/^(routes|islands)\//.test(to) && !EDGE_PACKAGES.has(to)) return undefined;
  return `imports ${to}: core/ stays free of HTTP and UI (routes/, islands/, hono, preact)`;
}

/** Rule 3: the module cycles among `edges`, each as `a → b → … → a` with one import per step. */
export function moduleCycles(
  edges: readonly ImportEdge[],
  modules: ReadonlySet<string>,
): string[] {
  const graph = new Map<string, Map<string, ImportEdge>>();
  for (const e of edges) {
    const a = placeOf(e.from, modules).module;
    const b = placeOf(e.to, modules).module;
    if (a === undefined || b === undefined || a === b) continue;
    let out = graph.get(a);
    if (out === undefined) graph.set(a, out = new Map());
    if (!out.has(b)) out.set(b, e);
  }
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (m: string): void => {
    state.set(m, "open");
    path.push(m);
    for (const [next, edge] of graph.get(m) ?? []) {
      const s = state.get(next);
      if (s === "open") {
        const loop = [...path.slice(path.indexOf(next)), next];
        const steps = loop.slice(0, -1).map((x, i) => {
          const e = i === loop.length - 2 ? edge : graph.get(x)!.get(loop[i + 1])!;
          return `  ${x} → ${loop[i + 1]}: ${e.from}:${e.line} imports ${e.to}`;
        });
        cycles.push(`${loop.join(" → ")}\n${steps.join("\n")}`);
      } else if (s === undefined) {
        visit(next);
      }
    }
    path.pop();
    state.set(m, "done");
  };
  for (const m of [...graph.keys()].sort()) if (!state.has(m)) visit(m);
  return cycles;
}

interface GraphDependency {
  readonly code?: { specifier?: string; span: { start: { line: number } } };
  readonly type?: { specifier?: string; span: { start: { line: number } } };
  readonly isDynamic?: boolean;
}

let graphOnce: Promise<ImportEdge[]> | undefined;

/** Every local import of every source file, read from Deno's module graph (once per run). */
function importGraph(): Promise<ImportEdge[]> {
  return graphOnce ??= readImportGraph();
}

async function readImportGraph(): Promise<ImportEdge[]> {
  const files: string[] = ["main.ts"];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(`${ROOT}${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && e.name !== "testdata") await walk(path);
      else if (e.isFile && /\.tsx?$/.test(e.name)) files.push(path);
    }
  };
  for (const dir of ["core", "routes", "islands"]) await walk(dir);
  const tmp = await Deno.makeTempDir({ prefix: "perch_imports_" });
  try {
    const root = `${tmp}/root.ts`;
    const rootUrl = new URL(`file://${ROOT}`);
    await Deno.writeTextFile(
      root,
      files.map((f) => `import "${new URL(f, rootUrl).href}";\n`).join(""),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "info",
        "--json",
        "--no-npm",
        "--no-remote",
        "--no-lock",
        "--config",
        `${ROOT}deno.json`,
        root,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    const graph = JSON.parse(dec.decode(out.stdout)) as {
      modules: { specifier: string; dependencies?: GraphDependency[] }[];
    };
    // A repository file relative to the root, or an npm package as `npm:<name>`.
    const local = (url: string | undefined): string | undefined => {
      if (url?.startsWith(rootUrl.href)) return decodeURIComponent(url.slice(rootUrl.href.length));
      const npm = url === undefined ? null : /^npm:\/?((?:@[^/@]+\/)?[^/@]+)/.exec(url);
      return npm === null ? undefined : `npm:${npm[1]}`;
    };
    const edges: ImportEdge[] = [];
    for (const m of graph.modules) {
      const from = local(m.specifier);
      if (from === undefined) continue;
      for (const d of m.dependencies ?? []) {
        // One entry per specifier: its value import, else its type import.
        const use = d.code?.specifier !== undefined ? d.code : d.type;
        const to = local(use?.specifier);
        if (use === undefined || to === undefined) continue;
        edges.push({ from, line: use.span.start.line + 1, to, dynamic: d.isDynamic === true });
      }
    }
    return edges;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function moduleNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const e of Deno.readDir(`${ROOT}core`)) {
    if (!e.isDirectory) continue;
    try {
      await Deno.stat(`${ROOT}core/${e.name}/mod.ts`);
      names.add(e.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return names;
}

/** The files Perch loads: everything reachable from `entries` (by default Perch's). */
function loaded(edges: readonly ImportEdge[], entries: readonly string[] = ENTRIES): Set<string> {
  const out = new Map<string, string[]>();
  for (const e of edges) {
    let list = out.get(e.from);
    if (list === undefined) out.set(e.from, list = []);
    list.push(e.to);
  }
  const seen = new Set<string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...(out.get(f) ?? []));
  }
  return seen;
}

const where = (e: ImportEdge, why: string) =>
  `${e.from}:${e.line} ${e.dynamic ? "dynamically " : ""}${why}`;

Deno.test("the rules tell a door from a deep import", () => {
  const mods = new Set(["model", "tsdb", "notify"]);
  // Rule 1.
  assert.match(
    deepImport("routes/api.ts", "core/model/labels.ts", mods) ?? "",
    /core\/model\/mod\.ts/,
  );
  assert.ok(deepImport("core/tsdb/db.ts", "core/model/labels.ts", mods));
  assert.ok(deepImport("islands/Chart.tsx", "core/tsdb/_xor.ts", mods));
  assert.ok(deepImport("main.ts", "core/notify/channels/slack.ts", mods));
  assert.ok(deepImport("core/tsdb/db_test.ts", "core/notify/queue.ts", mods));
  assert.equal(deepImport("routes/api.ts", "core/model/mod.ts", mods), undefined);
  assert.equal(deepImport("islands/Chart.tsx", "core/model/mod_browser.ts", mods), undefined);
  assert.equal(deepImport("core/tsdb/db.ts", "core/tsdb/wal.ts", mods), undefined);
  assert.equal(
    deepImport("core/notify/channels/slack.ts", "core/notify/queue.ts", mods),
    undefined,
  );
  assert.equal(deepImport("core/tsdb/db_test.ts", "core/tsdb/_xor.ts", mods), undefined);
  assert.equal(deepImport("core/tsdb/db.ts", "core/clock.ts", mods), undefined);
  assert.equal(deepImport("routes/api.ts", "routes/api_json.ts", mods), undefined);
  // A subfolder's mod.ts is not a door of the module.
  assert.ok(deepImport("routes/x.ts", "core/notify/channels/mod.ts", mods));
  // A folder without mod.ts is no module.
  assert.equal(deepImport("routes/x.ts", "core/other/x.ts", mods), undefined);
  // Rule 2.
  assert.ok(backDoor("core/tsdb/db.ts", "core/tsdb/mod.ts", mods));
  assert.ok(backDoor("core/notify/channels/slack.ts", "core/notify/mod.ts", mods));
  assert.equal(backDoor("core/tsdb/mod.ts", "core/tsdb/mod_testing.ts", mods), undefined);
  assert.equal(backDoor("core/tsdb/db.ts", "core/model/mod.ts", mods), undefined);
  // Rule 5.
  assert.ok(layerBreach("core/tsdb/db.ts", "routes/api.ts"));
  assert.ok(layerBreach("core/live/hub.ts", "npm:hono"));
  assert.ok(layerBreach("core/dashboards/x.ts", "npm:@preact/signals"));
  assert.equal(layerBreach("core/tsdb/db.ts", "npm:zod"), undefined);
  assert.equal(layerBreach("routes/api.ts", "npm:hono"), undefined);
  // Rule 3.
  const e = (from: string, to: string): ImportEdge => ({ from, line: 1, to, dynamic: false });
  assert.deepEqual(
    moduleCycles([e("core/tsdb/a.ts", "core/model/mod.ts")], mods),
    [],
  );
  const cycles = moduleCycles([
    e("core/tsdb/a.ts", "core/model/mod.ts"),
    e("core/model/b.ts", "core/notify/mod.ts"),
    e("core/notify/c.ts", "core/tsdb/mod.ts"),
  ], mods);
  assert.equal(cycles.length, 1);
  assert.match(cycles[0], /^model → notify → tsdb → model\n/);
  assert.match(cycles[0], /core\/notify\/c\.ts:1 imports core\/tsdb\/mod\.ts/);
});

Deno.test("modules are imported through their doors, without cycles", async () => {
  const modules = await moduleNames();
  assert.ok(modules.has("tsdb") && modules.has("model"), `modules found: ${[...modules]}`);
  const edges = await importGraph();
  assert.ok(edges.length > 500, `only ${edges.length} imports found`);
  const perch = loaded(edges);
  assert.ok(perch.has("core/tsdb/db.ts"), "main.ts does not reach core/tsdb/db.ts");

  const problems: string[] = [];
  for (const e of edges) {
    if (!isChecked(e.from)) continue;
    const deep = deepImport(e.from, e.to, modules);
    if (deep !== undefined) problems.push(where(e, deep));
    if (!perch.has(e.from)) continue;
    const back = backDoor(e.from, e.to, modules);
    if (back !== undefined) problems.push(where(e, back));
    const breach = layerBreach(e.from, e.to);
    if (breach !== undefined) problems.push(where(e, breach));
  }
  for (const f of perch) {
    if (/^core\/[^/]+\/mod_testing\.ts$/.test(f)) {
      problems.push(`${f} is test support, but Perch loads it`);
    }
  }
  problems.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const cycles = moduleCycles(edges.filter((e) => perch.has(e.from)), modules);
  for (const c of cycles) problems.push(`module cycle ${c}`);
  if (problems.length > 0) assert.fail(`${problems.length} problems:\n${problems.join("\n")}`);
});

Deno.test("the block worker's module graph holds no npm package, not even for types", async () => {
  // The worker is type-checked and loaded on its own thread when the first
  // block is written: with zod or re2js in its graph (a type import through
  // model/mod.ts is enough) that took over its 10 s ready timeout on a busy
  // machine, and every block was then written on the main thread.
  const worker = "core/tsdb/block_worker.ts";
  const graph = loaded(await importGraph(), [worker]);
  assert.ok(graph.has("core/tsdb/block_writer.ts"), [...graph].join(", "));
  const npm = [...graph].filter((f) => f.startsWith("npm:"));
  assert.deepEqual(npm, [], `${worker} reaches ${npm.join(", ")}`);
});
