/**
 * An in-process Perch-like server for browser tests: the real Prometheus API
 * routes, dashboard API, UI pages and `/ws` hub over an in-memory store,
 * plus a sample push endpoint and Alertmanager-shaped alerts and silences.
 *
 * @module
 */
import { Hono } from "hono";
import { resolveConfig } from "../../core/config/mod.ts";
import {
  DashboardStore,
  provisionDashboards,
  type ProvisionSource,
} from "../../core/dashboards/mod.ts";
import { LiveHub } from "../../core/live/mod.ts";
import { fromPairs } from "../../core/model/mod.ts";
import { createEngine } from "../../core/promql/engine.ts";
import { MemStore } from "../../core/tsdb/mem_querier.ts";
import { apiRoutes } from "../../routes/api.ts";
import { dashboardRoutes } from "../../routes/dashboards.ts";
import { uiRoutes } from "../../routes/ui/mod.tsx";
import { engineQueryFn, wsRoutes } from "../../routes/ws.ts";

/** A running test server. */
export interface TestServer {
  readonly url: string;
  readonly store: MemStore;
  readonly dashboards: DashboardStore;
  readonly silences: Record<string, unknown>[];
  /** Adds a sample now (or at `t`). */
  push(labels: Record<string, string>, v: number, t?: number): void;
  close(): Promise<void>;
}

/** Options: extra dashboards to provision (as JSON files would be). */
export async function startTestServer(
  opts: { provision?: Record<string, unknown> } = {},
): Promise<TestServer> {
  const store = new MemStore();
  const engine = createEngine({ querier: store });
  const kv = await Deno.openKv(":memory:");
  const dashboards = new DashboardStore(kv);
  const files = Object.fromEntries(
    Object.entries(opts.provision ?? {}).map(([k, v]) => [k, JSON.stringify(v)]),
  );
  const src: ProvisionSource = {
    list: () => Promise.resolve(Object.keys(files)),
    read: (n) => Promise.resolve(files[n]!),
  };
  const report = await provisionDashboards(dashboards, src);
  if (report.errors.length) {
    throw new Error(`provisioning failed: ${JSON.stringify(report.errors)}`);
  }

  const cfg = resolveConfig({});
  if (!cfg.ok) throw new Error(cfg.errors.join("\n"));
  const hub = new LiveHub({ query: engineQueryFn(() => engine), clock: { now: () => Date.now() } });
  hub.start(500);

  const silences: Record<string, unknown>[] = [];
  const app = new Hono();
  app.route("/", wsRoutes({ hub }));
  app.route(
    "/",
    apiRoutes({
      engine: () => engine,
      querier: store,
      config: () => cfg.config,
      startedAt: new Date(),
      flags: {},
      reloadState: () => ({ ok: true, at: new Date() }),
    }),
  );
  app.route("/", dashboardRoutes({ store: dashboards }));
  app.post("/test/push", async (c) => {
    const b = await c.req.json();
    store.add(fromPairs(Object.entries(b.labels)), b.t ?? Date.now(), b.v);
    return c.json({ ok: true });
  });
  // Alertmanager/Prometheus-shaped alerting APIs (the real ones live elsewhere).
  app.get("/api/v1/alerts", (c) =>
    c.json({
      status: "success",
      data: {
        alerts: [{
          labels: { alertname: "KitchenHot", room: "kitchen", severity: "warning" },
          annotations: { summary: "Kitchen above 28 °C" },
          state: "firing",
          activeAt: new Date(Date.now() - 600_000).toISOString(),
          value: "30",
        }],
      },
    }));
  app.get("/api/v2/silences", (c) => c.json(silences));
  app.post("/api/v2/silences", async (c) => {
    const b = await c.req.json();
    const id = crypto.randomUUID();
    silences.push({ ...b, id, status: { state: "active" }, updatedAt: new Date().toISOString() });
    return c.json({ silenceID: id });
  });
  app.delete("/api/v2/silence/:id", (c) => {
    const s = silences.find((x) => x.id === c.req.param("id"));
    if (!s) return c.json({ error: "not found" }, 404);
    s.status = { state: "expired" };
    return c.json({});
  });
  app.route(
    "/",
    uiRoutes({
      dashboards,
      homeData: () =>
        Promise.resolve({
          health: { status: "healthy", timestamp: new Date().toISOString(), checks: {} },
          startedAt: new Date(),
          dataDir: "(memory)",
          listen: "127.0.0.1:0",
        }),
    }),
  );

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    store,
    dashboards,
    silences,
    push: (labels, v, t) => store.add(fromPairs(Object.entries(labels)), t ?? Date.now(), v),
    async close() {
      hub.closeAll();
      await server.shutdown();
      kv.close();
    },
  };
}
