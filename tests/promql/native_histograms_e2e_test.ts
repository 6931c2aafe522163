/**
 * Native histograms end to end: the data of Prometheus's own
 * `native_histograms.test` (vendored, unmodified) is remote-written into a
 * real Perch process — integer histograms where the counts allow, float
 * histograms otherwise, floats and staleness markers beside them — and every
 * `eval` of the script is asked through the HTTP API (`/api/v1/query`,
 * `/api/v1/query_range`, JSON as clients see it) and compared with the
 * script's expectation: while the data sits in the head, after a flush to
 * blocks and histogram files, and after a restart.
 *
 * Each `clear` section of the script gets its own day in the past (Perch
 * keeps one database), far enough from the others that no query window
 * reaches a neighbour. Histograms are compared in their JSON form (count,
 * sum, populated buckets with bounds), which has no counter reset hint: the
 * hints are covered by the in-process conformance run. Perch serves PromQL
 * without delayed name removal (Prometheus's default), so some annotations
 * do not name the metric where the upstream harness (run with it) expects
 * the name; they are compared without it.
 */
import assert from "node:assert/strict";
import {
  checkHistogram,
  fromPairs,
  type Labels,
  type NativeHistogram,
  newMatcher,
} from "../../core/model/mod.ts";
import { encodeRemoteWriteBody, type WriteSeries } from "../../core/ingest/mod.ts";
import type { MemStore } from "../../core/tsdb/mem_querier.ts";
import { spawnPerch } from "../_perch.ts";
import { postRemoteWrite } from "../_remote_write.ts";
import {
  type CaseResult,
  type EngineUnderTest,
  type JsonHistogram,
  runScript,
  type TestOutcome,
  type TestValue,
} from "./promqltest.ts";

const DAY = 86_400_000;
const SCRIPT = new URL("./testdata/upstream/native_histograms.test", import.meta.url);
/** Where the first section's time 0 lies: far enough back for every section to fit before today. */
const BASE = Math.floor((Date.now() - 70 * DAY) / DAY) * DAY;

/** A stored histogram as a sender would send it: integer counts where they are integers. */
function asSent(h: NativeHistogram): NativeHistogram {
  const integer = { ...h, float: false };
  return checkHistogram(integer) === undefined ? integer : h;
}

/** Histograms sent, by kind. */
interface Sent {
  integer: number;
  float: number;
}

/** Remote-writes everything in `store`, shifted to start at `base`. */
async function push(url: string, store: MemStore, base: number, sent: Sent): Promise<void> {
  const all = await store.select([newMatcher("=~", "__name__", ".*")], {
    minT: -Infinity,
    maxT: Infinity,
  });
  const series: WriteSeries[] = [];
  let last = 0;
  for (const s of all) {
    const hs = s.histograms;
    series.push({
      labels: s.labels,
      t: Array.from(s.t, (t) => t + base),
      v: s.v,
      ...(hs
        ? { histograms: Array.from(hs.t, (t, i) => ({ t: t + base, h: asSent(hs.h[i]!) })) }
        : {}),
    });
    for (const h of hs?.h ?? []) asSent(h).float ? sent.float++ : sent.integer++;
    last = Math.max(last, s.t[s.t.length - 1] ?? 0, hs?.t[hs.t.length - 1] ?? 0);
  }
  if (last >= 20 * 3_600_000) {
    throw new Error(`a section spans ${last} ms, more than its day allows`);
  }
  for (let i = 0; i < series.length; i += 200) {
    await postRemoteWrite(url, encodeRemoteWriteBody({ series: series.slice(i, i + 200) }));
  }
}

/** An API float string as a number. */
function num(s: string): number {
  return s === "+Inf" ? Infinity : s === "-Inf" ? -Infinity : Number(s);
}

function labelsOf(metric: Record<string, string>): Labels {
  return fromPairs(Object.entries(metric));
}

type ApiPoint = [number, string];
type ApiHist = [number, JsonHistogram["json"]];

