/**
 * The queue of one remote write endpoint: reads Perch's own storage in time
 * slices after a cursor persisted in Deno KV, relabels, shards and sends, and
 * advances the cursor only once every shard of a slice was answered. Late
 * samples come from the tracker (uncertain ones with the slice, the rest
 * through the durable late log). See README.md for the whole design.
 *
 * @module
 */
import {
  histogramsEqual,
  type Labels,
  labelsKey,
  METRIC_NAME,
  type NativeHistogram,
  newMatcher,
  type Querier,
  type SeriesData,
} from "../model/mod.ts";
import type { Logger } from "../logging/mod.ts";
import { encodeRemoteWriteBody, type WriteSeries } from "../ingest/mod.ts";
import { relabel } from "../scrape/mod.ts";
import { backoffDelay, RemoteClient, type SendOutcome } from "./client.ts";
import type { RemoteWriteConfig } from "./config.ts";
import { type Cursor, type LateEntry, lateRangeEntry, type RemoteStore } from "./late_log.ts";
import type { TrackedSample, WriteTracker } from "./write_tracker.ts";

/** Why samples were dropped without being sent. */
export type DropReason = "relabel" | "lag_budget" | "late_log";

/** Counters and gauges of one endpoint. */
export interface EndpointStats {
  readonly name: string;
  readonly url: string;
  samplesSent: number;
  /** Samples in batches the endpoint refused with a 4xx (not retried). */
  samplesFailed: number;
  /** Samples in attempts that are retried. */
  samplesRetried: number;
  readonly samplesDropped: Record<DropReason, number>;
  /** Samples that arrived behind the cursor and went through the late log. */
  lateSamples: number;
  requests: number;
  metadataSent: number;
  /** Persisted cursor time (ms); everything up to here was handled. */
  cursor: number;
  lagSeconds: number;
  /** Samples stored that this endpoint has not had acknowledged yet (estimate, >= the truth). */
  pendingSamples: number;
  queueBytes: number;
  lastError: string;
}

/** What an endpoint queue needs. */
export interface EndpointDeps {
  readonly config: RemoteWriteConfig;
  readonly querier: Querier;
  readonly store: RemoteStore;
  readonly tracker: WriteTracker;
  readonly log: Logger;
  /** Labels added to every sent series that lacks them (global.external_labels). */
  readonly externalLabels?: () => Readonly<Record<string, string>>;
  /** Lag budget when the endpoint sets no `sample_age_limit` (storage retention); 0 = none. */
  readonly retentionMs?: number;
  readonly now?: () => number;
  /**
   * Where an endpoint without a cursor starts (samples at or after this
   * time are sent) instead of `now - backfill`:
   * set after a damaged remote.kv was replaced, so cursors are rebuilt
   * conservatively (data is re-sent rather than skipped).
   */
  readonly missingCursorFrom?: () => number;
  readonly client?: RemoteClient;
}

const ALL = [newMatcher("=~", METRIC_NAME, ".+")];
const MIN_WIDTH = 1000, MAX_WIDTH = 3_600_000;
const RELABEL_CACHE_MAX = 100_000;
const CURSOR_PERSIST_IDLE_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const REPLAY_SLICE_MS = 600_000;

class Aborted extends Error {}

/** The queue of one endpoint; see the module doc. */
export class EndpointQueue {
  readonly config: RemoteWriteConfig;
  readonly #d: EndpointDeps;
  readonly #now: () => number;
  readonly #client: RemoteClient;
  readonly #abort = new AbortController();
  readonly #stats: EndpointStats;
  readonly #relabelCache = new Map<string, Labels | null>();
  #cursor: Cursor = { t: 0, lateSeq: 0 };
  #persisted: Cursor = { t: 0, lateSeq: 0 };
  #persistedAt = 0;
  #width = 30_000;
  #loop: Promise<void> | undefined;
  #inFlightBytes = 0;
  #nextSendAt = 0;
  #nextMetaAt = 0;
  #wake: (() => void) | undefined;
  #stopping = false;

