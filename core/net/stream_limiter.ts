/**
 * Bounds concurrent streaming responses (`/ws`, `/federate`,
 * `/api/v1/export`), which hold a connection and a producer for as long as
 * a client reads: `server.max_streams` together.
 *
 * @module
 */

/** Paths whose responses stream. */
export const STREAM_PATHS: ReadonlySet<string> = new Set(["/ws", "/federate", "/api/v1/export"]);

/** Counts streaming responses in progress; WebSockets are counted by the caller. */
export class StreamLimiter {
  #active = 0;

  /**
   * @param max Most streams at once (read per request).
   * @param sockets WebSocket connections open now (this request's included).
   */
  constructor(readonly max: () => number, readonly sockets: () => number) {}

  /**
   * For a request to `path`: undefined when it does not stream, false when
   * over the limit, else a function to call once its response has ended.
   */
  enter(path: string): (() => void) | false | undefined {
    if (!STREAM_PATHS.has(path)) return undefined;
    if (path === "/ws") return this.#active + this.sockets() > this.max() ? false : () => {};
    if (this.#active + 1 + this.sockets() > this.max()) return false;
    this.#active++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#active--;
    };
  }
}