/** An API answer in the runner's shape, times moved back by `base`. */
function outcome(body: Record<string, unknown>, base: number): TestOutcome {
  const warnings = (body.warnings as string[] | undefined) ?? [];
  const infos = (body.infos as string[] | undefined) ?? [];
  if (body.status !== "success") {
    const msg = String(body.error).replace(/^invalid parameter "query": /, "");
    return { error: new Error(msg), warnings, infos };
  }
  const data = body.data as { resultType: string; result: unknown };
  const ms = (t: number) => Math.round(t * 1000) - base;
  let value: TestValue;
  switch (data.resultType) {
    case "scalar":
      value = { type: "scalar", v: num((data.result as ApiPoint)[1]) };
      break;
    case "string":
      value = { type: "string", v: (data.result as ApiPoint)[1] };
      break;
    case "vector": {
      const r = data.result as {
        metric: Record<string, string>;
        value?: ApiPoint;
        histogram?: ApiHist;
      }[];
      value = {
        type: "vector",
        samples: r.map((s) =>
          s.histogram
            ? { labels: labelsOf(s.metric), v: 0, h: { json: s.histogram[1] } }
            : { labels: labelsOf(s.metric), v: num(s.value![1]) }
        ),
      };
      break;
    }
    default: {
      const r = data.result as {
        metric: Record<string, string>;
        values?: ApiPoint[];
        histograms?: ApiHist[];
      }[];
      value = {
        type: "matrix",
        series: r.map((s) => ({
          labels: labelsOf(s.metric),
          t: (s.values ?? []).map((p) => ms(p[0])),
          v: (s.values ?? []).map((p) => num(p[1])),
          ...(s.histograms
            ? {
              histograms: {
                t: s.histograms.map((p) => ms(p[0])),
                h: s.histograms.map((p) => ({ json: p[1] })),
              },
            }
            : {}),
        })),
      };
    }
  }
  return { value, warnings, infos };
}

/**
 * The runner's engine over a Perch process: each section (store) gets the
 * next day; `write` pushes the section's data when it is loaded.
 */
function perchEngine(url: () => string, write: boolean, sent: Sent) {
  const bases = new Map<MemStore, number>();
  const baseOf = (store: MemStore) => {
    let b = bases.get(store);
    if (b === undefined) bases.set(store, b = BASE + bases.size * DAY);
    return b;
  };
  const ask = async (path: string, base: number) => {
    const r = await fetch(url() + path);
    return outcome(await r.json(), base);
  };
  const engine: EngineUnderTest = {
    // Perch serves PromQL without delayed name removal, as Prometheus does by
    // default; its harness runs with it, where annotations also name the metric.
    annotation: (msg) => msg.replace(/ for metric name "[^"]*"/, ""),
    async loaded(store) {
      const base = baseOf(store);
      if (write) await push(url(), store, base, sent);
    },
    instant(store, expr, t) {
      const base = baseOf(store);
      const q = new URLSearchParams({ query: expr, time: String((base + t) / 1000) });
      return ask(`/api/v1/query?${q}`, base);
    },
    range(store, expr, start, end, step) {
      const base = baseOf(store);
      const q = new URLSearchParams({
        query: expr,
        start: String((base + start) / 1000),
        end: String((base + end) / 1000),
        step: String(step / 1000),
      });
      return ask(`/api/v1/query_range?${q}`, base);
    },
  };
  return engine;
}

function failures(results: CaseResult[]): string[] {
  return results.filter((r) => r.status === "fail").map((r) =>
    `line ${r.line}: ${r.expr}\n    ${r.reason}`
  );
}

Deno.test({
  name: "native histograms remote-written into Perch answer native_histograms.test over HTTP " +
    "from the head, after a flush and after a restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const text = await Deno.readTextFile(SCRIPT);
    // 70-day-old data: retention and the downsampling tiers (which would
    // thin the histograms once maintenance runs mid-pass) are off.
    const dir = await Deno.makeTempDir({ prefix: "perch-nh-e2e-" });
    const config = `${dir}/perch.yml`;
    await Deno.writeTextFile(config, "storage:\n  retention: 0\n  downsampling: []\n");
    const dataDir = `${dir}/data`;
    const args = [`--config=${config}`];
    let perch = await spawnPerch({ dataDir, args });
    const sent: Sent = { integer: 0, float: 0 };
    const pass = async (name: string, write: boolean) => {
      const results = await runScript(
        "native_histograms.test",
        text,
        perchEngine(() => perch.url, write, sent),
      );
      const counted = results.filter((r) => r.status !== "skip").length;
      const failed = failures(results);
      console.log(`${name}: ${counted - failed.length}/${counted} cases pass`);
      assert.ok(counted > 500, `only ${counted} cases ran`);
      assert.equal(failed.length, 0, `${name}:\n${failed.slice(0, 15).join("\n")}`);
    };
    try {
      await pass("head", true);
      console.log(`sent ${sent.integer} integer and ${sent.float} float histograms`);
      assert.ok(sent.integer > 100 && sent.float > 100, JSON.stringify(sent));
      const r = await fetch(`${perch.url}/api/v1/admin/tsdb/flush`, { method: "POST" });
      assert.equal(r.status, 200, await r.text());
      // The histograms now come from histogram files, not the head.
      let files = 0;
      for await (const f of Deno.readDir(`${dataDir}/hist`)) if (f.name.endsWith(".hist")) files++;
      assert.ok(files > 10, `${files} histogram files after the flush`);
      await pass("flushed", false);
      await perch.stop();
      perch = await spawnPerch({ dataDir, args });
      await pass("restarted", false);
    } finally {
      await perch.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
