/**
 * The optional Graphite plaintext listener: TCP (one connection may stay
 * open and send for hours, as collectd's `write_graphite` does) and UDP
 * (devices that fire and forget) on the same `host:port`. Lines are parsed
 * by {@linkcode parseGraphiteLines} and go through the shared pipeline as
 * protocol `graphite`; bad lines are counted and logged, never answered.
 *
 * @module
 */
import type dgram from "node:dgram";
import type { Logger } from "../logging/mod.ts";
import { parseGraphiteLines } from "./graphite.ts";
import type { ParsedRows } from "./rows.ts";

/** What the listener needs. */
export interface GraphiteListenerOptions {
  readonly hostname: string;
  /** Port for both TCP and UDP; 0 picks a free TCP port and uses it for UDP too. */
  readonly port: number;
  /** Appends parsed rows (protocol `graphite`). */
  readonly append: (rows: ParsedRows) => Promise<unknown>;
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** Longest line kept; a longer one is dropped up to its newline. */
const MAX_LINE = 64 * 1024;

/** A running Graphite listener. */
export class GraphiteListener {
  readonly #opts: GraphiteListenerOptions;
  #tcp: Deno.Listener | undefined;
  #udp: dgram.Socket | undefined;
  readonly #conns = new Set<Deno.Conn>();
  readonly #work = new Set<Promise<void>>();

  constructor(opts: GraphiteListenerOptions) {
    this.#opts = opts;
  }

  /** The bound TCP/UDP port (after {@linkcode start}). */
  get port(): number {
    return (this.#tcp?.addr as Deno.NetAddr | undefined)?.port ?? 0;
  }

  /** Binds TCP and UDP. */
  async start(): Promise<void> {
    const tcp = Deno.listen({ hostname: this.#opts.hostname, port: this.#opts.port });
    this.#tcp = tcp;
    const port = (tcp.addr as Deno.NetAddr).port;
    // Loaded only when the listener is configured (it pulls in Node compatibility code).
    const { createSocket } = await import("node:dgram");
    const udp = createSocket(this.#opts.hostname.includes(":") ? "udp6" : "udp4");
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(port, this.#opts.hostname, () => {
        udp.off("error", reject);
        resolve();
      });
    }).catch((e) => {
      tcp.close();
      throw e;
    });
    udp.on("error", (e) => this.#opts.logger?.warn("graphite UDP error", { error: String(e) }));
    udp.on("message", (msg: Uint8Array) => {
      this.#track(this.#ingest(new TextDecoder().decode(msg)));
    });
    this.#udp = udp;
    this.#track(this.#accept(tcp));
    this.#opts.logger?.info("graphite listening", {
      addr: `${this.#opts.hostname}:${port}`,
      protocols: "tcp,udp",
    });
  }

  /** Closes the sockets and waits for lines in flight. */
  async stop(): Promise<void> {
    try {
      this.#tcp?.close();
    } catch { /* closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await new Promise<void>((resolve) => this.#udp ? this.#udp.close(() => resolve()) : resolve());
    this.#udp = undefined;
    await Promise.allSettled([...this.#work]);
  }

  #track(p: Promise<void>): void {
    this.#work.add(p);
    p.finally(() => this.#work.delete(p));
  }

  async #accept(l: Deno.Listener): Promise<void> {
    try {
      for await (const conn of l) this.#track(this.#serve(conn));
    } catch {
      // Closed by stop().
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    this.#conns.add(conn);
    const dec = new TextDecoder();
    let rest = "";
    let skipping = false;
    try {
      for await (const chunk of conn.readable) {
        const text = rest + dec.decode(chunk, { stream: true });
        const nl = text.lastIndexOf("\n");
        if (nl < 0) {
          rest = text;
        } else {
          const lines = skipping
            ? text.slice(text.indexOf("\n") + 1, nl + 1)
            : text.slice(0, nl + 1);
          skipping = false;
          rest = text.slice(nl + 1);
          // Waiting here is the backpressure: a slow store slows the sender.
          await this.#ingest(lines);
        }
        if (rest.length > MAX_LINE) {
          this.#opts.logger?.warn("graphite line too long, dropped", { bytes: rest.length });
          rest = "";
          skipping = true;
        }
      }
      if (rest.trim() !== "" && !skipping) await this.#ingest(rest);
    } catch {
      // Connection reset or closed by stop().
    } finally {
      this.#conns.delete(conn);
    }
  }

  async #ingest(text: string): Promise<void> {
    const rows = parseGraphiteLines(text, { now: (this.#opts.now ?? Date.now)() });
    if (rows.errors.length > 0) {
      this.#opts.logger?.debug("graphite lines refused", { errors: rows.errors.slice(0, 5) });
    }
    if (rows.sampleCount === 0 && rows.invalidSamples === 0) return;
    try {
      await this.#opts.append(rows);
    } catch (e) {
      this.#opts.logger?.warn("graphite samples not stored", { error: String(e) });
    }
  }
}
