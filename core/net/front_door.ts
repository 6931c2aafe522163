/**
 * The front door: Perch's public listener. `Deno.serve` has no header, body
 * or idle timeouts and no connection cap, so a client that sends half a
 * request holds a connection forever. The front door accepts TCP (or TLS)
 * connections itself, follows each client's requests with a
 * {@linkcode RequestFramer}, and passes the bytes to Perch's HTTP server on
 * a private Unix socket (and the answers back). It
 *
 * - drops a connection whose request head is not complete `headerTimeoutMs`
 *   after its first byte (or after the connection opened), answering 408;
 * - drops one whose request body makes no progress for `bodyTimeoutMs`;
 * - closes keep-alive connections idle (no request in flight, nothing
 *   received) for `idleTimeoutMs`;
 * - answers 503 to connections beyond `maxConnections`;
 * - adds `x-perch-peer` (the client's address) and `x-perch-conn` (the
 *   connection's id, for {@linkcode FrontDoor.begin}/{@linkcode FrontDoor.end})
 *   to every request, replacing what a client sent under those names.
 *
 * WebSocket connections (after an Upgrade request) are passed through
 * untimed. Timers are lazy: one per connection, re-armed when it fires.
 *
 * @module
 */
import { FrameError, RequestFramer } from "./request_framer.ts";

/** Limits read per connection event, so a config reload applies at once. */
export interface FrontDoorLimits {
  readonly headerTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
}

/** Why the front door dropped or refused a connection (metric label). */
export type DropReason =
  | "header_timeout"
  | "body_timeout"
  | "idle_timeout"
  | "too_many_connections"
  | "bad_request";

/** How to open the front door. */
export interface FrontDoorOptions {
  readonly hostname: string;
  readonly port: number;
  /** Serve TLS with this PEM certificate and key. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** The Unix socket Perch's HTTP server listens on. */
  readonly upstreamPath: string;
  readonly limits: () => FrontDoorLimits;
  /** Called for each dropped or refused connection. */
  readonly onDrop?: (reason: DropReason) => void;
}

interface Conn {
  readonly id: number;
  readonly client: Deno.Conn;
  up?: Deno.Conn;
  readonly framer: RequestFramer;
  /** Requests whose response has not ended. */
  inflight: number;
  /** Request heads seen. */
  requests: number;
  /** When the current head started (or the connection opened). */
  headStart: number;
  /** Last byte received from the client or response end. */
  active: number;
  timer?: ReturnType<typeof setTimeout>;
  timerAt: number;
  closed: boolean;
  /** The server stopped reading (it answered early, e.g. 413): input is read and thrown away. */
  discard?: boolean;
  /** The server's side has ended: the response is sent, the client may still be sending. */
  lingering?: boolean;
}

/**
 * How long a connection lingers after its response when the client may
 * still be sending (e.g. the rest of a body refused with 413). Closing with
 * unread input makes the kernel reset the connection, and the client can
 * lose the response it was sent; so the write side is shut and the input
 * drained until the client closes or this time is up, as web servers do.
 */
const LINGER_MS = 2_000;

const enc = new TextEncoder();

/** Writes all of `b` (a conn's write may be partial). */
async function writeAll(w: Deno.Conn, b: Uint8Array): Promise<void> {
  let o = 0;
  while (o < b.length) o += await w.write(b.subarray(o));
}