  constructor(deps: EndpointDeps) {
    this.#d = deps;
    this.config = deps.config;
    this.#now = deps.now ?? Date.now;
    this.#client = deps.client ?? new RemoteClient(deps.config);
    this.#stats = {
      name: deps.config.name,
      url: deps.config.url,
      samplesSent: 0,
      samplesFailed: 0,
      samplesRetried: 0,
      samplesDropped: { relabel: 0, lag_budget: 0, late_log: 0 },
      lateSamples: 0,
      requests: 0,
      metadataSent: 0,
      cursor: 0,
      lagSeconds: 0,
      pendingSamples: 0,
      queueBytes: 0,
      lastError: "",
    };
  }

  /** Counters and gauges (live object; read, do not keep). */
  stats(): EndpointStats {
    const s = this.#stats;
    s.cursor = this.#cursor.t;
    s.lagSeconds = Math.max(0, (this.#now() - this.#cursor.t) / 1000);
    s.queueBytes = this.#d.store.lateBytes(this.config.name) + this.#inFlightBytes;
    s.pendingSamples = this.#d.tracker.stored.after(this.#cursor.t) +
      this.#d.store.lateSamples(this.config.name);
    return s;
  }

  /** Counts samples that were stored but cannot be sent to this endpoint. */
  countDropped(reason: DropReason, n: number): void {
    this.#stats.samplesDropped[reason] += n;
  }

  /** Whether the endpoint is further behind than `queue_config.healthy_lag` (0: never). */
  lagging(): { behindMs: number; limitMs: number } | undefined {
    const limit = this.config.queue.healthyLag;
    const behind = this.#liveHorizon() - this.#cursor.t;
    return limit > 0 && behind > limit ? { behindMs: behind, limitMs: limit } : undefined;
  }

  /** The in-memory cursor (for tests). */
  get cursor(): Cursor {
    return this.#cursor;
  }

  /**
   * Loads (or creates) the cursor and starts tracking late samples. Resolves
   * once tracking is on, so appends after this are never missed; the send
   * loop then runs until {@linkcode stop}.
   */
  async start(): Promise<void> {
    const name = this.config.name;
    await this.#d.store.load(name);
    let c = await this.#d.store.cursor(name);
    if (!c) {
      const from = this.#d.missingCursorFrom?.();
      // The cursor is the last time handled: start just before `from`.
      c = { t: from !== undefined ? from - 1 : this.#now() - this.config.backfill, lateSeq: 0 };
      await this.#d.store.setCursor(name, c);
      this.#d.log.info("remote write endpoint starts", { remote_name: name, from: c.t });
    }
    this.#cursor = this.#persisted = c;
    this.#persistedAt = this.#now();
    this.#d.tracker.track(name, c.t);
    this.#loop = this.#run();
  }

  /**
   * Stops sending (an unfinished slice is re-read on the next start) and
   * persists the cursor. With `keepTracking`, late samples keep going to the
   * late log (the endpoint restarts with a new config at once).
   */
  async stop(keepTracking = false): Promise<void> {
    // Let a slice that is being answered finish (a restart then re-sends
    // nothing); cut it off after a grace period or at the first retry.
    this.#stopping = true;
    this.#wake?.();
    const grace = setTimeout(() => this.#abort.abort(), STOP_GRACE_MS);
    await this.#loop;
    clearTimeout(grace);
    if (!keepTracking) this.#d.tracker.untrack(this.config.name);
    await this.#persist(true).catch(() => {});
    this.#client.close();
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        const more = await this.#step();
        if (!more) await this.#sleep(this.#idleDelay());
      } catch (e) {
        if (e instanceof Aborted || this.#stopping) return;
        this.#stats.lastError = e instanceof Error ? e.message : String(e);
        this.#d.log.error("remote write step failed; retrying", {
          remote_name: this.config.name,
          error: this.#stats.lastError,
        });
        await this.#sleep(this.config.queue.maxBackoff).catch(() => {});
      }
    }
  }

  #liveHorizon(): number {
    return this.#now() - this.config.queue.settleDelay;
  }

  #idleDelay(): number {
    const gap = this.#liveHorizon() - this.#cursor.t;
    return Math.max(20, this.config.queue.batchSendDeadline - Math.max(0, gap));
  }

  /** One slice; true when more data is ready at once. */
  async #step(): Promise<boolean> {
    await this.#maybeSendMetadata();
    await this.#applyLagBudget();
    const lo = this.#cursor.t;
    const live = this.#liveHorizon();
    if (live - lo < this.config.queue.batchSendDeadline && live - lo < this.#width) {
      await this.#drainLate();
      await this.#persist(false);
      return false;
    }
    const hi = Math.min(live, lo + this.#width);
    const window = this.#d.tracker.openWindow(this.config.name, lo, hi);
    let data: SeriesData[];
    let uncertain: TrackedSample[];
    try {
      data = await this.#d.querier.select(ALL, { minT: lo, maxT: hi });
    } finally {
      uncertain = await window.close();
    }
    const series = sliceSeries(data, lo, hi, uncertain);
    let n = 0;
    for (const s of series) n += sampleCount(s);
    const catchingUp = hi < live;
    await this.#deliver(series, catchingUp);
    this.#cursor = { t: hi, lateSeq: this.#cursor.lateSeq };
    await this.#persist(n > 0);
    const target = this.config.queue.maxSamplesPerSend * this.config.queue.maxShards * 4;
    if (n > 2 * target) this.#width = Math.max(MIN_WIDTH, Math.floor(this.#width / 2));
    else if (n < target / 2 && hi - lo >= this.#width) {
      this.#width = Math.min(MAX_WIDTH, this.#width * 2);
    }
    await this.#drainLate();
    return catchingUp;
  }

  async #persist(force: boolean): Promise<void> {
    const c = this.#cursor;
    if (c.t === this.#persisted.t && c.lateSeq === this.#persisted.lateSeq) return;
    if (!force && this.#now() - this.#persistedAt < CURSOR_PERSIST_IDLE_MS) return;
    await this.#d.store.setCursor(this.config.name, c);
    this.#persisted = c;
    this.#persistedAt = this.#now();
  }

  /** Skips unsent data older than the lag budget, counting what is skipped. */
  async #applyLagBudget(): Promise<void> {
    const limit = this.config.queue.sampleAgeLimit || (this.#d.retentionMs ?? 0);
    if (limit <= 0) return;
    const floor = this.#now() - limit;
    const from = this.#cursor.t;
    if (from >= floor) return;
    let skipped = 0;
    // Count in bounded slices so a long skip never loads everything at once.
    for (let lo = from; lo < floor; lo += MAX_WIDTH) {
      const hi = Math.min(floor, lo + MAX_WIDTH);
      const data = await this.#d.querier.select(ALL, { minT: lo, maxT: hi });
      for (const s of sliceSeries(data, lo, hi, [])) skipped += sampleCount(s);
      this.#check();
    }
    this.#stats.samplesDropped.lag_budget += skipped;
    this.#cursor = { t: floor, lateSeq: this.#cursor.lateSeq };
    this.#d.tracker.track(
      this.config.name,
      Math.max(floor, this.#d.tracker.horizon(this.config.name) ?? floor),
    );
    await this.#persist(true);
    this.#d.log.warn("remote write fell behind its lag budget; oldest unsent data skipped", {
      remote_name: this.config.name,
      from: new Date(from).toISOString(),
      to: new Date(floor).toISOString(),
      samples: skipped,
    });
  }

  /** Sends late-log entries behind the cursor, oldest first. */
  async #drainLate(): Promise<void> {
    const name = this.config.name;
    const store = this.#d.store;
    while (!this.#stopping) {
      let items = await store.readLate(name, this.#cursor.lateSeq, 64);
      if (items.length === 0) return;
      if (items[0]!.entry.range) {
        await this.#replay(items[0]!.seq, items[0]!.entry);
        continue;
      }
      const k = items.findIndex((it) => it.entry.range !== undefined);
      if (k > 0) items = items.slice(0, k);
      const samples: TrackedSample[] = [];
      for (const it of items) collectEntry(it.entry, this.#cursor.t, samples);
      const series = groupSamples(samples);
      this.#stats.lateSamples += samples.length;
      await this.#deliver(series, false);
      this.#cursor = { t: this.#cursor.t, lateSeq: items[items.length - 1]!.seq };
      await this.#persist(true);
      await store.deleteLate(name, items);
    }
  }

  /**
   * Sends storage in a range entry's [lo, hi] again (up to the cursor; later
   * data is read anyway), slice by slice, persisting the progress.
   */
  async #replay(seq: number, entry: LateEntry): Promise<void> {
    const name = this.config.name;
    const r = entry.range!;
    const end = Math.min(r.hi, this.#cursor.t);
    let lo = r.lo - 1;
    while (lo < end) {
      if (this.#stopping) return;
      const hi = Math.min(end, lo + REPLAY_SLICE_MS);
      const data = await this.#d.querier.select(ALL, { minT: lo, maxT: hi });
      const series = sliceSeries(data, lo, hi, []);
      for (const s of series) this.#stats.lateSamples += sampleCount(s);
      await this.#deliver(series, true);
      lo = hi;
      if (lo < end) await this.#d.store.updateLate(name, seq, lateRangeEntry(lo + 1, r.hi));
    }
    this.#cursor = { t: this.#cursor.t, lateSeq: seq };
    await this.#persist(true);
    await this.#d.store.deleteLate(name, [{ seq, entry }]);
  }

  #target(labels: Labels): Labels | null {
    const key = labelsKey(labels);
    const hit = this.#relabelCache.get(key);
    if (hit !== undefined) return hit;
    const ext = this.#d.externalLabels?.() ?? {};
    const rules = this.config.writeRelabelConfigs;
    let out: Labels | null = labels;
    if (rules.length > 0 || Object.keys(ext).length > 0) {
      const m = new Map<string, string>();
      for (const [k, v] of Object.entries(ext)) m.set(k, v);
      for (const l of labels) m.set(l.name, l.value);
      const r = rules.length > 0 ? relabel(m, rules) : m;
      if (r === null || r.size === 0) out = null;
      else {
        out = [...r].filter(([, v]) => v !== "").map(([name, value]) => ({ name, value }))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      }
    }
    if (this.#relabelCache.size >= RELABEL_CACHE_MAX) this.#relabelCache.clear();
    this.#relabelCache.set(key, out);
    return out;
  }

  /** Relabels, shards and sends; resolves when every shard is done. */
  async #deliver(series: readonly WriteSeries[], catchingUp: boolean): Promise<void> {
    const q = this.config.queue;
    const shards: WriteSeries[][] = Array.from({ length: q.maxShards }, () => []);
    for (const s of series) {
      const labels = this.#target(s.labels as Labels);
      if (labels === null) {
        this.#stats.samplesDropped.relabel += sampleCount(s);
        continue;
      }
      shards[hashKey(labelsKey(labels)) % q.maxShards]!.push({ ...s, labels });
    }
    await Promise.all(shards.map((sh) => this.#sendShard(sh, catchingUp)));
  }

  async #sendShard(series: readonly WriteSeries[], catchingUp: boolean): Promise<void> {
    const max = this.config.queue.maxSamplesPerSend;
    let batch: WriteSeries[] = [];
    let n = 0;
    const flush = async () => {
      if (n > 0) await this.#sendBatch(batch, n, catchingUp);
      batch = [];
      n = 0;
    };
    for (const s of series) {
      let i = 0;
      while (i < s.t.length) {
        const take = Math.min(max - n, s.t.length - i);
        batch.push({
          labels: s.labels,
          t: sub(s.t, i, i + take),
          v: sub(s.v, i, i + take),
        });
        n += take;
        i += take;
        if (n >= max) await flush();
      }
      // Native histograms after the series' floats, in the same batches.
      const hs = s.histograms ?? [];
      i = 0;
      while (i < hs.length) {
        const take = Math.min(max - n, hs.length - i);
        batch.push({ labels: s.labels, t: [], v: [], histograms: hs.slice(i, i + take) });
        n += take;
        i += take;
        if (n >= max) await flush();
      }
    }
    await flush();
  }

  async #sendBatch(series: WriteSeries[], n: number, catchingUp: boolean): Promise<void> {
    const q = this.config.queue;
    if (catchingUp && q.maxRate > 0) {
      const now = this.#now();
      const start = Math.max(now, this.#nextSendAt);
      this.#nextSendAt = start + (n * 1000) / q.maxRate;
      if (start > now) await this.#sleep(start - now, false);
    }
    const body = encodeRemoteWriteBody({ series });
    this.#inFlightBytes += body.length;
    try {
      await this.#sendWithRetry(body, n, series);
    } finally {
      this.#inFlightBytes -= body.length;
    }
  }

  async #sendWithRetry(body: Uint8Array, n: number, series: WriteSeries[]): Promise<void> {
    const q = this.config.queue;
    const limit = q.sampleAgeLimit;
    for (let attempt = 0;; attempt++) {
      this.#check();
      if (attempt > 0 && this.#stopping) throw new Aborted();
      let out: SendOutcome;
      try {
        out = await this.#client.send(body, this.#abort.signal);
      } catch (e) {
        if (this.#abort.signal.aborted) throw new Aborted();
        throw e;
      }
      this.#stats.requests++;
      if (out.kind === "ok") {
        this.#stats.samplesSent += n;
        return;
      }
      if (out.kind === "drop") {
        this.#stats.samplesFailed += n;
        this.#stats.lastError = `HTTP ${out.status}: ${out.message}`;
        this.#d.log.warn("remote write batch refused by the endpoint; dropped", {
          remote_name: this.config.name,
          url: this.config.url,
          status: out.status,
          reason: out.message,
          samples: n,
        });
        return;
      }
      this.#stats.samplesRetried += n;
      this.#stats.lastError = out.status
        ? `HTTP ${out.status}: ${out.message}`
        : `network: ${out.message}`;
      if (attempt === 0 || attempt % 20 === 0) {
        this.#d.log.warn("remote write failed; retrying with backoff", {
          remote_name: this.config.name,
          url: this.config.url,
          status: out.status,
          error: out.message,
          attempt: attempt + 1,
        });
      }
      if (limit > 0 && newest(series) < this.#now() - limit) {
        this.#stats.samplesDropped.lag_budget += n;
        this.#d.log.warn("remote write batch older than sample_age_limit; dropped", {
          remote_name: this.config.name,
          samples: n,
        });
        return;
      }
      const delay = out.retryAfterMs !== undefined
        ? Math.min(out.retryAfterMs, q.maxBackoff * 4)
        : backoffDelay(attempt, q.minBackoff, q.maxBackoff);
      await this.#sleep(delay);
    }
  }

  async #maybeSendMetadata(): Promise<void> {
    const m = this.config.metadata;
    if (!m.send || this.#now() < this.#nextMetaAt) return;
    this.#nextMetaAt = this.#now() + m.sendInterval;
    const meta = await this.#d.querier.metadata();
    const list = [...meta].map(([family, x]) => ({ family, ...x }));
    for (let i = 0; i < list.length; i += m.maxSamplesPerSend) {
      const body = encodeRemoteWriteBody({
        series: [],
        metadata: list.slice(i, i + m.maxSamplesPerSend),
      });
      const out = await this.#client.send(body, this.#abort.signal);
      if (out.kind !== "ok") {
        this.#d.log.debug("remote write metadata not sent", {
          remote_name: this.config.name,
          status: out.status,
          error: out.message,
        });
        return;
      }
      this.#stats.metadataSent += Math.min(m.maxSamplesPerSend, list.length - i);
    }
  }

  #check(): void {
    if (this.#abort.signal.aborted) throw new Aborted();
  }

  /** Sleeps; stop() cuts short an `interruptible` sleep (the idle wait, a retry backoff). */
  #sleep(ms: number, interruptible = true): Promise<void> {
    this.#check();
    if (interruptible && this.#stopping) return Promise.reject(new Aborted());
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#wake === wake) this.#wake = undefined;
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        reject(new Aborted());
      };
      if (interruptible) this.#wake = wake;
    });
  }
}

