/**
 * Every route of Perch on one Hono app, in order: the shell (metrics, logs,
 * CORS, body limit), load shedding, CSRF, access control, then the routes of
 * each component; the UI last, loaded on its first request.
 *
 * @module
 */
import { Hono } from "hono";
import type { AuthComponent } from "../core/auth/mod.ts";
import type { DashboardsComponent } from "../core/dashboards/mod.ts";
import type { PipelineComponent, PushComponent } from "../core/ingest/mod.ts";
import { KvInfluxDatabases } from "../core/ingest/mod.ts";
import type { Basics } from "../core/lifecycle.ts";
import type { PerchInfo } from "../core/runtime.ts";
import type { LiveComponent } from "../core/live/mod.ts";
import { formatBytes } from "../core/model/mod.ts";
import { alertmanagerYaml, type NotifyComponent } from "../core/notify/mod.ts";
import type { QueryComponent } from "../core/promql/mod.ts";
import { REMOTE_KV_FILE } from "../core/remote/mod.ts";
import type { RulesComponent } from "../core/rules/mod.ts";
import type { ScrapeComponent } from "../core/scrape/mod.ts";
import type { MemoryGuardComponent } from "../core/selfmon/mod.ts";
import type { StateComponent } from "../core/state_kv.ts";
import type { StorageComponent } from "../core/tsdb/mod.ts";
import { adminRoutes } from "./admin.ts";
import { apiRoutes } from "./api.ts";
import { createApp } from "./app.ts";
import { authMiddleware, principalOf } from "./auth.ts";
import { csrfGuard } from "./csrf.ts";
import { dashboardRoutes } from "./dashboards.ts";
import { ingestRoutes } from "./ingest.ts";
import { notifyRoutes } from "./notify.ts";
import { remoteRoutes } from "./remote.ts";
import { rulesRoutes } from "./rules.ts";
import { scrapeRoutes } from "./scrape.ts";
import { systemRoutes } from "./system.ts";
import { wsRoutes } from "./ws.ts";
import { READ, RouteScopes } from "./scope.ts";
import { uiRoutes } from "./ui/mod.tsx";

/** The started components the routes serve. */
export interface RouteComponents {
  readonly storage: StorageComponent;
  readonly query: QueryComponent;
  readonly pipeline: PipelineComponent;
  readonly push: PushComponent;
  readonly state: StateComponent;
  readonly scrape: ScrapeComponent;
  readonly notify: NotifyComponent;
  readonly rules: RulesComponent;
  readonly dashboards: DashboardsComponent;
  readonly live: LiveComponent;
  readonly memory: MemoryGuardComponent;
  readonly auth: AuthComponent;
}

