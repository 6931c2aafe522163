/**
 * Remote write for every configured endpoint: one {@linkcode EndpointQueue}
 * per endpoint, one shared append tracker, cursors and late logs in a Deno KV
 * of its own (`<data_dir>/remote.kv`). {@linkcode RemoteWriteManager.apply}
 * starts, restarts (changed fingerprint) and stops endpoints on reload.
 *
 * @module
 */
import type { Appender, Querier } from "../model/storage.ts";
import type { Logger } from "../logging/mod.ts";
import type { RemoteWriteConfig } from "./config.ts";
import { EndpointQueue, type EndpointStats } from "./endpoint.ts";
import { buildLateEntries, RemoteStore } from "./late_log.ts";
import { WriteTracker } from "./write_tracker.ts";
import type { RemoteClient } from "./client.ts";

/** The KV file of remote write inside the data dir. */
export const REMOTE_KV_FILE = "remote.kv";

/** Options of {@linkcode RemoteWriteManager.open}. */
export interface RemoteWriteOptions {
  /** Storage, read by every endpoint. */
  readonly querier: Querier;
  /** An open Deno KV or a path (usually `<data_dir>/remote.kv`). */
  readonly kv: Deno.Kv | string;
  readonly logger: Logger;
  /** `global.external_labels`, read when a series is first sent. */
  readonly externalLabels?: () => Readonly<Record<string, string>>;
  /** Storage retention (ms): the lag budget of endpoints without `sample_age_limit`. */
  readonly retentionMs?: number;
  /** Clock in ms. @default Date.now */
  readonly now?: () => number;
  /** Client factory (tests). */
  readonly client?: (c: RemoteWriteConfig) => RemoteClient;
}

/** Manages remote write; see the module doc. */
export class RemoteWriteManager {
  readonly #o: RemoteWriteOptions;
  readonly #kv: Deno.Kv;
  readonly #ownKv: boolean;
  readonly #store: RemoteStore;
  readonly #tracker: WriteTracker;
  readonly #log: Logger;
  readonly #queues = new Map<string, EndpointQueue>();
  /** Stats of stopped endpoints are kept so counters never go down. */
  readonly #retired = new Map<string, EndpointStats>();
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(o: RemoteWriteOptions, kv: Deno.Kv, own: boolean) {
    this.#o = o;
    this.#kv = kv;
    this.#ownKv = own;
    this.#log = o.logger;
    this.#store = new RemoteStore(kv);
    this.#tracker = new WriteTracker(async (endpoint, samples) => {
      await this.#store.appendLate(endpoint, buildLateEntries(samples));
    });
    this.#tracker.onSinkError = (endpoint, error, n) => {
      this.#log.error("remote write could not log late samples; they will not be sent", {
        remote_name: endpoint,
        samples: n,
        error: error instanceof Error ? error.message : String(error),
      });
    };
  }

  /** Opens the KV (when given a path) and returns a manager with no endpoints. */
  static async open(o: RemoteWriteOptions): Promise<RemoteWriteManager> {
    const own = typeof o.kv === "string";
    const kv = typeof o.kv === "string" ? await Deno.openKv(o.kv) : o.kv;
    return new RemoteWriteManager(o, kv, own);
  }

  /**
   * Wraps storage's appender. Every writer into storage (push, scrape, rules)
   * should append through the returned one, or late samples it writes behind
   * an endpoint's cursor are not sent.
   */
  appender(inner: Appender): Appender {
    this.#tracker.setInner(inner);
    return this.#tracker;
  }

  /**
   * Makes the running endpoints match `configs`: new ones start, changed ones
   * restart (keeping their cursor), removed ones stop (their cursor stays in
   * KV, so re-adding resumes). Resolves once late tracking is on for all.
   */
  apply(configs: readonly RemoteWriteConfig[]): Promise<void> {
    const p = this.#lock.then(() => this.#apply(configs));
    this.#lock = p.catch(() => {});
    return p;
  }

  async #apply(configs: readonly RemoteWriteConfig[]): Promise<void> {
    const want = new Map(configs.map((c) => [c.name, c]));
    for (const [name, q] of [...this.#queues]) {
      const c = want.get(name);
      if (c && c.fingerprint === q.config.fingerprint) continue;
      await q.stop();
      this.#retire(q.stats());
      this.#queues.delete(name);
      if (!c) this.#log.info("remote write endpoint stopped", { remote_name: name });
    }
    for (const c of configs) {
      if (this.#queues.has(c.name)) continue;
      const q = new EndpointQueue({
        config: c,
        querier: this.#o.querier,
        store: this.#store,
        tracker: this.#tracker,
        log: this.#log,
        externalLabels: this.#o.externalLabels,
        retentionMs: this.#o.retentionMs,
        now: this.#o.now,
        client: this.#o.client?.(c),
      });
      await q.start();
      this.#queues.set(c.name, q);
    }
  }

  #retire(s: EndpointStats): void {
    const prev = this.#retired.get(s.name);
    if (!prev) {
      this.#retired.set(s.name, {
        ...s,
        samplesDropped: { ...s.samplesDropped },
        lagSeconds: 0,
        queueBytes: 0,
      });
      return;
    }
    prev.samplesSent += s.samplesSent;
    prev.samplesFailed += s.samplesFailed;
    prev.samplesRetried += s.samplesRetried;
    prev.lateSamples += s.lateSamples;
    prev.requests += s.requests;
    prev.metadataSent += s.metadataSent;
    for (const k of Object.keys(s.samplesDropped) as (keyof typeof s.samplesDropped)[]) {
      prev.samplesDropped[k] += s.samplesDropped[k];
    }
  }

  /** Stats per endpoint (running ones, with counters of earlier runs added). */
  stats(): EndpointStats[] {
    const out: EndpointStats[] = [];
    for (const q of this.#queues.values()) {
      const s = { ...q.stats() };
      s.samplesDropped = { ...s.samplesDropped };
      const r = this.#retired.get(s.name);
      if (r) {
        s.samplesSent += r.samplesSent;
        s.samplesFailed += r.samplesFailed;
        s.samplesRetried += r.samplesRetried;
        s.lateSamples += r.lateSamples;
        s.requests += r.requests;
        s.metadataSent += r.metadataSent;
        for (const k of Object.keys(s.samplesDropped) as (keyof typeof s.samplesDropped)[]) {
          s.samplesDropped[k] += r.samplesDropped[k];
        }
      }
      out.push(s);
    }
    return out;
  }

  /** The queue of an endpoint (tests, status pages). */
  endpoint(name: string): EndpointQueue | undefined {
    return this.#queues.get(name);
  }

  /** Stops every endpoint (cursors persisted) and closes an owned KV. */
  async close(): Promise<void> {
    await this.apply([]);
    if (this.#ownKv) this.#kv.close();
  }
}
