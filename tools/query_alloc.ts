/**
 * Bytes an uncached range query allocates in a Perch server, by allocation
 * site (issue 19: RSS right after a query round). Perch is started as
 * tools/footprint_bench.ts starts it (its V8 flags, plus `--inspect`), fed
 * the `edge` or `wide` workload by remote write and flushed; then each of
 * the four queries of tools/_queries.ts runs once to warm up and `--runs`
 * times uncached (each run shifted 1 ms, so it misses the range cache),
 * the body read whole, while the server is watched through its inspector:
 *
 * - V8's sampling heap profiler (collected objects included) gives the
 *   bytes of the JS heap allocated per query, by function;
 * - typed arrays and ArrayBuffers created by `new` or `slice` (their
 *   memory lies outside the JS heap, which the profiler does not see) are
 *   counted by wrapping the global constructors and the slice methods, by
 *   the caller's source line.
 *
 * Starting the sampler deoptimizes code (`--trace-deopt`: "dependent
 * property cell changed"), so the first runs after it box numbers that
 * optimized code keeps unboxed: per-step sites (engine loops) read high.
 * With `--gc` the profiler and wrappers stay off and the server runs with
 * `--trace-gc-nvp` instead: per query, the bytes its uncached runs
 * allocated in the JS heap as the collections report them (a count the
 * profiler does not bias), the bytes promoted to
 * the old generation (what lingers until a full collection) and the full
 * collections; the server's RSS after each query's runs; after the round,
 * its heap and external memory before and after a full collection.
 *
 * `--promoted` samples only objects that outlived the young generation.
 *
 *   deno run -A tools/query_alloc.ts [--workloads=edge,wide] [--runs=5] [--top=15] [--gc] [--promoted]
 *     [--base=DIR (Perch from another checkout)]
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

const runs = Number(arg("runs", "5"));
const top = Number(arg("top", "15"));
const workloads = arg("workloads", "edge,wide").split(",");
const gcMode = Deno.args.includes("--gc");
/** Profile only objects that outlived young-generation collections (promoted). */
const promotedOnly = Deno.args.includes("--promoted");
/** Profile Perch from this checkout (its main.ts) instead: before/after. */
const base = arg("base", "");

interface AllocNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocNode[];
}

/**
 * Wraps the global ArrayBuffer and typed-array constructors so each `new`
 * that allocates adds its bytes to `globalThis.__allocs` under the caller's
 * source line.
 */
const HOOK = `(() => {
  if (globalThis.__allocs) return;
  const counts = new Map();
  globalThis.__allocs = counts;
  const site = () => {
    const lines = new Error().stack.split("\\n").slice(1);
    const l = lines.find((x) => !x.includes("ext:") && !x.includes("<anonymous>")) ?? "?";
    return l.trim().replace(/^at /, "").replace(/file:\\/\\/\\S*\\/(core|routes|main)/, "$1");
  };
  const add = (bytes) => {
    const k = site();
    counts.set(k, (counts.get(k) ?? 0) + bytes);
  };
  for (const name of ["ArrayBuffer", "Uint8Array", "Int8Array", "Uint16Array", "Int16Array",
    "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"]) {
    const C = globalThis[name];
    const per = C.BYTES_PER_ELEMENT ?? 1;
    globalThis[name] = new Proxy(C, {
      construct(target, args, newTarget) {
        const a = args[0];
        if (typeof a === "number") add(name === "ArrayBuffer" ? a : a * per);
        else if (a && typeof a === "object" && !(a instanceof ArrayBuffer) &&
          !(typeof SharedArrayBuffer !== "undefined" && a instanceof SharedArrayBuffer)) {
          add((a.length ?? 0) * per);
        }
        return Reflect.construct(target, args, newTarget === globalThis[name] ? target : newTarget);
      },
    });
  }
  const TA = Object.getPrototypeOf(Uint8Array.prototype);
  for (const [proto, key] of [[TA, "slice"], [ArrayBuffer.prototype, "slice"]]) {
    const f = proto[key];
    proto[key] = function (...a) {
      const r = f.apply(this, a);
      add(r.byteLength);
      return r;
    };
  }
})()`;

/**
 * What the server's memory holds right after the round, and after a full
 * collection (V8's heap and external memory, the process's RSS): the part
 * a collection gives back is garbage the round left.
 */
async function afterRound(port: number, pid: number): Promise<void> {
  const cdp = await connectInspector(port);
  const mem = async (): Promise<string> => {
    const r = await cdp.post("Runtime.evaluate", {
      expression: "JSON.stringify(Deno.memoryUsage())",
      returnByValue: true,
    }) as { result: { value: string } };
    const m = JSON.parse(r.result.value) as Record<string, number>;
    const mib = (x: number) => (x / 2 ** 20).toFixed(1);
    return `RSS ${procMem(pid).VmRSS!.toFixed(0)} MiB, heap used ${mib(m.heapUsed!)} of ${
      mib(m.heapTotal!)
    }, external ${mib(m.external!)}`;
  };
  console.log(`  after the round: ${await mem()}`);
  await cdp.post("Runtime.evaluate", { expression: "gc()" });
  console.log(`  after a full GC: ${await mem()}`);
  cdp.close();
}

