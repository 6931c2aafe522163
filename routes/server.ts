/**
 * The HTTP component: the front door (core/net) owns the public listener
 * with its timeouts and caps; Perch's Hono app answers on a private Unix
 * socket behind it (in a temporary directory `perch-http-*`; those a killed
 * Perch left behind are removed after start-up). Started last, so every
 * route finds its component running.
 *
 * @module
 */
import type { Hono } from "hono";
import type { Config } from "../core/config/mod.ts";
import { type Basics, type Component, started } from "../core/lifecycle.ts";
import type { Logger } from "../core/logging/mod.ts";
import { FrontDoor, type PublicAddress, relayBody, StreamLimiter } from "../core/net/mod.ts";
import { VERSION } from "../core/version.ts";

const SOCKET_DIR_PREFIX = "perch-http-";
const SOCKET_NAME = "http.sock";

/**
 * Removes the socket directories of Perch processes that are gone (killed
 * before their stop could remove them) from `parent`, keeping `own`: a
 * directory whose socket nobody answers on. Returns how many went.
 */
export async function sweepSocketDirs(parent: string, own: string): Promise<number> {
  let removed = 0;
  for await (const e of Deno.readDir(parent)) {
    const dir = `${parent}/${e.name}`;
    if (!e.isDirectory || !e.name.startsWith(SOCKET_DIR_PREFIX) || dir === own) continue;
    try {
      const conn = await Deno.connect({ transport: "unix", path: `${dir}/${SOCKET_NAME}` });
      conn.close(); // a live Perch
      continue;
    } catch (err) {
      // Refused: nobody listens. Missing: a directory made just before its socket, or emptied.
      if (err instanceof Deno.errors.NotFound) {
        const age = Date.now() - ((await Deno.stat(dir).catch(() => null))?.mtime?.getTime() ?? 0);
        if (age < 60_000) continue;
      } else if (!(err instanceof Deno.errors.ConnectionRefused)) continue;
    }
    if (await Deno.remove(dir, { recursive: true }).then(() => true, () => false)) removed++;
  }
  return removed;
}

/** What the HTTP component offers: where it listens. */
export interface HttpComponent extends Component<Config, Config["server"]> {
  /** The address the listener is bound to (the configured one before start). */
  readonly addr: { hostname: string; port: number };
}

/**
 * HTTP: metrics `perch_http_connections*`; `server.listen` needs a restart,
 * the other `server.*` settings are read per connection or request.
 */
export function httpComponent(
  deps: Pick<Basics, "logger" | "registry"> & {
    /** Builds the app once the components before this one are running. */
    readonly app: () => Hono;
    readonly address: PublicAddress;
    /** TLS options (`auth.tls` at start). */
    readonly tls: () => { cert: string; key: string } | Record<never, never>;
  },
): HttpComponent {
  const log: Logger = deps.logger.child("main");
  let server: Deno.HttpServer<Deno.UnixAddr> | undefined;
  let front: FrontDoor | undefined;
  let socketDir: string | undefined;
  let addr = deps.address.listen;
  let settings: Config["server"] | undefined;
  const dropped = deps.registry.counter({
    name: "perch_http_connections_dropped_total",
    help: "Client connections dropped or refused by the front door, by reason.",
    labelNames: ["reason"],
  });
  deps.registry.collected("gauge", {
    name: "perch_http_connections",
    help: "Open client connections (limit: server.max_connections).",
  }, () => [{ value: front?.connections ?? 0 }]);
  const maxStreams = () => settings?.max_streams ?? 0;
  const streaming = new StreamLimiter(maxStreams, () => front?.upgraded ?? 0);
  // Each response's end is reported to the front door (idle time counts only
  // with nothing in flight); streaming responses are bounded. Body chunks
  // their producer gave up are freed once sent (core/net/body_chunks.ts).
  const handler = (app: Hono) => async (req: Request): Promise<Response> => {
    const conn = req.headers.get("x-perch-conn");
    front?.begin(conn);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      front?.end(conn);
    };
    const stream = streaming.enter(new URL(req.url).pathname);
    if (stream === false) {
      end();
      return Response.json({
        error:
          `too many streaming responses in progress (server.max_streams: ${maxStreams()}); retry later`,
      }, { status: 503, headers: { "retry-after": "1" } });
    }
    const done = () => {
      stream?.();
      end();
    };
    let res: Response;
    try {
      res = await app.fetch(req);
    } catch (e) {
      done();
      throw e;
    }
    if (res.status === 101 || res.body === null) {
      done();
      return res;
    }
    return new Response(relayBody(res.body, done), res);
  };
  return {
    name: "http",
    restartOnly: ["server.listen"],
    section: (c) => ({ ok: true, value: c.server }),
    async start(s) {
      settings = s;
      const serve = handler(deps.app());
      const listen = deps.address.listen;
      socketDir = await Deno.makeTempDir({ prefix: SOCKET_DIR_PREFIX });
      const path = `${socketDir}/${SOCKET_NAME}`;
      await new Promise<void>((resolve, reject) => {
        try {
          server = Deno.serve({ path, onListen: () => resolve() }, serve);
        } catch (e) {
          reject(e);
        }
      });
      const tls = deps.tls();
      front = FrontDoor.open({
        hostname: listen.hostname,
        port: listen.port,
        ...("cert" in tls ? { tls } : {}),
        upstreamPath: path,
        limits: () => ({
          headerTimeoutMs: settings!.header_timeout,
          bodyTimeoutMs: settings!.body_timeout,
          idleTimeoutMs: settings!.idle_timeout,
          maxConnections: settings!.max_connections,
        }),
        onDrop: (reason) => dropped.labels(reason).inc(),
      });
      const a = front.addr;
      addr = { hostname: a.hostname, port: a.port };
      log.info("listening", { addr: `${a.hostname}:${a.port}`, version: VERSION });
      await deps.address.bound(addr);
    },
    apply(s) {
      settings = s;
    },
    async afterReady() {
      const own = started("http", socketDir);
      const removed = await sweepSocketDirs(own.slice(0, own.lastIndexOf("/")), own);
      if (removed > 0) log.info("removed socket directories of stopped processes", { removed });
    },
    async stop() {
      // No new connections; requests in flight finish; then the rest closes.
      front?.stopAccepting();
      await server?.shutdown();
      await front?.close();
      if (socketDir) await Deno.remove(socketDir, { recursive: true }).catch(() => {});
    },
    get addr() {
      return addr;
    },
  };
}
