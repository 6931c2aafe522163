/**
 * Remote write for every configured endpoint: one {@linkcode EndpointQueue}
 * per endpoint, one shared append tracker, cursors and late logs in a Deno KV
 * of its own (`<data_dir>/remote.kv`). {@linkcode RemoteWriteManager.apply}
 * starts, restarts (changed fingerprint) and stops endpoints on reload.
 *
 * @module
 */
import { type Appender, METRIC_NAME, newMatcher, type Querier } from "../model/mod.ts";
import type { Logger } from "../logging/mod.ts";
import type { RemoteWriteConfig } from "./config.ts";
import { EndpointQueue, type EndpointStats } from "./endpoint.ts";
import { buildLateEntries, lateEntryBytes, lateRangeEntry, RemoteStore } from "./late_log.ts";
import { type LateHold, type TrackedSample, WriteTracker } from "./write_tracker.ts";
import type { RemoteClient } from "./client.ts";

const SEED_SLICE_MS = 600_000;

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
  /**
   * Start of endpoints that have no cursor, instead of `now - backfill`
   * (after a damaged remote.kv was replaced: re-send rather than skip).
   */
  readonly missingCursorFrom?: () => number;
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
  #seeded = false;
  #closed = false;

  private constructor(o: RemoteWriteOptions, kv: Deno.Kv, own: boolean) {
    this.#o = o;
    this.#kv = kv;
    this.#ownKv = own;
    this.#log = o.logger;
    this.#store = new RemoteStore(kv);
    const store = this.#store;
    // Samples, or their time range when they would take the log over its
    // budget (that range of storage is then sent again: duplicates, no gap).
    const entries = (endpoint: string, samples: readonly TrackedSample[]) => {
      const list = buildLateEntries(samples);
      const budget = this.#queues.get(endpoint)?.config.queue.maxLateBytes ?? 0;
      if (budget <= 0) return { list, range: false };
      let bytes = store.lateBytes(endpoint);
      for (const e of list) bytes += lateEntryBytes(e);
      if (bytes <= budget) return { list, range: false };
      let lo = Infinity, hi = -Infinity;
      for (const s of samples) {
        if (s.t < lo) lo = s.t;
        if (s.t > hi) hi = s.t;
      }
      return { list: [lateRangeEntry(lo, hi)], range: true };
    };
    this.#tracker = new WriteTracker({
      async hold(endpoint: string, samples: TrackedSample[]): Promise<LateHold> {
        const e = entries(endpoint, samples);
        const seqs = await store.appendLate(endpoint, e.list, true);
        return {
          release(kept) {
            if (!kept) return store.release(endpoint, seqs);
            // Storage refused some: keep what it stored (a range stays whole
            // unless nothing was stored).
            if (e.range) return store.release(endpoint, seqs, kept.length > 0 ? undefined : []);
            return store.release(endpoint, seqs, buildLateEntries(kept));
          },
        };
      },
      async add(endpoint: string, samples: TrackedSample[]): Promise<void> {
        await store.appendLate(endpoint, entries(endpoint, samples).list);
      },
    });
    this.#tracker.onLogError = (endpoint, error, n) => {
      this.#queues.get(endpoint)?.countDropped("late_log", n);
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
      // A changed endpoint restarts at once: keep logging its late samples.
      await q.stop(c !== undefined);
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
        missingCursorFrom: this.#o.missingCursorFrom,
        client: this.#o.client?.(c),
      });
      await q.start();
      this.#queues.set(c.name, q);
    }
    if (!this.#seeded && this.#queues.size > 0) {
      this.#seeded = true;
      let min = Infinity;
      for (const q of this.#queues.values()) min = Math.min(min, q.cursor.t);
      this.#seedCounts(min).catch((e) =>
        this.#log.debug("remote write could not count stored samples", {
          error: e instanceof Error ? e.message : String(e),
        })
      );
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
    this.#prune();
    return out;
  }

  /** Forgets stored-sample counts every endpoint has passed. */
  #prune(): void {
    let min = Infinity;
    for (const q of this.#queues.values()) min = Math.min(min, q.cursor.t);
    if (min < Infinity) this.#tracker.stored.prune(min);
  }

  /**
   * Counts what storage already holds after the oldest cursor (data stored
   * before this process started), once, in the background: the pending gauge
   * then covers a backlog left by a restart.
   */
  async #seedCounts(from: number): Promise<void> {
    const to = (this.#o.now ?? Date.now)();
    const all = [newMatcher("=~", METRIC_NAME, ".+")];
    for (let lo = from; lo < to && !this.#closed; lo += SEED_SLICE_MS) {
      const hi = Math.min(to, lo + SEED_SLICE_MS);
      for (const s of await this.#o.querier.select(all, { minT: lo + 1, maxT: hi })) {
        for (const ts of s.histograms ? [s.t, s.histograms.t] : [s.t]) {
          let i = 0;
          while (i < ts.length) {
            const b = Math.floor(ts[i]! / 10_000);
            let j = i + 1;
            while (j < ts.length && Math.floor(ts[j]! / 10_000) === b) j++;
            this.#tracker.stored.add(ts[j - 1]!, j - i);
            i = j;
          }
        }
      }
    }
  }

  /**
   * Moves every running endpoint's cursor back to `t` and restarts it, so
   * storage after `t` is sent again (re-send rather than skip). For a
   * remote.kv that was damaged and rebuilt: `rewind(oldestStoredSample - 1)`.
   * Endpoints already behind `t` are left alone.
   */
  rewind(t: number): Promise<void> {
    const p = this.#lock.then(async () => {
      const configs = [...this.#queues.values()].map((q) => q.config);
      for (const q of this.#queues.values()) {
        await q.stop(true);
        this.#retire(q.stats());
      }
      this.#queues.clear();
      await this.#store.rewind(configs.map((c) => c.name), t);
      await this.#apply(configs);
    });
    this.#lock = p.catch(() => {});
    return p;
  }

  /**
   * Endpoints further behind than their `queue_config.healthy_lag`, for
   * `/health` (degraded while any is).
   */
  health(): { status: "healthy" | "degraded"; message?: string } {
    const behind: string[] = [];
    for (const q of this.#queues.values()) {
      const l = q.lagging();
      if (l) {
        behind.push(
          `${q.config.name} is ${Math.round(l.behindMs / 1000)} s behind ` +
            `(healthy_lag ${Math.round(l.limitMs / 1000)} s; last error: ${
              q.stats().lastError || "none"
            })`,
        );
      }
    }
    return behind.length === 0
      ? { status: "healthy" }
      : { status: "degraded", message: `remote write: ${behind.join("; ")}` };
  }

  /** The queue of an endpoint (tests, status pages). */
  endpoint(name: string): EndpointQueue | undefined {
    return this.#queues.get(name);
  }

  /** Stops every endpoint (cursors persisted) and closes an owned KV. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.apply([]);
    if (this.#ownKv) this.#kv.close();
  }
}
