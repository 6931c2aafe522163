/**
 * What a Perch server's JS heap holds (issue 19, memory): a V8 heap snapshot
 * taken through the inspector, summed up. Perch is started as
 * tools/footprint_bench.ts starts it (its V8 flags, plus `--inspect`), fed
 * the `wide` (20,000 series) or `edge` workload by remote write, flushed,
 * left idle, and (by default) given footprint_bench's query round; 3 s after
 * it (once Perch's own reclaim ran) a full collection and the snapshot.
 * Printed, with bytes per series:
 *
 * - self size by constructor (objects), type (strings, arrays, code, …) or
 *   native kind (`system / JSArrayBufferData`: ArrayBuffer memory), with
 *   the count and the size those objects retain (the dominator tree,
 *   counted once where objects of one constructor retain each other);
 * - self size by owner: the nearest object of a named (non built-in) class,
 *   or scope (`(context)`), on the shortest path from the roots, and the
 *   field that leads there (`Head.#series`, `(context).cache`);
 * - the objects that retain most, with their dominator path from the root;
 * - strings held more than once (the bytes a shared copy would save).
 *
 * Perch's own reclaims (full collection + malloc trim) are printed as they
 * come (its debug log). The inspector adds to the heap it reports (~10 MB
 * more than `Deno.memoryUsage()` reads without it, on the wide workload):
 * compare snapshots with snapshots, not with footprint_bench's readings.
 * `HeapGraph` is exported for one-off digs in a saved snapshot.
 *
 *   deno run -A tools/heap_snapshot.ts [--workload=wide|edge|none (no data: the baseline)] [--at=query|idle]
 *     [--idle=45000] [--runs=20] [--top=25] [--out=FILE.heapsnapshot]
 *     [--base=DIR (Perch from another checkout)] [--file=FILE (summarize a saved snapshot)]
 *
 * @module
 */
import { spawnBenchPerch } from "./_bench_perch.ts";
import { edgeBodies, QUERIES, queryRangeUrl } from "./_queries.ts";
import { pushConcurrently } from "../tests/_remote_write.ts";
import { PERCH_V8_FLAGS } from "./_v8_flags.ts";
import { procMem } from "../tests/_perch.ts";
import { connectInspector } from "./_cdp.ts";
import { arg } from "./_args.ts";

const workload = arg("workload", "wide");
const at = arg("at", "query");
const idleMs = Number(arg("idle", "45000"));
const runs = Number(arg("runs", "20"));
const top = Number(arg("top", "25"));
const out = arg("out", "");
const base = arg("base", "");
const file = arg("file", "");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (x: number) => (x / 1e6).toFixed(2).padStart(8);

/** A `.heapsnapshot` as V8 writes it (the fields this tool reads). */
export interface RawSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Constructors of the language and the runtime: never an owner. */
const BUILTIN = new Set([
  "Object",
  "Array",
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "WeakRef",
  "Promise",
  "Generator",
  "AsyncGenerator",
  "Module",
  "Error",
  "ArrayBuffer",
  "SharedArrayBuffer",
  "DataView",
  "Uint8Array",
  "Int8Array",
  "Uint16Array",
  "Int16Array",
  "Uint32Array",
  "Int32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
  "Uint8ClampedArray",
  "RegExp",
  "Date",
]);

/** The graph of a snapshot with its dominator tree and retained sizes. */
export class HeapGraph {
  readonly n: number;
  readonly type: Uint8Array;
  readonly name: Uint32Array;
  readonly self: Float64Array;
  readonly firstEdge: Uint32Array;
  readonly edgeType: Uint8Array;
  readonly edgeName: Uint32Array;
  readonly edgeTo: Uint32Array;
  readonly types: string[];
  readonly edgeTypes: string[];
  readonly strings: string[];
  /** Immediate dominator (the root is its own); unreachable nodes: 0xffffffff. */
  readonly idom: Uint32Array;
  readonly retained: Float64Array;
  /** Reachable nodes, the root first, each after its dominator. */
  readonly order: Uint32Array;