function plainResponse(status: string, body: string, extra = ""): Uint8Array {
  return enc.encode(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nConnection: close\r\n${extra}Content-Length: ${
      enc.encode(body).length
    }\r\n\r\n${body}`,
  );
}

/** The public listener in front of Perch's HTTP server; see the module doc. */
export class FrontDoor {
  readonly #listener: Deno.Listener;
  readonly #opts: FrontDoorOptions;
  readonly #conns = new Map<number, Conn>();
  #seq = 0;
  #closing = false;
  #loop: Promise<void>;

  private constructor(listener: Deno.Listener, opts: FrontDoorOptions) {
    this.#listener = listener;
    this.#opts = opts;
    this.#loop = this.#accept();
  }

  /** Opens the listener; throws like `Deno.listen` (address in use, ...). */
  static open(opts: FrontDoorOptions): FrontDoor {
    const listener = opts.tls
      ? Deno.listenTls({
        hostname: opts.hostname,
        port: opts.port,
        cert: opts.tls.cert,
        key: opts.tls.key,
        alpnProtocols: ["http/1.1"],
      })
      : Deno.listen({ hostname: opts.hostname, port: opts.port });
    return new FrontDoor(listener, opts);
  }

  /** The bound address. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Connections passed through as WebSockets (after an Upgrade). */
  get upgraded(): number {
    let n = 0;
    for (const c of this.#conns.values()) if (c.framer.phase === "raw") n++;
    return n;
  }

  /** The HTTP server started answering a request of connection `id` (its `x-perch-conn`). */
  begin(id: string | null): void {
    const c = id === null ? undefined : this.#conns.get(Number(id));
    if (c) c.inflight++;
  }

  /** The response to a request of connection `id` has ended. */
  end(id: string | null): void {
    const c = id === null ? undefined : this.#conns.get(Number(id));
    if (!c) return;
    c.inflight = Math.max(0, c.inflight - 1);
    c.active = Date.now();
    this.#schedule(c);
  }

  /** Stops accepting connections; open ones go on (see {@linkcode close}). */
  stopAccepting(): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    this.stopAccepting();
    for (const c of this.#conns.values()) this.#drop(c);
    await this.#loop;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch (e) {
        if (this.#closing || e instanceof Deno.errors.BadResource) return;
        // A handshake or per-connection error: keep accepting.
        continue;
      }
      this.#serve(client).catch(() => {});
    }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    const limits = this.#opts.limits();
    if (this.#conns.size >= limits.maxConnections) {
      this.#opts.onDrop?.("too_many_connections");
      try {
        await writeAll(
          client,
          plainResponse(
            "503 Service Unavailable",
            `{"error":"too many connections (server.max_connections: ${limits.maxConnections})"}`,
            "Retry-After: 1\r\n",
          ),
        );
      } catch {
        // The client is gone.
      }
      client.close();
      return;
    }
    const id = ++this.#seq;
    const peer = (client.remoteAddr as Deno.NetAddr).hostname ?? "";
    const now = Date.now();
    const c: Conn = {
      id,
      client,
      framer: new RequestFramer({ addHeaders: [`x-perch-peer: ${peer}`, `x-perch-conn: ${id}`] }),
      inflight: 0,
      requests: 0,
      headStart: now,
      active: now,
      timerAt: Infinity,
      closed: false,
    };
    this.#conns.set(id, c);
    this.#schedule(c);
    await this.#fromClient(c);
  }

  /** Client -> server: framed, so the timers know where each request is. */
  async #fromClient(c: Conn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await c.client.read(buf);
      } catch {
        return this.#drop(c);
      }
      if (c.closed) return;
      if (c.discard) {
        if (n === null) return this.#drop(c);
        continue;
      }
      if (n === null) {
        // Half-close: let the server finish what it is answering.
        if (!c.up) return this.#drop(c);
        try {
          await c.up.closeWrite();
        } catch {
          this.#drop(c);
        }
        return;
      }
      const before = c.framer.phase;
      let r;
      try {
        r = c.framer.push(buf.subarray(0, n));
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        this.#opts.onDrop?.("bad_request");
        const status = e.status === 431
          ? "431 Request Header Fields Too Large"
          : e.status === 505
          ? "505 HTTP Version Not Supported"
          : "400 Bad Request";
        if (c.inflight === 0) {
          await writeAll(c.client, plainResponse(status, JSON.stringify({ error: e.message })))
            .catch(() => {});
        }
        return this.#drop(c);
      }
      const now = Date.now();
      c.active = now;
      c.requests += r.heads;
      const phase = c.framer.phase;
      if (phase === "head" && (before !== "head" || r.heads > 0)) c.headStart = now;
      try {
        // The server's side is opened with the first complete request head,
        // so a client that never completes one costs no server connection.
        if (!c.up && r.out.length > 0) {
          c.up = await Deno.connect({ transport: "unix", path: this.#opts.upstreamPath });
          if (c.closed) return c.up.close();
          // The server closing its side (Connection: close, shutdown) ends the connection.
          this.#toClient(c).finally(() => this.#linger(c));
        }
        for (const piece of r.out) await writeAll(c.up!, piece);
      } catch {
        if (!c.up) return this.#drop(c);
        // The server stopped reading but may still be answering: keep its
        // response flowing and throw the rest of the input away.
        c.discard = true;
        continue;
      }
      this.#schedule(c);
    }
  }

  /** Server -> client: passed through as is. */
  async #toClient(c: Conn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await c.up!.read(buf);
        if (n === null) return;
        await writeAll(c.client, buf.subarray(0, n));
      } catch {
        return;
      }
    }
  }

  /** When the connection's current timer is due and why, or undefined for none. */
  #due(c: Conn): { at: number; reason: DropReason } | undefined {
    const l = this.#opts.limits();
    switch (c.framer.phase) {
      case "raw":
        return undefined;
      case "head":
        return { at: c.headStart + l.headerTimeoutMs, reason: "header_timeout" };
      case "body":
        return { at: c.active + l.bodyTimeoutMs, reason: "body_timeout" };
      case "idle":
        if (c.inflight > 0) return undefined;
        // Nothing sent yet on a new connection counts as a slow head.
        if (c.requests === 0) {
          return { at: c.headStart + l.headerTimeoutMs, reason: "header_timeout" };
        }
        return { at: c.active + l.idleTimeoutMs, reason: "idle_timeout" };
    }
  }

  #schedule(c: Conn): void {
    if (c.closed || c.lingering) return;
    const due = this.#due(c);
    if (!due) return;
    // Keep an earlier timer; it re-checks when it fires.
    if (c.timer !== undefined && c.timerAt <= due.at) return;
    clearTimeout(c.timer);
    c.timerAt = due.at;
    c.timer = setTimeout(() => this.#fire(c), Math.max(0, due.at - Date.now()));
  }

  #fire(c: Conn): void {
    c.timer = undefined;
    c.timerAt = Infinity;
    if (c.closed) return;
    const due = this.#due(c);
    if (!due) return;
    if (Date.now() < due.at) return this.#schedule(c);
    this.#opts.onDrop?.(due.reason);
    if (due.reason === "header_timeout" && c.inflight === 0) {
      writeAll(
        c.client,
        plainResponse(
          "408 Request Timeout",
          `{"error":"request head not received within server.header_timeout"}`,
        ),
      ).catch(() => {}).finally(() => this.#drop(c));
      return;
    }
    this.#drop(c);
  }

  /** Ends a connection whose server side is done without losing the response (see LINGER_MS). */
  #linger(c: Conn): void {
    if (c.closed || c.lingering) return;
    c.lingering = c.discard = true;
    clearTimeout(c.timer);
    try {
      c.up?.close();
    } catch {
      // Already closed.
    }
    c.client.closeWrite().catch(() => this.#drop(c));
    c.timer = setTimeout(() => this.#drop(c), LINGER_MS);
  }

  #drop(c: Conn): void {
    if (c.closed) return;
    c.closed = true;
    clearTimeout(c.timer);
    this.#conns.delete(c.id);
    for (const conn of [c.client, c.up]) {
      try {
        conn?.close();
      } catch {
        // Already closed.
      }
    }
  }
}
