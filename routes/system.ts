/**
 * System routes: health, readiness, reload and self-metrics.
 *
 * @module
 */
import { Hono } from "hono";
import type { HealthChecks, Registry } from "../core/selfmon/mod.ts";
import { ADMIN, PUBLIC, READ } from "./scope.ts";

/** What the system routes need. */
export interface SystemDeps {
  readonly health: HealthChecks;
  readonly registry: Registry;
  /** True once every component has started. */
  readonly ready: () => boolean;
  /** Reloads the config; resolves with the problems when the new one is rejected. */
  readonly reload: () => Promise<{ ok: true } | { ok: false; errors: readonly string[] }>;
}

/** `/health`, `/-/healthy`, `/-/ready`, `/-/reload`, `/metrics`. */
export function systemRoutes(deps: SystemDeps): Hono {
  const app = new Hono();

  app.get("/health", PUBLIC, async (c) => {
    const report = await deps.health.run();
    return c.json(report, report.status === "unhealthy" ? 503 : 200);
  });

  app.on(["GET", "HEAD"], "/-/healthy", PUBLIC, (c) => c.text("Perch is Healthy.\n"));
  app.on(
    ["GET", "HEAD"],
    "/-/ready",
    PUBLIC,
    (c) =>
      deps.ready()
        ? c.text("Perch is Ready.\n")
        : c.text("Service Unavailable: Perch is starting.\n", 503),
  );

  app.on(["POST", "PUT"], "/-/reload", ADMIN, async (c) => {
    const result = await deps.reload();
    if (result.ok) return c.json({ status: "success" });
    return c.json({ status: "error", error: "config rejected", errors: result.errors }, 500);
  });

  app.get("/metrics", READ, async (c) => {
    return c.body(await deps.registry.collect(), 200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });

  return app;
}