/** Builds Perch's app from started components. */
export function perchRoutes(b: Basics, info: PerchInfo, parts: RouteComponents): Hono {
  const d = { ...b, ...info, ...parts };
  const config = d.config;
  const storage = d.storage.db;
  const stateKv = d.state.kv;
  const dashboards = d.dashboards.store;
  // Each route declares its access scope where it is registered (routes/scope.ts);
  // the middleware below (CORS, shedding, CSRF, auth) looks requests up here.
  const scopes = new RouteScopes();
  const scopeOf = (method: string, path: string) => scopes.of(method, path);
  const app = createApp({
    logger: d.logger,
    registry: d.registry,
    maxBodyBytes: () => config().server.max_body_bytes,
    corsOrigins: () => config().server.cors_origins,
    scopeOf,
  });
  // The memory ceiling: over limits.memory_limit, shed queries and pushes.
  const guard = d.memory.guard;
  const shed = d.registry.counter({
    name: "perch_http_requests_shed_total",
    help: "Requests refused with 503 because memory was over limits.memory_limit.",
  });
  app.use("*", async function shedUnderPressure(c, next) {
    if (!guard.pressure) return await next();
    const path = c.req.path;
    const scope = scopeOf(c.req.method, path);
    const sheddable = scope === "write" ||
      (scope === "read" && (path.startsWith("/api/") || path === "/federate" || path === "/ws"));
    if (!sheddable) return await next();
    shed.inc();
    c.header("Retry-After", "5");
    return c.json({
      status: "error",
      errorType: "unavailable",
      error: `Perch is over its memory limit (limits.memory_limit: ${
        formatBytes(d.memory.limit)
      }, resident ${formatBytes(guard.rss)}); retry later`,
    }, 503);
  });
  // Cross-origin browser requests and non-JSON bodies never reach admin routes.
  app.use(
    "*",
    csrfGuard({
      scopeOf,
      allowedOrigins: () => config().server.cors_origins,
      externalUrl: () => config().server.external_url,
    }),
  );
  // Access control per scope (write, read, admin).
  app.use("*", authMiddleware(() => d.auth.authenticator, scopeOf));
  // Pushes are charged to their source: the credential, else the client address.
  app.use("*", function ingestSourceOf(c, next) {
    if (scopeOf(c.req.method, c.req.path) !== "write") return next();
    const who = principalOf(c.req.raw);
    const source = who !== undefined ? who : `address:${c.req.header("x-perch-peer") ?? "unknown"}`;
    return d.pipeline.runAs(source, next);
  });
  scopes.mount(
    app,
    systemRoutes({ health: d.health, registry: d.registry, ready: d.ready, reload: d.reload }),
  );
  const pipeline = d.pipeline.handle;
  scopes.mount(
    app,
    ingestRoutes({
      pipeline,
      // After decompression a body may grow; it is bounded at 4x the wire limit.
      maxBodyBytes: () => config().server.max_body_bytes * 4,
      influxDatabases: new KvInfluxDatabases(stateKv),
      otlp: () => {
        const c = config();
        return {
          promoteResourceAttributes: c.otlp.promote_resource_attributes,
          promoteScopeMetadata: c.otlp.promote_scope_metadata,
          addMetricSuffixes: c.otlp.add_metric_suffixes,
          keepIdentifyingResourceAttributes: c.otlp.keep_identifying_resource_attributes,
          delta: c.otlp.delta,
          lookbackMs: c.query.lookback_delta,
        };
      },
      pushRegistry: d.push.registry,
    }),
  );
  scopes.mount(
    app,
    apiRoutes({
      engine: () => d.query.engine,
      rangeCache: d.query.rangeCache,
      querier: storage,
      config,
      startedAt: d.startedAt,
      flags: d.flags,
      reloadState: d.reloadState,
      alertmanagers: () => d.notify.alertmanagerUrls(),
    }),
  );
  scopes.mount(
    app,
    adminRoutes({
      storage,
      querier: storage,
      dataDir: d.storage.dataDir,
      snapshotKvs: () => [
        { file: "index.kv" },
        { file: "state.kv", kv: stateKv },
        { file: REMOTE_KV_FILE },
      ],
    }),
  );
  scopes.mount(app, scrapeRoutes({ manager: d.scrape.manager }));
  scopes.mount(app, rulesRoutes({ rules: d.rules.manager, loaded: () => d.rules.loaded() }));
  scopes.mount(
    app,
    notifyRoutes({
      notifier: d.notify.notifier,
      startedAt: d.startedAt,
      alertmanagerConfig: () => alertmanagerYaml(config()),
      receivers: () => d.notify.receivers(),
    }),
  );
  scopes.mount(app, dashboardRoutes({ store: dashboards, loaded: () => d.dashboards.loaded() }));
  scopes.mount(app, wsRoutes({ hub: d.live.hub }));
  scopes.mount(
    app,
    remoteRoutes({
      querier: storage,
      pipeline,
      externalLabels: () => config().global.external_labels,
      lookbackMs: () => config().query.lookback_delta,
      minTime: () => storage.minTime(),
    }),
  );
  // The UI (server-rendered pages, embedded island bundles) is built on its
  // first request; nothing needs it to be ready. Registered last, so it only
  // sees what no route above took. Its modules are imported statically: a
  // dynamic import made `deno bundle` (esbuild) wrap every module the UI
  // shares with the rest (core/model, promql, hono, zod...) in a lazy
  // initializer, whose body V8 compiled at every start instead of taking it
  // from the code cache.
  const uiDeps = {
    homeData: async () => ({
      health: await d.health.run(),
      startedAt: d.startedAt,
      dataDir: config().storage.data_dir,
      listen: config().server.listen,
    }),
    dashboards,
  };
  let ui: Hono | undefined;
  const uiRouter = new Hono();
  uiRouter.all("*", READ, async (c) => {
    ui ??= uiRoutes(uiDeps);
    await d.dashboards.loaded(); // Pages list and show dashboards.
    const res = await ui.fetch(c.req.raw);
    return res.status === 404 ? c.notFound() : res;
  });
  scopes.mount(app, uiRouter);
  return app;
}
