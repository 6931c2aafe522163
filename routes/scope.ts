/**
 * Access scopes, declared where each route is registered: a route's handlers
 * start with the scope it needs.
 *
 * ```ts
 * app.post("/api/v1/admin/tsdb/flush", ADMIN, async (c) => ...);
 * app.on(["GET", "POST"], "/api/v1/query", READ, query);
 * ```
 *
 * Routers are mounted with {@linkcode RouteScopes.mount}, which refuses (throws)
 * a route whose handlers do not start with a declaration, so a new endpoint
 * cannot fall into a scope by accident. The middleware that runs before
 * routing (access control, the CSRF guard, CORS, memory shedding, the ingest
 * source) asks {@linkcode RouteScopes.of} which scope a request needs.
 *
 * | scope    | who may call                                                        |
 * |----------|---------------------------------------------------------------------|
 * | `public` | anyone: health probes (every `OPTIONS` preflight is public as well)  |
 * | `read`   | read credentials: queries, UI pages, exports, `/metrics`, `/ws`      |
 * | `write`  | write credentials: every push protocol, imports, alerts from outside |
 * | `admin`  | admin credentials: changes to rules, silences, dashboards, targets, storage, reload |
 *
 * Admin credentials pass everywhere (core/auth).
 *
 * @module
 */
import type { Hono, MiddlewareHandler } from "hono";
import type { Scope } from "../core/auth/mod.ts";

const declarations = new WeakMap<MiddlewareHandler, Scope>();

function declare(scope: Scope): MiddlewareHandler {
  const handler: MiddlewareHandler = async function declaredScope(_c, next) {
    await next();
  };
  declarations.set(handler, scope);
  return handler;
}

/** Declares a route open to anyone. */
export const PUBLIC: MiddlewareHandler = declare("public");
/** Declares a route that needs read credentials. */
export const READ: MiddlewareHandler = declare("read");
/** Declares a route that needs write (ingest) credentials. */
export const WRITE: MiddlewareHandler = declare("write");
/** Declares a route that needs admin credentials. */
export const ADMIN: MiddlewareHandler = declare("admin");

/** Which scope a request needs, by method and path. */
export type ScopeOf = (method: string, path: string) => Scope;

/** One declared route: method (`ALL` for any), Hono path pattern, scope. */
export type DeclaredRoute = readonly [method: string, path: string, scope: Scope];

/**
 * The declared scope of every route of `router`, in registration order.
 * Throws when a route's handlers do not start with a declaration, or when a
 * method and path are declared with two different scopes.
 */
export function declaredScopes(router: Hono): DeclaredRoute[] {
  const seen = new Map<string, Scope>();
  const out: DeclaredRoute[] = [];
  for (const r of router.routes) {
    const key = `${r.method} ${r.path}`;
    const scope = declarations.get(r.handler as MiddlewareHandler);
    const before = seen.get(key);
    if (scope === undefined) {
      if (before === undefined) {
        throw new Error(
          `Route ${key} has no declared access scope: start its handlers with PUBLIC, READ, WRITE or ADMIN from routes/scope.ts`,
        );
      }
    } else if (before === undefined) {
      seen.set(key, scope);
      out.push([r.method, r.path, scope]);
    } else if (before !== scope) {
      throw new Error(`Route ${key} is declared both ${before} and ${scope}`);
    }
  }
  return out;
}

/**
 * The declared scopes of every mounted route, looked up by method and path
 * in the app's own router (no second route table).
 */
export class RouteScopes {
  #app: Hono | undefined;
  readonly #declared: DeclaredRoute[] = [];

  /**
   * Mounts `router` on `app` at `/` after checking that every route declares
   * its scope (throws otherwise). Mount every router on the same app, before
   * the first request.
   */
  mount(app: Hono, router: Hono): void {
    if (this.#app !== undefined && this.#app !== app) {
      throw new Error("BUG: RouteScopes mounts routers on one app");
    }
    const routes = declaredScopes(router);
    const before = app.routes.length;
    app.route("/", router);
    // Hono hands a router's handlers over as they are, unless the router has
    // its own onError (then wrapped): the declarations must arrive as such.
    const arrived = app.routes.slice(before).filter((r) => declarations.has(r.handler)).length;
    if (arrived !== router.routes.filter((r) => declarations.has(r.handler)).length) {
      throw new Error("BUG: a mounted router's scope declarations did not reach the app");
    }
    this.#app = app;
    this.#declared.push(...routes);
  }

  /** Every declared route, in mount order. */
  get routes(): readonly DeclaredRoute[] {
    return this.#declared;
  }

  /**
   * The scope a request needs: `public` for any `OPTIONS`, else the scope of
   * the first mounted route that matches (`HEAD` as `GET`, as Hono routes it),
   * else `read` (the request is answered 404).
   */
  of(method: string, path: string): Scope {
    const m = method.toUpperCase();
    if (m === "OPTIONS") return "public";
    const [matches] = this.#app?.router.match(m === "HEAD" ? "GET" : m, path) ?? [[]];
    for (const [[handler]] of matches) {
      const scope = declarations.get(handler);
      if (scope !== undefined) return scope;
    }
    return "read";
  }
}
