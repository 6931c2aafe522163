/**
 * The append tracker: an {@linkcode Appender} that wraps storage's and makes
 * sure remote write sees every sample storage stores, whatever its timestamp
 * and whenever it arrives (README.md, "Nothing stored is skipped").
 *
 * Each endpoint reads storage in time slices. The tracker knows, per
 * endpoint, the horizon H (storage has been read for t <= H) and the read
 * window (lo, hi] while a read runs. Appends are numbered when they start,
 * and each accepted sample is handled exactly one way:
 *
 * 1. **Behind the horizon when the append starts** (t <= H): written to the
 *    endpoint's durable late log **before storage sees the append**, held
 *    back from sending until storage has answered (then kept, filtered to
 *    what storage accepted, or deleted). A SIGKILL at any point leaves no
 *    stored sample behind the persisted cursor that is not in the log.
 * 2. **In flight while a read of its range runs** (the append was in flight
 *    when the window opened, or started before it closed): handed to the
 *    reader, which adds what its read did not return; the read waits for
 *    such appends to finish.
 * 3. **Otherwise** it is ahead of the horizon and a later read returns it
 *    (storage makes an append visible before acknowledging it).
 *
 * A sample cannot fall between 1 and 3: the horizon only moves when a window
 * closes, and a window waits for every append that could overlap it.
 *
 * @module
 */
import type {
  Appender,
  AppendResult,
  Labels,
  MetricMetadata,
  NativeHistogram,
  SampleBatch,
} from "../model/mod.ts";

/** One sample handed to remote write: a float, or a native histogram (then `v` is 0). */
export interface TrackedSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
  readonly h?: NativeHistogram;
}

/** Sample `i` of a batch as a {@linkcode TrackedSample}. */
function trackedAt(batch: SampleBatch, i: number): TrackedSample {
  const labels = batch.series[batch.ref(i)]!, t = batch.t(i), h = batch.h(i);
  return h ? { labels, t, v: 0, h } : { labels, t, v: batch.v(i) };
}

/** A read window of one endpoint; close it when the read has returned. */
export interface ReadWindow {
  /**
   * Marks the read as finished, raises the endpoint's horizon to `hi`, waits
   * for appends that were in flight, and returns the samples in (lo, hi] of
   * appends that may or may not be in the read.
   */
  close(): Promise<TrackedSample[]>;
}

/** Samples logged before storage answered; released once it has. */
export interface LateHold {
  /** Keeps only `kept` (all when undefined) and makes them sendable. */
  release(kept?: readonly TrackedSample[]): Promise<void>;
}

/** The durable late log the tracker writes to (one per manager). */
export interface LateLog {
  /** Writes samples durably, held back from sending until released. */
  hold(endpoint: string, samples: TrackedSample[]): Promise<LateHold>;
  /** Writes samples durably, sendable at once. */
  add(endpoint: string, samples: TrackedSample[]): Promise<void>;
}

interface Window {
  readonly lo: number;
  readonly hi: number;
  /** Appends in flight when the window opened. */
  readonly inFlightAtOpen: Set<number>;
  readonly openSeq: number;
  closeSeq: number;
  readonly uncertain: TrackedSample[];
}

interface Track {
  horizon: number;
  window: Window | undefined;
}

interface PreLogged {
  readonly horizon: number;
  readonly hold: LateHold | undefined;
  readonly samples: TrackedSample[];
  readonly index: number[];
}

const BUCKET_MS = 10_000;
/** {@linkcode StoredCounts.addAll} counts in these when a batch spans at most SPAN_MAX buckets. */
const SPAN_MAX = 4096;
const spanCounts = new Int32Array(SPAN_MAX);
const spanMaxT = new Float64Array(SPAN_MAX);

/**
 * Samples stored per 10 s of timestamp, so an endpoint can tell how many
 * samples wait after its cursor (the pending gauge).
 */
export class StoredCounts {
  readonly #buckets = new Map<number, { n: number; maxT: number }>();

  /** Counts `n` samples at time `t` (the newest of them). */
  add(t: number, n = 1): void {
    const k = Math.floor(t / BUCKET_MS);
    const b = this.#buckets.get(k);
    if (!b) this.#buckets.set(k, { n, maxT: t });
    else {
      b.n += n;
      if (t > b.maxT) b.maxT = t;
    }
  }

