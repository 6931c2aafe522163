/**
 * Access control middleware: asks which scope a request needs (the scope its
 * route declares, routes/scope.ts) and checks its `Authorization` header. 401 with a
 * `WWW-Authenticate` challenge without (valid) credentials, 403 for valid
 * credentials of another scope. Mount it first: `app.use("*", authMiddleware(...))`.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Authenticator } from "../core/auth/mod.ts";
import type { ScopeOf } from "./scope.ts";

/** Who made each authenticated request (`username` or `token:<digest prefix>`). */
const principals = new WeakMap<Request, string>();

/** The principal of a request that passed {@linkcode authMiddleware} with credentials. */
export function principalOf(req: Request): string | undefined {
  return principals.get(req);
}

/** Builds the middleware; `auth` is read per request, so a reload applies at once. */
export function authMiddleware(auth: () => Authenticator, scopeOf: ScopeOf): MiddlewareHandler {
  return async function checkAuth(c, next) {
    const a = auth();
    if (a.open) return await next();
    const scope = scopeOf(c.req.method, c.req.path);
    const r = a.check(scope, c.req.header("authorization"));
    if (r.ok) {
      if (r.principal !== "anonymous") principals.set(c.req.raw, r.principal);
      return await next();
    }
    if (r.status === 401) c.header("WWW-Authenticate", r.challenge);
    return c.json({
      status: "error",
      errorType: r.status === 401 ? "unauthorized" : "forbidden",
      error: r.status === 401
        ? `authentication required for the ${scope} scope`
        : `these credentials do not grant the ${scope} scope`,
    }, r.status);
  };
}