  constructor(raw: RawSnapshot) {
    const m = raw.snapshot.meta;
    const nf = m.node_fields.length, ef = m.edge_fields.length;
    const [fType, fName, fSelf, fCount] = ["type", "name", "self_size", "edge_count"].map((f) =>
      m.node_fields.indexOf(f)
    ) as [number, number, number, number];
    const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) =>
      m.edge_fields.indexOf(f)
    ) as [number, number, number];
    this.types = m.node_types[0];
    this.edgeTypes = m.edge_types[0];
    this.strings = raw.strings;
    const n = this.n = raw.nodes.length / nf;
    this.type = new Uint8Array(n);
    this.name = new Uint32Array(n);
    this.self = new Float64Array(n);
    this.firstEdge = new Uint32Array(n + 1);
    for (let i = 0, e = 0; i < n; i++) {
      this.type[i] = raw.nodes[i * nf + fType]!;
      this.name[i] = raw.nodes[i * nf + fName]!;
      this.self[i] = raw.nodes[i * nf + fSelf]!;
      this.firstEdge[i] = e;
      e += raw.nodes[i * nf + fCount]!;
      this.firstEdge[i + 1] = e;
    }
    const ne = raw.edges.length / ef;
    this.edgeType = new Uint8Array(ne);
    this.edgeName = new Uint32Array(ne);
    this.edgeTo = new Uint32Array(ne);
    for (let k = 0; k < ne; k++) {
      this.edgeType[k] = raw.edges[k * ef + eType]!;
      this.edgeName[k] = raw.edges[k * ef + eName]!;
      this.edgeTo[k] = raw.edges[k * ef + eTo]! / nf;
    }
    const { idom, order } = this.dominators();
    this.idom = idom;
    this.order = order;
    this.retained = Float64Array.from(this.self);
    for (let i = order.length - 1; i > 0; i--) {
      const v = order[i]!;
      this.retained[idom[v]!]! += this.retained[v]!;
    }
  }

  /** Whether edge `k` holds its target (weak references and shortcuts do not). */
  strong(k: number): boolean {
    const t = this.edgeTypes[this.edgeType[k]!];
    return t !== "weak" && t !== "shortcut";
  }

  /** Cooper, Harvey and Kennedy's iterative dominators over the strong edges from node 0. */
  private dominators(): { idom: Uint32Array; order: Uint32Array } {
    const n = this.n, NONE = 0xffffffff;
    const post = new Uint32Array(n).fill(NONE);
    const byPost: number[] = [];
    const stack = [0], next = Uint32Array.from(this.firstEdge.subarray(0, n));
    const seen = new Uint8Array(n);
    seen[0] = 1;
    while (stack.length > 0) {
      const v = stack[stack.length - 1]!;
      const k = next[v]!;
      if (k < this.firstEdge[v + 1]!) {
        next[v] = k + 1;
        const w = this.edgeTo[k]!;
        if (this.strong(k) && seen[w] === 0) {
          seen[w] = 1;
          stack.push(w);
        }
      } else {
        stack.pop();
        post[v] = byPost.length;
        byPost.push(v);
      }
    }
    // Predecessors of each reachable node, by strong edges from reachable nodes.
    const predCount = new Uint32Array(n + 1);
    for (let v = 0; v < n; v++) {
      if (post[v] === NONE) continue;
      for (let k = this.firstEdge[v]!; k < this.firstEdge[v + 1]!; k++) {
        if (this.strong(k)) predCount[this.edgeTo[k]! + 1]!++;
      }
    }
    for (let v = 0; v < n; v++) predCount[v + 1]! += predCount[v]!;
    const preds = new Uint32Array(predCount[n]!), fill = predCount.slice(0, n);
    for (let v = 0; v < n; v++) {
      if (post[v] === NONE) continue;
      for (let k = this.firstEdge[v]!; k < this.firstEdge[v + 1]!; k++) {
        if (this.strong(k)) preds[fill[this.edgeTo[k]!]!++] = v;
      }
    }
    const idom = new Uint32Array(n).fill(NONE);
    idom[0] = 0;
    const intersect = (a: number, b: number) => {
      while (a !== b) {
        while (post[a]! < post[b]!) a = idom[a]!;
        while (post[b]! < post[a]!) b = idom[b]!;
      }
      return a;
    };
    for (let changed = true; changed;) {
      changed = false;
      for (let i = byPost.length - 2; i >= 0; i--) {
        const v = byPost[i]!;
        let d = NONE;
        for (let j = predCount[v]!; j < predCount[v + 1]!; j++) {
          const p = preds[j]!;
          if (idom[p] === NONE) continue;
          d = d === NONE ? p : intersect(p, d);
        }
        if (d !== idom[v]) {
          idom[v] = d;
          changed = true;
        }
      }
    }
    return { idom, order: Uint32Array.from(byPost.reverse()) };
  }

  /** The node's kind: constructor name of an object, else its type (with the name of natives). */
  kind(v: number): string {
    const t = this.types[this.type[v]!]!;
    const name = this.strings[this.name[v]!]!;
    if (t === "object") {
      return name.startsWith("system / Context") ? "(context)" : name.replace(/ \/ .*/, "");
    }
    if (t.endsWith("string")) return "(string)";
    if (t === "array" || t === "hidden" || t === "native" || t === "synthetic") {
      return `(${t}) ${name.length > 40 ? name.slice(0, 40) + "…" : name}`;
    }
    return `(${t})`;
  }

  /** Whether the node names a place in Perch: an object of a non built-in class, or a scope. */
  isOwner(v: number): boolean {
    const t = this.types[this.type[v]!]!;
    const name = this.strings[this.name[v]!]!;
    if (name.startsWith("system / Context")) return true;
    return t === "object" && /^[A-Z_$]/.test(name) && !BUILTIN.has(name) &&
      !name.startsWith("system /");
  }

  /** The owner's label: its class, or `(context)`. */
  ownerLabel(v: number): string {
    return this.strings[this.name[v]!]!.startsWith("system / Context") ? "(context)" : this.kind(v);
  }

  /** Edge `k`'s name: the property or variable, or `[]` for an element. */
  edgeLabel(k: number): string {
    const t = this.edgeTypes[this.edgeType[k]!];
    return t === "element" || t === "hidden" ? "[]" : String(this.strings[this.edgeName[k]!]);
  }
}

