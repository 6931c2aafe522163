/**
 * Routes of a component that finishes loading after start-up (see
 * `Component.afterReady` in core/lifecycle.ts) wait for it: a request that
 * comes first is answered once the component is loaded, never from a
 * half-loaded one.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** A middleware that waits for `loaded` (when given) before the handler runs. */
export function whenLoaded(loaded: (() => Promise<void>) | undefined): MiddlewareHandler {
  return async function waitLoaded(_c, next) {
    await loaded?.();
    await next();
  };
}
