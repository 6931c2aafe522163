/**
 * Where Perch is reached: the listen address from `server.listen` until the
 * HTTP listener is bound (with port 0 the port is known only then), the
 * self-scrape target's name and the external URL used in links.
 *
 * @module
 */
import { type Config, parseListen } from "../config/mod.ts";

/** Perch's own address, settled once the HTTP listener is bound. */
export class PublicAddress {
  #hostname: string;
  #port: number;
  readonly #tls: boolean;
  readonly #externalUrl: string;
  readonly #onBound: (() => void | Promise<void>)[] = [];

  /** Reads `server.listen`, `server.external_url` and `auth.tls` of the start config. */
  constructor(config: Config) {
    const listen = parseListen(config.server.listen)!;
    this.#hostname = listen.hostname;
    this.#port = listen.port;
    this.#tls = Boolean(config.auth.tls);
    this.#externalUrl = config.server.external_url;
  }

  /** The listen address: as configured until bound, then as bound. */
  get listen(): { hostname: string; port: number } {
    return { hostname: this.#hostname, port: this.#port };
  }

  /** False while the port is 0 (picked when the listener is bound). */
  get portKnown(): boolean {
    return this.#port !== 0;
  }

  /** `host:port` of the self-scrape target, as Prometheus names its own (`localhost:9090`). */
  selfAddress(): string {
    const h = this.#hostname;
    const host = h === "0.0.0.0" || h === "::" ? "localhost" : h;
    return `${host.includes(":") ? `[${host}]` : host}:${this.#port}`;
  }

  /**
   * Links in notifications: `server.external_url`, else Prometheus's default
   * `http://<hostname>:<port>`.
   */
  externalURL(): string {
    return this.#externalUrl ||
      `${this.#tls ? "https" : "http"}://${Deno.hostname()}:${this.#port}`;
  }

  /** Calls `f` once the listener is bound on a port that was not known before. */
  onBound(f: () => void | Promise<void>): void {
    this.#onBound.push(f);
  }

  /**
   * Records the bound address (the HTTP component calls it). A configured
   * port keeps the configured host name (the self target stays
   * `localhost:8080`); a picked one takes the bound address.
   */
  async bound(addr: { hostname: string; port: number }): Promise<void> {
    if (this.portKnown) return;
    this.#hostname = addr.hostname;
    this.#port = addr.port;
    for (const f of this.#onBound) await f();
  }
}