/** Sums `f(v)` over the reachable nodes by key, sorted by size, with counts. */
function tally(
  g: HeapGraph,
  key: (v: number) => string,
  size: (v: number) => number = (v) => g.self[v]!,
): [string, number, number][] {
  const m = new Map<string, [number, number]>();
  for (const v of g.order) {
    const k = key(v);
    const e = m.get(k);
    if (e) {
      e[0] += size(v);
      e[1]++;
    } else m.set(k, [size(v), 1]);
  }
  return [...m].map(([k, [s, c]]): [string, number, number] => [k, s, c])
    .sort((a, b) => b[1] - a[1]);
}

/** Prints the summary of a snapshot; `series` scales the per-series column. */
function summarize(raw: RawSnapshot, series: number): void {
  const t0 = performance.now();
  const g = new HeapGraph(raw);
  const total = g.order.reduce((a, v) => a + g.self[v]!, 0);
  const per = (x: number) => series > 0 ? `${(x / series).toFixed(0).padStart(6)} B/series` : "";
  console.log(
    `\n${g.n} nodes (${g.order.length} reachable), self sizes ${mb(total)} MB ${per(total)}` +
      ` (analysed in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );

  // Retained by kind: once per object not dominated by another of its kind.
  const kindOf = Array.from({ length: g.n }, () => "");
  for (const v of g.order) kindOf[v] = g.kind(v);
  const nested = new Uint8Array(g.n);
  for (const v of g.order) {
    for (let d = g.idom[v]!; d !== 0; d = g.idom[d]!) {
      if (kindOf[d] === kindOf[v]) {
        nested[v] = 1;
        break;
      }
    }
  }
  const retainedBy = new Map(
    tally(g, (v) => kindOf[v]!, (v) => nested[v] ? 0 : g.retained[v]!)
      .map(([k, s]) => [k, s]),
  );
  console.log(`\nself size by kind (top ${top}):        MB   bytes/series    count  retained MB`);
  for (const [k, s, c] of tally(g, (v) => kindOf[v]!).slice(0, top)) {
    console.log(
      `  ${mb(s)} ${per(s)} ${String(c).padStart(8)} ${mb(retainedBy.get(k)!)}  ${k}`,
    );
  }

  // Owner and field of each node: along its shortest path from the root.
  const NONE = 0xffffffff;
  const owner = new Uint32Array(g.n).fill(NONE), via = new Uint32Array(g.n).fill(NONE);
  const seen = new Uint8Array(g.n);
  seen[0] = 1;
  for (let queue = [0], i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    const own = g.isOwner(v);
    for (let k = g.firstEdge[v]!; k < g.firstEdge[v + 1]!; k++) {
      const w = g.edgeTo[k]!;
      if (!g.strong(k) || seen[w]) continue;
      seen[w] = 1;
      queue.push(w);
      owner[w] = own ? v : owner[v]!;
      via[w] = own ? k : via[v]!;
    }
  }
  const ownerKey = (v: number) =>
    owner[v] === NONE ? "(no owner)" : `${g.ownerLabel(owner[v]!)}.${g.edgeLabel(via[v]!)}`;
  console.log(`\nself size by owner.field (top ${top}):   MB   bytes/series    nodes`);
  for (const [k, s, c] of tally(g, ownerKey).slice(0, top)) {
    console.log(`  ${mb(s)} ${per(s)} ${String(c).padStart(8)}  ${k}`);
  }
  console.log(`\nself size by owner.field and kind (top ${top}):`);
  for (const [k, s, c] of tally(g, (v) => `${ownerKey(v)}  ${kindOf[v]}`).slice(0, top)) {
    console.log(`  ${mb(s)} ${per(s)} ${String(c).padStart(8)}  ${k}`);
  }

  // The objects that retain most, outermost first (skip one retaining nearly all its dominator does).
  console.log(`\nlargest retainers (dominator path from the root):`);
  const big = [...g.order].filter((v) => v !== 0 && g.retained[v]! >= total / 200)
    .sort((a, b) => g.retained[b]! - g.retained[a]!);
  let shown = 0;
  for (const v of big) {
    const d = g.idom[v]!;
    if (d !== 0 && g.retained[v]! > 0.9 * g.retained[d]! && big.includes(d)) continue;
    const path: string[] = [];
    for (let u = v; u !== 0 && path.length < 10; u = g.idom[u]!) {
      const p = g.idom[u]!;
      let label = "";
      for (let k = g.firstEdge[p]!; k < g.firstEdge[p + 1]!; k++) {
        if (g.edgeTo[k] === u) {
          label = g.edgeLabel(k);
          break;
        }
      }
      path.unshift(`${label ? label + ":" : ""}${kindOf[u]}`);
    }
    console.log(`  ${mb(g.retained[v]!)} ${per(g.retained[v]!)}  ${path.join(" > ")}`);
    if (++shown >= top) break;
  }

  // Strings held more than once.
  const copies = new Map<string, [number, number]>();
  for (const v of g.order) {
    const t = g.types[g.type[v]!]!;
    if (t !== "string") continue;
    const s = g.strings[g.name[v]!]!;
    const e = copies.get(s);
    if (e) {
      e[0]++;
      e[1] += g.self[v]!;
    } else copies.set(s, [1, g.self[v]!]);
  }
  const dup = [...copies].filter(([, [c]]) => c > 1)
    .map(([s, [c, b]]): [string, number, number] => [s, c, b - b / c])
    .sort((a, b) => b[2] - a[2]);
  const saved = dup.reduce((a, d) => a + d[2], 0);
  console.log(
    `\nstrings held more than once: ${dup.length} values, ${mb(saved)} MB ${
      per(saved)
    } in extra copies; top:`,
  );
  for (const [s, c, b] of dup.slice(0, top)) {
    console.log(`  ${mb(b)} ${String(c).padStart(8)}×  ${JSON.stringify(s.slice(0, 60))}`);
  }
}

/** Runs footprint_bench's query round: each query uncached then cached, `runs` + 1 times each. */
async function queryRound(url: string, end: number): Promise<void> {
  for (const [, q, range, step] of QUERIES) {
    const once = async (shift: number) => {
      const r = await fetch(queryRangeUrl(url, q, range, step, end, shift));
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${q}: ${r.status} ${text.slice(0, 200)}`);
    };
    for (let i = 0; i <= runs; i++) await once(i + 1);
    for (let i = 0; i <= runs; i++) await once(0);
  }
}

