/**
 * Dashboard REST API: `GET/POST /api/dashboards`, `GET/PUT/DELETE
 * /api/dashboards/<id>`, `POST /api/dashboards/validate` and
 * `POST /api/dashboards/import/grafana`.
 *
 * Errors: 400 with `errors: [{field, message}]` for an invalid document,
 * 404 for an unknown id, 409 for an existing id or a stale version.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import {
  DashboardConflictError,
  DashboardNotFoundError,
  type DashboardStore,
  DashboardValidationError,
  type FieldError,
  importGrafana,
  validateDashboard,
} from "../core/dashboards/mod.ts";
import { jsonError } from "./errors.ts";
import { whenLoaded } from "./loaded.ts";
import { ADMIN, READ } from "./scope.ts";

/** What the dashboard routes need. */
export interface DashboardRouteDeps {
  readonly store: DashboardStore;
  /** Resolves once dashboards are provisioned (after start-up); every request waits for it. */
  readonly loaded?: () => Promise<void>;
}

function fields(errors: readonly FieldError[]) {
  return errors.map((e) => ({ field: e.path, message: e.message }));
}

function mapError(c: Context, e: unknown): Response {
  if (e instanceof DashboardValidationError) {
    return jsonError(c, 400, "invalid dashboard", fields(e.errors));
  }
  if (e instanceof DashboardNotFoundError) return jsonError(c, 404, e.message);
  if (e instanceof DashboardConflictError) return jsonError(c, 409, e.message);
  throw e;
}

async function body(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    return Symbol.for("bad-json");
  }
}

/** The dashboard API. */
export function dashboardRoutes(deps: DashboardRouteDeps): Hono {
  const app = new Hono();
  const loaded = whenLoaded(deps.loaded);
  const { store } = deps;

  app.get("/api/dashboards", READ, loaded, async (c) => c.json({ dashboards: await store.list() }));

  app.post("/api/dashboards", ADMIN, loaded, async (c) => {
    const doc = await body(c);
    if (typeof doc === "symbol") return jsonError(c, 400, "body must be JSON");
    try {
      return c.json(await store.create(doc), 201);
    } catch (e) {
      return mapError(c, e);
    }
  });

  app.post("/api/dashboards/validate", READ, loaded, async (c) => {
    const doc = await body(c);
    if (typeof doc === "symbol") return jsonError(c, 400, "body must be JSON");
    const r = validateDashboard(doc);
    return c.json(r.ok ? { ok: true, errors: [] } : { ok: false, errors: fields(r.errors) });
  });

  app.post("/api/dashboards/import/grafana", ADMIN, loaded, async (c) => {
    const doc = await body(c);
    if (typeof doc === "symbol") return jsonError(c, 400, "body must be JSON");
    const r = importGrafana(doc, c.req.query("id") || undefined);
    if (!r.ok) {
      return c.json({
        error: "cannot import",
        errors: fields(r.errors),
        unsupported: r.unsupported,
      }, 400);
    }
    if (c.req.query("save") === "false") {
      return c.json({ dashboard: r.dashboard, unsupported: r.unsupported, saved: false });
    }
    try {
      const saved = c.req.query("overwrite") === "true"
        ? await store.put(r.dashboard.id, r.dashboard)
        : await store.create(r.dashboard);
      return c.json({ dashboard: saved, unsupported: r.unsupported, saved: true }, 201);
    } catch (e) {
      return mapError(c, e);
    }
  });

  app.get("/api/dashboards/:id", READ, loaded, async (c) => {
    try {
      return c.json(await store.get(c.req.param("id")));
    } catch (e) {
      return mapError(c, e);
    }
  });

  app.put("/api/dashboards/:id", ADMIN, loaded, async (c) => {
    const doc = await body(c);
    if (typeof doc === "symbol") return jsonError(c, 400, "body must be JSON");
    try {
      return c.json(await store.put(c.req.param("id"), doc));
    } catch (e) {
      return mapError(c, e);
    }
  });

  app.delete("/api/dashboards/:id", ADMIN, loaded, async (c) => {
    try {
      await store.delete(c.req.param("id"));
      return c.body(null, 204);
    } catch (e) {
      return mapError(c, e);
    }
  });

  return app;
}
