/**
 * `GET /ws`: the live dashboard WebSocket (protocol in
 * core/live/PROTOCOL.md), backed by a {@linkcode LiveHub}.
 *
 * @module
 */
import { Hono } from "hono";
import type { LiveHub } from "../core/live/mod.ts";
import { READ } from "./scope.ts";

/** What the WebSocket route needs. */
export interface WsDeps {
  readonly hub: LiveHub;
}

/** Largest client message accepted, in characters (a subscribe is well under 4 KiB). */
const MAX_MESSAGE_CHARS = 64 * 1024;

/** The `/ws` route. */
export function wsRoutes(deps: WsDeps): Hono {
  const app = new Hono();
  app.get("/ws", READ, (c) => {
    if ((c.req.header("upgrade") ?? "").toLowerCase() !== "websocket") {
      return c.json({ error: "expected a WebSocket upgrade" }, 426);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    let conn: ReturnType<LiveHub["connect"]> | undefined;
    socket.onopen = () => {
      conn = deps.hub.connect({
        send: (text) => socket.send(text),
        bufferedAmount: () => socket.bufferedAmount,
        close: (code, reason) => socket.close(code, reason),
      });
    };
    socket.onmessage = (ev) => {
      // Client messages are small JSON commands; anything else closes the socket.
      if (typeof ev.data !== "string" || ev.data.length > MAX_MESSAGE_CHARS) {
        socket.close(1009, "message too big or not text");
        conn?.close();
        return;
      }
      conn?.handle(ev.data);
    };
    socket.onclose = () => conn?.close();
    socket.onerror = () => conn?.close();
    return response;
  });
  return app;
}