function sub(a: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  if (from === 0 && to === a.length) return a;
  return (a as Float64Array).subarray(from, to);
}

function newest(series: readonly WriteSeries[]): number {
  let t = -Infinity;
  for (const s of series) {
    if (s.t.length > 0 && s.t[s.t.length - 1]! > t) t = s.t[s.t.length - 1]!;
    const hs = s.histograms;
    if (hs && hs.length > 0 && hs[hs.length - 1]!.t > t) t = hs[hs.length - 1]!.t;
  }
  return t;
}

/** Samples of a series to send: floats and native histograms. */
function sampleCount(s: WriteSeries): number {
  return s.t.length + (s.histograms?.length ?? 0);
}

/** A small string hash (FNV-1a) for sharding by series. */
export function hashKey(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function sameValue(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/**
 * The series of a slice (lo, hi]: storage's samples (floats and native
 * histograms), plus the uncertain ones the read did not return (merged in
 * time order).
 */
export function sliceSeries(
  data: readonly SeriesData[],
  lo: number,
  hi: number,
  uncertain: readonly TrackedSample[],
): WriteSeries[] {
  const out: WriteSeries[] = [];
  const byKey = new Map<string, number>();
  for (const s of data) {
    let a = 0, b = s.t.length;
    while (a < b && s.t[a]! <= lo) a++;
    while (b > a && s.t[b - 1]! > hi) b--;
    const hs = histogramsIn(s, lo, hi);
    if (a === b && hs.length === 0) continue;
    if (uncertain.length > 0) byKey.set(labelsKey(s.labels), out.length);
    out.push({
      labels: s.labels,
      t: s.t.subarray(a, b),
      v: s.v.subarray(a, b),
      ...(hs.length > 0 ? { histograms: hs } : {}),
    });
  }
  if (uncertain.length === 0) return out;
  const extra = new Map<string, TrackedSample[]>();
  for (const u of uncertain) {
    const key = labelsKey(u.labels);
    const idx = byKey.get(key);
    if (idx !== undefined && readIncludes(out[idx]!, u)) continue;
    let list = extra.get(key);
    if (!list) extra.set(key, list = []);
    list.push(u);
  }
  for (const [key, list] of extra) {
    const idx = byKey.get(key);
    const merged: TrackedSample[] = [];
    if (idx !== undefined) merged.push(...samplesOf(out[idx]!));
    merged.push(...list);
    const entry = groupSamples(merged)[0]!;
    if (idx !== undefined) out[idx] = entry;
    else out.push(entry);
  }
  return out;
}

/** The native histograms of `s` in (lo, hi]. */
function histogramsIn(
  s: SeriesData,
  lo: number,
  hi: number,
): { t: number; h: NativeHistogram }[] {
  const out: { t: number; h: NativeHistogram }[] = [];
  const hs = s.histograms;
  if (!hs) return out;
  for (let i = lowerBound(hs.t, lo); i < hs.t.length && hs.t[i]! <= hi; i++) {
    if (hs.t[i]! > lo) out.push({ t: hs.t[i]!, h: hs.h[i]! });
  }
  return out;
}

/** Whether a read series already holds sample `u` (same time, same value). */
function readIncludes(s: WriteSeries, u: TrackedSample): boolean {
  if (u.h) {
    const got = s.histograms?.find((x) => x.t === u.t);
    return got !== undefined && histogramsEqual(got.h, u.h);
  }
  const i = lowerBound(s.t, u.t);
  return i < s.t.length && s.t[i] === u.t && sameValue(s.v[i]!, u.v);
}

/** The samples of a series to send, as tracked samples. */
function samplesOf(s: WriteSeries): TrackedSample[] {
  const labels = s.labels as Labels;
  const out: TrackedSample[] = [];
  for (let i = 0; i < s.t.length; i++) out.push({ labels, t: s.t[i]!, v: s.v[i]! });
  for (const x of s.histograms ?? []) out.push({ labels, t: x.t, v: 0, h: x.h });
  return out;
}

function lowerBound(a: ArrayLike<number>, x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (a[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Samples of a late entry with t <= `upTo` (later ones are re-read from storage). */
function collectEntry(e: LateEntry, upTo: number, out: TrackedSample[]): void {
  const labels = e.series.map((flat) => {
    const l: { name: string; value: string }[] = [];
    for (let i = 0; i < flat.length; i += 2) l.push({ name: flat[i]!, value: flat[i + 1]! });
    return l as Labels;
  });
  const hs = new Map<number, NativeHistogram>();
  e.hIndex?.forEach((k, j) => hs.set(k, e.h![j]!));
  for (let i = 0; i < e.t.length; i++) {
    if (e.t[i]! > upTo) continue;
    const h = hs.get(i);
    out.push({ labels: labels[e.refs[i]!]!, t: e.t[i]!, v: e.v[i]!, ...(h ? { h } : {}) });
  }
}

/**
 * Groups samples by series, each series in time order (floats and native
 * histograms apart); of two samples of a kind at one time the later wins.
 */
export function groupSamples(samples: readonly TrackedSample[]): WriteSeries[] {
  const byKey = new Map<string, TrackedSample[]>();
  for (const s of samples) {
    const key = labelsKey(s.labels);
    let l = byKey.get(key);
    if (!l) byKey.set(key, l = []);
    l.push(s);
  }
  const out: WriteSeries[] = [];
  for (const list of byKey.values()) {
    const floats = new Map<number, number>();
    const hists = new Map<number, NativeHistogram>();
    for (const s of list) {
      if (s.h) hists.set(s.t, s.h);
      else floats.set(s.t, s.v);
    }
    const t = Float64Array.from(floats.keys()).sort();
    const v = Float64Array.from(t, (x) => floats.get(x)!);
    const histograms = [...hists].sort((a, b) => a[0] - b[0]).map(([t, h]) => ({ t, h }));
    out.push({ labels: list[0]!.labels, t, v, ...(histograms.length > 0 ? { histograms } : {}) });
  }
  return out;
}
