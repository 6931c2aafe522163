/**
 * Cross-site request forgery guard for state-changing admin requests (reload,
 * flush, snapshot, rules, alerts, silences, dashboards, scrape targets: the
 * routes that declare the admin scope, which the UI's actions use too).
 *
 * A web page on another origin can make a browser send a "simple" request
 * (a form POST, or `fetch` with `text/plain`) without a CORS preflight, with
 * the browser's cached credentials. So these requests are refused:
 *
 * - an `Origin` that is neither Perch's own (the `Host` it was reached at or
 *   `server.external_url`) nor listed in `server.cors_origins`: 403;
 * - a body whose `Content-Type` is not `application/json`: 415 (a request
 *   without a body and without a content type, such as `curl -X POST
 *   /-/reload`, passes).
 *
 * Ingest (write scope) keeps its protocols' content types; reads change nothing.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { ScopeOf } from "./scope.ts";

/** What the guard reads per request (so config reloads apply). */
export interface CsrfOptions {
  /** The scope each request needs (routes/scope.ts). */
  readonly scopeOf: ScopeOf;
  /** Extra origins allowed to call admin endpoints (`server.cors_origins`). */
  readonly allowedOrigins: () => readonly string[];
  /** `server.external_url`: its origin counts as Perch's own. */
  readonly externalUrl: () => string;
}

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** True when `origin` is the origin a request was addressed to, or an allowed one. */
export function originAllowed(
  origin: string,
  host: string | undefined,
  opts: CsrfOptions,
): boolean {
  if (opts.allowedOrigins().includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:) and garbage.
  }
  if (host !== undefined && url.host === host.toLowerCase()) return true;
  const ext = opts.externalUrl();
  if (ext !== "") {
    try {
      if (new URL(ext).origin === url.origin) return true;
    } catch {
      // Not a URL: no own origin from it.
    }
  }
  return false;
}

/** Builds the middleware; mount it before routes: `app.use("*", csrfGuard(...))`. */
export function csrfGuard(opts: CsrfOptions): MiddlewareHandler {
  return async function csrf(c, next) {
    const method = c.req.method.toUpperCase();
    if (!MUTATING.has(method) || opts.scopeOf(method, c.req.path) !== "admin") return await next();
    const origin = c.req.header("origin");
    if (origin !== undefined && !originAllowed(origin, c.req.header("host"), opts)) {
      return c.json({
        error:
          `cross-origin request refused: Origin ${origin} is not this Perch's own (list it in server.cors_origins to allow it)`,
      }, 403);
    }
    const type = c.req.header("content-type");
    const hasBody = type !== undefined || Number(c.req.header("content-length") ?? 0) > 0 ||
      c.req.header("transfer-encoding") !== undefined;
    if (hasBody && !isJson(type)) {
      return c.json({
        error: `admin endpoints accept only Content-Type: application/json (got ${type ?? "none"})`,
      }, 415);
    }
    return await next();
  };
}

function isJson(type: string | undefined): boolean {
  if (type === undefined) return false;
  return type.split(";")[0]!.trim().toLowerCase() === "application/json";
}
