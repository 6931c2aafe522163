/**
 * A real Perch child process for browser tests: a temp config file with a
 * 1 s evaluation and self-scrape interval, a webhook receiver route for
 * notifications, and a provisioned dashboards directory; plus helpers to
 * push samples and query the API.
 *
 * @module
 */
import assert from "node:assert/strict";
import { hookRouteYaml, type PerchProcess, spawnWithConfig } from "../_perch.ts";

/** One webhook notification as Perch posts it. */
export interface Hook {
  readonly status: string;
  readonly alerts: readonly { status: string; labels: Record<string, string> }[];
}

/** A running Perch with its webhook receiver. */
export interface RealPerch {
  readonly url: string;
  readonly process: PerchProcess;
  /** Webhook notifications received so far. */
  readonly hooks: Hook[];
  /** Pushes samples as Prometheus text lines (`name{labels} value [ms]`). */
  importText(lines: readonly string[]): Promise<void>;
  /** The first sample value of an instant query at now. */
  queryValue(q: string): Promise<number>;
  /** GETs an API path and returns its JSON body. */
  getJson<T = unknown>(path: string): Promise<T>;
  close(): Promise<void>;
}

/** Formats one Prometheus text line with escaped label values. */
export function line(
  name: string,
  labels: Record<string, string>,
  v: number,
  t?: number,
): string {
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  const ls = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(",");
  return `${name}${ls ? `{${ls}}` : ""} ${v}${t === undefined ? "" : ` ${t}`}`;
}

/** Starts a webhook receiver and Perch with `dashboards` provisioned as files. */
export async function startRealPerch(
  dashboards: Record<string, unknown>,
  extraConfig = "",
): Promise<RealPerch> {
  const hooks: Hook[] = [];
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      hooks.push(await req.json());
      return new Response("ok");
    },
  );
  const dir = await Deno.makeTempDir({ prefix: "perch-browser-" });
  await Deno.mkdir(`${dir}/dashboards`);
  const files: Record<string, string> = {};
  for (const [name, doc] of Object.entries(dashboards)) {
    files[`dashboards/${name}`] = JSON.stringify(doc);
  }
  let p: PerchProcess;
  try {
    p = await spawnWithConfig(
      `global:
  evaluation_interval: 1s
self_scrape:
  enabled: true
  interval: 1s
storage:
  out_of_order_window: unlimited
${hookRouteYaml(`http://127.0.0.1:${receiver.addr.port}/hook`)}dashboards:
  provision_dir: ${dir}/dashboards
${extraConfig}`,
      { dir, files },
    );
  } catch (e) {
    await receiver.shutdown();
    throw e;
  }
  const getJson = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${p.url}${path}`);
    const text = await r.text();
    assert.ok(r.ok, `${path}: ${r.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    url: p.url,
    process: p,
    hooks,
    async importText(lines) {
      const r = await fetch(`${p.url}/api/v1/import/prometheus`, {
        method: "POST",
        body: lines.join("\n") + "\n",
      });
      assert.ok(r.ok, `import: ${r.status} ${await r.text()}`);
    },
    async queryValue(q) {
      const b = await getJson<{ data: { result: { value: [number, string] }[] } }>(
        `/api/v1/query?query=${encodeURIComponent(q)}`,
      );
      assert.ok(b.data.result[0], `no result for ${q}`);
      return Number(b.data.result[0].value[1]);
    },
    getJson,
    async close() {
      const code = await p.stop();
      await receiver.shutdown();
      if (code === 0) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * A dashboard of 30 line panels (3 per grid row) with 4 targets each, 120
 * queries in all; `expr(k)` is target k's query, multiplied by the panel's
 * number so that every query is distinct.
 */
export function thirtyPanels(
  range: { from: string; refresh: string },
  expr: (k: number) => string,
) {
  return {
    id: "big",
    title: "Thirty panels",
    time: { from: range.from, to: "now" },
    refresh: range.refresh,
    panels: Array.from({ length: 30 }, (_, i) => ({
      id: i + 1,
      type: "line",
      title: `Panel ${i + 1}`,
      gridPos: { x: (i % 3) * 8, y: Math.floor(i / 3) * 6, w: 8, h: 6 },
      targets: [0, 1, 2, 3].map((k) => ({
        expr: `${expr(k)} * ${i + 1}`,
        refId: String.fromCharCode(65 + k),
      })),
    })),
  };
}