/** Starts Perch, brings it to the state `--at` names, and returns its snapshot and series count. */
async function snapshotServer(): Promise<{ raw: RawSnapshot; series: number }> {
  const wide = workload === "wide", none = workload === "none";
  const w = none
    ? { bodies: [], samples: 0, series: 0, end: 0 }
    : edgeBodies(wide ? 1000 : 100, wide ? 1 : 6);
  const port = 9300 + Math.floor(Math.random() * 500);
  const root = await Deno.makeTempDir({ prefix: "perch-heap-" });
  const t0 = performance.now();
  const stamp = () => `${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
  const p = await spawnBenchPerch(root, {
    env: { PERCH_STORAGE__RETENTION: "0", PERCH_LOG__LEVEL: "debug" },
    // Perch's own reclaims (full collection + malloc trim), as they happen.
    onLog: (line) => {
      if (!line.includes('"memory reclaimed"')) return;
      const r = JSON.parse(line) as { rss_before: number; rss_after: number };
      console.log(`${stamp()} reclaim: RSS ${r.rss_before >> 20} → ${r.rss_after >> 20} MiB`);
    },
    runArgs: [`--v8-flags=${PERCH_V8_FLAGS}`, `--inspect=127.0.0.1:${port}`],
    keepLogs: 100,
    ...(base ? { script: `${base}/main.ts`, cwd: base } : {}),
  });
  try {
    const rss = () => `RSS ${procMem(p.process.pid).VmRSS!.toFixed(0)} MiB`;
    if (!none) {
      await pushConcurrently(p.url, w.bodies);
      const f = await fetch(`${p.url}/api/v1/admin/tsdb/flush`, { method: "POST" });
      await f.body?.cancel();
    }
    console.log(`${stamp()} ingested and flushed, ${rss()}`);
    await sleep(idleMs);
    console.log(
      `${stamp()} ${workload}: ${w.series} series, ${w.samples} samples; after idle, ${rss()}`,
    );
    if (at === "query" && !none) {
      await queryRound(p.url, w.end);
      console.log(`${stamp()} right after the query round, ${rss()}`);
      await sleep(3000);
      console.log(`${stamp()} 3 s after, ${rss()}`);
    }
    const chunks: string[] = [];
    const cdp = await connectInspector(port, (method, params) => {
      if (method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(params.chunk as string);
    });
    const usage = async () => {
      const r = await cdp.post("Runtime.evaluate", {
        expression: "JSON.stringify(Deno.memoryUsage())",
        returnByValue: true,
      }) as { result: { value: string } };
      const m = JSON.parse(r.result.value) as Record<string, number>;
      return `heap used ${mb(m.heapUsed!)} of ${mb(m.heapTotal!)} MB, external ${
        mb(m.external!)
      } MB, ${rss()}`;
    };
    console.log(`before the snapshot: ${await usage()}`);
    await cdp.post("HeapProfiler.enable");
    await cdp.post("HeapProfiler.collectGarbage");
    console.log(`after a full collection: ${await usage()}`);
    await cdp.post("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    cdp.close();
    const text = chunks.join("");
    if (out) await Deno.writeTextFile(out, text);
    return { raw: JSON.parse(text), series: w.series };
  } finally {
    await p.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  if (file) {
    summarize(JSON.parse(await Deno.readTextFile(file)), Number(arg("series", "20000")));
  } else {
    const { raw, series } = await snapshotServer();
    summarize(raw, series);
  }
}
