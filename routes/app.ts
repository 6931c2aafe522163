/**
 * The HTTP application: middleware shared by every route (request metrics and
 * logging, CORS, body limit, error mapping) and the mounted routers.
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { bodyLimit } from "hono/body-limit";
import { routePath } from "hono/route";
import { TrieRouter } from "hono/router/trie-router";
import type { Logger } from "../core/logging/mod.ts";
import type { Registry } from "../core/selfmon/mod.ts";
import type { ScopeOf } from "./scope.ts";

/** What the shell needs; routers are mounted by the caller. */
export interface AppDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  /** Current request body limit in bytes (read per request, so reloads apply). */
  readonly maxBodyBytes: () => number;
  /**
   * Origins allowed to call admin endpoints from a browser besides Perch's
   * own (`server.cors_origins`); read and ingest endpoints allow any origin.
   * @default none
   */
  readonly corsOrigins?: () => readonly string[];
  /** The scope each request needs (routes/scope.ts): admin routes answer CORS only to `corsOrigins`. */
  readonly scopeOf: ScopeOf;
}

/** Builds the application shell; mount routers on it with `RouteScopes.mount` (routes/scope.ts). */
export function createApp(deps: AppDeps): Hono {
  const log = deps.logger.child("http");
  const requests = deps.registry.counter({
    name: "perch_http_requests_total",
    help: "HTTP requests by route, method and status code.",
    labelNames: ["handler", "method", "code"],
  });
  const latency = deps.registry.histogram({
    name: "perch_http_request_duration_seconds",
    help: "HTTP request latency by route.",
    labelNames: ["handler"],
  });

  // A trie is built as routes are added. Hono's default (a RegExpRouter, with
  // the trie as fallback) compiles one expression of every route at the first
  // request instead: ~6 ms of the first request after a restart.
  const app = new Hono({ router: new TrieRouter() });

  app.use("*", async function observe(c, next) {
    const t0 = performance.now();
    await next();
    const seconds = (performance.now() - t0) / 1000;
    let handler = routePath(c);
    if (handler === "*" || handler === "/*" || c.res.status === 404) handler = "other";
    const code = String(c.res.status);
    requests.labels(handler, c.req.method, code).inc();
    latency.labels(handler).observe(seconds);
    const level = c.res.status >= 500 ? "warn" : "debug";
    if (log.enabled(level)) {
      log.log(level, "request", {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        duration_ms: Math.round(seconds * 1e4) / 10,
      });
    }
  });

  // CORS: any origin may read and push; admin endpoints only answer CORS for
  // the listed origins (never `*`), so no other page can read or preflight them.
  const corsOrigins = deps.corsOrigins ?? (() => []);
  app.use(
    "*",
    cors({
      origin: (origin, c) => {
        const method = c.req.method === "OPTIONS"
          ? c.req.header("access-control-request-method") ?? "GET"
          : c.req.method;
        if (deps.scopeOf(method, c.req.path) !== "admin") return "*";
        return corsOrigins().includes(origin) ? origin : null;
      },
      allowMethods: ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
      allowHeaders: ["Content-Type", "Content-Encoding", "Authorization", "X-Requested-With"],
      maxAge: 600,
    }),
  );

  let limiter: ReturnType<typeof bodyLimit> | undefined;
  let limiterSize = -1;
  app.use("*", function limitBody(c, next) {
    const size = deps.maxBodyBytes();
    if (size !== limiterSize) {
      limiterSize = size;
      limiter = bodyLimit({
        maxSize: size,
        onError: (c) =>
          c.json({
            error: `request body is larger than the limit of ${size} bytes (server.max_body_bytes)`,
          }, 413),
      });
    }
    return limiter!(c, next);
  });

  app.onError((err, c) => {
    log.error("unhandled error", { method: c.req.method, path: c.req.path, error: err });
    return c.json({ error: "internal server error" }, 500);
  });

  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));

  return app;
}