  /**
   * Counts every timestamp of `ts` but those at the indexes in `skip`, with
   * one update per bucket (a request from a sender holds each series' samples
   * one after the other, so its timestamps go back and forth over a few
   * buckets).
   */
  addAll(ts: Float64Array, skip?: Set<number>): void {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < ts.length; i++) {
      if (skip?.has(i)) continue;
      const t = ts[i];
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    if (lo > hi) return;
    const base = Math.floor(lo / BUCKET_MS);
    const span = Math.floor(hi / BUCKET_MS) - base + 1;
    if (!(span <= SPAN_MAX)) {
      for (let i = 0; i < ts.length; i++) if (!skip?.has(i)) this.add(ts[i]);
      return;
    }
    const counts = spanCounts, maxT = spanMaxT;
    for (let i = 0; i < ts.length; i++) {
      if (skip?.has(i)) continue;
      const t = ts[i], k = Math.floor(t / BUCKET_MS) - base;
      if (counts[k] === 0 || t > maxT[k]) maxT[k] = t;
      counts[k]++;
    }
    for (let k = 0; k < span; k++) {
      if (counts[k] > 0) this.add(maxT[k], counts[k]);
      counts[k] = 0;
    }
  }

  /** Samples counted after `t` (the bucket holding `t` counts whole unless all of it is <= t). */
  after(t: number): number {
    const from = Math.floor(t / BUCKET_MS);
    let n = 0;
    for (const [k, b] of this.#buckets) if (k >= from && b.maxT > t) n += b.n;
    return n;
  }

  /** Forgets buckets entirely at or before `t`. */
  prune(t: number): void {
    const upTo = Math.floor(t / BUCKET_MS);
    for (const [k, b] of this.#buckets) if (k < upTo || b.maxT <= t) this.#buckets.delete(k);
  }
}

/** Wraps an Appender and routes late samples to remote write; see the module doc. */
export class WriteTracker implements Appender {
  #inner: Appender | undefined;
  readonly #log: LateLog;
  readonly #tracks = new Map<string, Track>();
  readonly #inFlight = new Map<number, Promise<void>>();
  #seq = 0;
  /** Samples stored, by timestamp (for the pending gauge). */
  readonly stored = new StoredCounts();
  /**
   * Called when the late log cannot be written: the samples are stored but
   * will not be sent to that endpoint (counted and logged by the caller).
   */
  onLogError: (endpoint: string, error: unknown, samples: number) => void = () => {};

  constructor(log: LateLog, inner?: Appender) {
    this.#log = log;
    this.#inner = inner;
  }

  /** Sets the storage appender wrapped. */
  setInner(inner: Appender): void {
    this.#inner = inner;
  }

  /**
   * Starts tracking an endpoint whose storage reads have covered t <=
   * `horizon` (or moves an endpoint's horizon, between reads).
   */
  track(endpoint: string, horizon: number): void {
    const t = this.#tracks.get(endpoint);
    if (t?.window) throw new Error(`BUG: endpoint ${endpoint} moved during a read`);
    this.#tracks.set(endpoint, { horizon, window: undefined });
  }

  /** Stops tracking an endpoint. */
  untrack(endpoint: string): void {
    this.#tracks.delete(endpoint);
  }

  /** The horizon of an endpoint (for tests and stats). */
  horizon(endpoint: string): number | undefined {
    return this.#tracks.get(endpoint)?.horizon;
  }

  /** Opens a read window (lo, hi] for an endpoint; call before the read starts. */
  openWindow(endpoint: string, lo: number, hi: number): ReadWindow {
    const track = this.#tracks.get(endpoint);
    if (!track) throw new Error(`BUG: endpoint ${endpoint} is not tracked`);
    if (track.window) throw new Error(`BUG: endpoint ${endpoint} has a read window open`);
    const w: Window = {
      lo,
      hi,
      inFlightAtOpen: new Set(this.#inFlight.keys()),
      openSeq: this.#seq,
      closeSeq: Infinity,
      uncertain: [],
    };
    track.window = w;
    return {
      close: async () => {
        w.closeSeq = this.#seq;
        if (hi > track.horizon) track.horizon = hi;
        const waits: Promise<void>[] = [];
        for (const [id, p] of this.#inFlight) if (id <= w.closeSeq) waits.push(p);
        await Promise.all(waits);
        if (track.window === w) track.window = undefined;
        return w.uncertain;
      },
    };
  }

  /**
   * Appends through storage. Samples behind an endpoint's horizon are in its
   * late log before storage is asked; the log is settled before this resolves.
   */
  async append(batch: SampleBatch): Promise<AppendResult> {
    const inner = this.#inner;
    if (!inner) throw new Error("BUG: WriteTracker has no storage appender");
    const id = ++this.#seq;
    let done!: () => void;
    this.#inFlight.set(id, new Promise<void>((r) => done = r));
    try {
      const pre = await this.#prelog(batch);
      let res: AppendResult;
      try {
        res = await inner.append(batch);
      } catch (e) {
        await this.#settle(pre, undefined);
        throw e;
      }
      await this.#settle(pre, res);
      await this.#observe(id, batch, res, pre);
      return res;
    } finally {
      this.#inFlight.delete(id);
      done();
    }
  }

  /** Passes metadata through. */
  setMetadata(name: string, meta: MetricMetadata): Promise<void> {
    if (!this.#inner) throw new Error("BUG: WriteTracker has no storage appender");
    return this.#inner.setMetadata(name, meta);
  }

  /** Writes each endpoint's samples behind its horizon to its late log, held. */
  async #prelog(batch: SampleBatch): Promise<Map<string, PreLogged>> {
    const out = new Map<string, PreLogged>();
    const holds: Promise<void>[] = [];
    for (const [name, track] of this.#tracks) {
      const horizon = track.horizon;
      const samples: TrackedSample[] = [];
      const index: number[] = [];
      for (let i = 0; i < batch.length; i++) {
        if (batch.t(i) <= horizon) {
          samples.push(trackedAt(batch, i));
          index.push(i);
        }
      }
      if (samples.length === 0) {
        out.set(name, { horizon, hold: undefined, samples, index });
        continue;
      }
      holds.push(
        this.#log.hold(name, samples).then(
          (hold) => void out.set(name, { horizon, hold, samples, index }),
          (e) => {
            this.onLogError(name, e, samples.length);
            out.set(name, { horizon, hold: undefined, samples: [], index: [] });
          },
        ),
      );
    }
    await Promise.all(holds);
    return out;
  }

  /** Releases the holds: keeps what storage accepted (nothing if it threw). */
  async #settle(pre: Map<string, PreLogged>, res: AppendResult | undefined): Promise<void> {
    let rejected: Set<number> | undefined;
    if (res && res.rejected.length > 0) rejected = new Set(res.rejected.map((r) => r.index));
    const work: Promise<void>[] = [];
    for (const [name, p] of pre) {
      if (!p.hold) continue;
      let kept: TrackedSample[] | undefined;
      if (!res || res.accepted === 0) kept = [];
      else if (rejected) kept = p.samples.filter((_, k) => !rejected.has(p.index[k]!));
      work.push(
        p.hold.release(kept).catch((e) => this.onLogError(name, e, kept?.length ?? 0)),
      );
    }
    await Promise.all(work);
  }

  async #observe(
    id: number,
    batch: SampleBatch,
    res: AppendResult,
    pre: Map<string, PreLogged>,
  ): Promise<void> {
    if (res.accepted === 0) return;
    let rejected: Set<number> | undefined;
    if (res.rejected.length > 0) rejected = new Set(res.rejected.map((r) => r.index));
    this.stored.addAll(batch.columns().t, rejected);

    const writes: Promise<void>[] = [];
    for (const [name, track] of this.#tracks) {
      const logged = pre.get(name)?.horizon ?? -Infinity;
      const w = track.window;
      const uncertain = w !== undefined &&
        (w.inFlightAtOpen.has(id) || (id > w.openSeq && id <= w.closeSeq));
      // Only reachable when an endpoint started or moved while this append
      // was in flight; kept so that such a sample still goes out.
      const late: TrackedSample[] = [];
      const horizon = track.horizon;
      for (let i = 0; i < batch.length; i++) {
        const t = batch.t(i);
        if (t <= logged || rejected?.has(i)) continue;
        if (uncertain && t > w.lo && t <= w.hi) {
          w.uncertain.push(trackedAt(batch, i));
        } else if (t <= horizon || (uncertain && t <= w.lo)) {
          late.push(trackedAt(batch, i));
        }
      }
      if (late.length > 0) {
        writes.push(
          this.#log.add(name, late).catch((e) => this.onLogError(name, e, late.length)),
        );
      }
    }
    await Promise.all(writes);
  }
}