async function profileWorkload(name: string): Promise<void> {
  const wide = name === "wide";
  const w = edgeBodies(wide ? 1000 : 100, wide ? 1 : 6);
  const port = 9300 + Math.floor(Math.random() * 500);
  const root = await Deno.makeTempDir({ prefix: "perch-qalloc-" });
  /** The server's GC trace records (`--gc`). */
  const gcs: {
    gc: string;
    promoted: number;
    start_object_size: number;
    end_object_size: number;
  }[] = [];
  const p = await spawnBenchPerch(root, {
    env: { PERCH_STORAGE__RETENTION: "0" },
    runArgs: gcMode
      ? [`--v8-flags=${PERCH_V8_FLAGS},--trace-gc-nvp`, `--inspect=127.0.0.1:${port}`]
      : [`--v8-flags=${PERCH_V8_FLAGS}`, `--inspect=127.0.0.1:${port}`],
    keepLogs: 100,
    ...(base ? { script: `${base}/main.ts`, cwd: base } : {}),
    onLog: (line) => {
      const i = line.indexOf("GC: {");
      if (i >= 0) gcs.push(JSON.parse(line.slice(i + 4)));
    },
  });
  try {
    await pushConcurrently(p.url, w.bodies);
    const f = await fetch(`${p.url}/api/v1/admin/tsdb/flush`, { method: "POST" });
    await f.body?.cancel();
    console.log(`\n${name}: ${w.series} series, ${w.samples} samples; ${runs} uncached runs`);
    console.log(`  RSS before the queries: ${procMem(p.process.pid).VmRSS!.toFixed(0)} MiB`);
    const cdp = gcMode ? undefined : await connectInspector(port);
    await cdp?.post("Runtime.evaluate", { expression: HOOK });
    await cdp?.post("HeapProfiler.enable");
    for (const [label, q, range, step] of QUERIES) {
      const once = async (shift: number) => {
        const u = queryRangeUrl(p.url, q, range, step, w.end, shift);
        const r = await fetch(u);
        const text = await r.text();
        if (r.status !== 200) throw new Error(`${q}: ${r.status} ${text.slice(0, 200)}`);
        return text.length;
      };
      const bodyChars = await once(1000);
      if (!cdp) {
        const g0 = gcs.length;
        for (let i = 0; i < runs; i++) await once(i + 1);
        const mine = gcs.slice(g0);
        const kinds = new Map<string, number>();
        for (const g of mine) kinds.set(g.gc, (kinds.get(g.gc) ?? 0) + 1);
        const promoted = mine.reduce((a, g) => a + (g.promoted ?? 0), 0);
        // Objects allocated between two collections: the heap's size at the
        // start of one minus its size at the end of the one before.
        let allocated = 0;
        for (let i = Math.max(g0, 1); i < gcs.length; i++) {
          allocated += gcs[i]!.start_object_size - gcs[i - 1]!.end_object_size;
        }
        console.log(
          `${label}: allocated ${(allocated / runs / 2 ** 20).toFixed(1)} MiB, promoted ${
            (promoted / runs / 1024).toFixed(0)
          } KiB per query; GCs ${JSON.stringify(Object.fromEntries(kinds))}; RSS after ${
            procMem(p.process.pid).VmRSS!.toFixed(0)
          } MiB`,
        );
        continue;
      }
      await cdp.post("Runtime.evaluate", { expression: "globalThis.__allocs.clear()" });
      await cdp.post("HeapProfiler.startSampling", {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: !promotedOnly,
      });
      for (let i = 0; i < runs; i++) await once(i + 1);
      const { profile } = await cdp.post("HeapProfiler.stopSampling") as {
        profile: { head: AllocNode };
      };
      const ext = await cdp.post("Runtime.evaluate", {
        expression: "JSON.stringify([...globalThis.__allocs])",
        returnByValue: true,
      }) as { result: { value: string } };
      const heap = new Map<string, number>();
      const walk = (n: AllocNode) => {
        const c = n.callFrame;
        const k = `${c.functionName || "(anonymous)"} ${
          c.url.replace(/.*\/(core|routes)\//, "$1/")
        }:${c.lineNumber + 1}`;
        heap.set(k, (heap.get(k) ?? 0) + n.selfSize);
        n.children.forEach(walk);
      };
      walk(profile.head);
      const buffers = new Map(JSON.parse(ext.result.value) as [string, number][]);
      const report = (title: string, m: Map<string, number>) => {
        const total = [...m.values()].reduce((a, b) => a + b, 0);
        console.log(`  ${title}: ${(total / runs / 2 ** 20).toFixed(2)} MiB per query`);
        for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
          console.log(`    ${(v / runs / 1024).toFixed(0).padStart(7)} KiB  ${k}`);
        }
      };
      console.log(`${label} (body ${(bodyChars / 1024).toFixed(0)} KiB)`);
      report("JS heap (sampled)", heap);
      report("typed arrays / ArrayBuffers by new or slice", buffers);
    }
    if (gcMode) await afterRound(port, p.process.pid);
    cdp?.close();
  } finally {
    await p.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

for (const name of workloads) await profileWorkload(name);
