/**
 * One remote write endpoint over HTTP: builds the request (headers, auth,
 * TLS client), sends a ready body and classifies the answer as Prometheus
 * does: 2xx sent, 4xx except 429 dropped (not retried), 5xx/429/network
 * errors retried with exponential backoff.
 *
 * @module
 */
import { authorizationHeader } from "../model/mod.ts";
import { VERSION } from "../version.ts";
import type { RemoteWriteConfig } from "./config.ts";

/** The outcome of one attempt. */
export type SendOutcome =
  | { readonly kind: "ok"; readonly status: number }
  | { readonly kind: "drop"; readonly status: number; readonly message: string }
  | {
    readonly kind: "retry";
    readonly status: number;
    readonly message: string;
    /** From `Retry-After`, when the server gave one. */
    readonly retryAfterMs?: number;
  };

/** Sends a request; injectable for tests. */
export type Fetch = (req: Request, client: Deno.HttpClient | undefined) => Promise<Response>;

const defaultFetch: Fetch = (req, client) => client ? fetch(req, { client }) : fetch(req);

/** Classifies an HTTP status (and body text) as Prometheus's remote write queue does. */
export function classifyStatus(
  status: number,
  message: string,
  retryOn429: boolean,
  retryAfter?: string | null,
): SendOutcome {
  if (status >= 200 && status < 300) return { kind: "ok", status };
  let retryAfterMs: number | undefined;
  if (retryAfter) {
    const s = Number(retryAfter);
    if (Number.isFinite(s) && s >= 0) retryAfterMs = s * 1000;
    else {
      const at = Date.parse(retryAfter);
      if (!Number.isNaN(at)) retryAfterMs = Math.max(0, at - Date.now());
    }
  }
  if (status >= 500 || (status === 429 && retryOn429)) {
    return retryAfterMs === undefined
      ? { kind: "retry", status, message }
      : { kind: "retry", status, message, retryAfterMs };
  }
  return { kind: "drop", status, message };
}

/** Backoff before attempt `attempt` (0-based retry count): min·2^attempt, capped. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
}

/** A remote write HTTP client for one endpoint. */
export class RemoteClient {
  readonly #config: RemoteWriteConfig;
  readonly #fetch: Fetch;
  #client: Deno.HttpClient | undefined;
  #ready: Promise<void> | undefined;

  constructor(config: RemoteWriteConfig, fetchFn: Fetch = defaultFetch) {
    this.#config = config;
    this.#fetch = fetchFn;
  }

  async #init(): Promise<void> {
    const tls = this.#config.tls;
    if (!tls) return;
    const opts: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {};
    if (tls.caFile) opts.caCerts = [await Deno.readTextFile(tls.caFile)];
    if (tls.certFile && tls.keyFile) {
      opts.cert = await Deno.readTextFile(tls.certFile);
      opts.key = await Deno.readTextFile(tls.keyFile);
    }
    this.#client = Deno.createHttpClient(opts as Deno.CreateHttpClientOptions);
  }

  #authHeader(): Promise<string | undefined> {
    return authorizationHeader(this.#config.auth);
  }

  /** Sends a snappy-compressed WriteRequest once; never throws for HTTP or network errors. */
  async send(body: Uint8Array, signal?: AbortSignal): Promise<SendOutcome> {
    try {
      this.#ready ??= this.#init();
      await this.#ready;
      const headers = new Headers(this.#config.headers);
      headers.set("Content-Encoding", "snappy");
      headers.set("Content-Type", "application/x-protobuf");
      headers.set("User-Agent", `Perch/${VERSION}`);
      headers.set("X-Prometheus-Remote-Write-Version", "0.1.0");
      const auth = await this.#authHeader();
      if (auth) headers.set("Authorization", auth);
      const timeout = AbortSignal.timeout(this.#config.remoteTimeout);
      const req = new Request(this.#config.url, {
        method: "POST",
        headers,
        body: body as BodyInit,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      const res = await this.#fetch(req, this.#client);
      const text = res.ok ? (await res.body?.cancel(), "") : (await res.text()).slice(0, 512);
      return classifyStatus(
        res.status,
        text.trim(),
        this.#config.queue.retryOnHttp429,
        res.headers.get("Retry-After"),
      );
    } catch (e) {
      if (signal?.aborted) throw e;
      return { kind: "retry", status: 0, message: e instanceof Error ? e.message : String(e) };
    }
  }

  /** Releases the TLS client. */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
    this.#ready = undefined;
  }
}
