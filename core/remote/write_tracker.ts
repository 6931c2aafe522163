/**
 * The append tracker: an {@linkcode Appender} that wraps storage's and tells
 * remote write about samples appended behind an endpoint's read horizon, so
 * that late (out-of-order) samples are never silently lost (README.md, "Late
 * samples").
 *
 * Each endpoint reads storage in time slices. The tracker knows, per
 * endpoint, the horizon H below which storage has been read, and the read
 * window (lo, hi] while a read is running. For each append (numbered when it
 * starts) it decides, once storage has acknowledged it:
 *
 * - completed before the window opened → the read sees it: nothing to do;
 * - in flight during the read → uncertain: samples in (lo, hi] are handed to
 *   the reader, which keeps those its read did not return;
 * - started after the read finished → samples with t ≤ H go to the durable
 *   late log of the endpoint before the append is acknowledged.
 *
 * @module
 */
import type { Labels } from "../model/labels.ts";
import type { Appender, AppendResult, SampleBatch } from "../model/storage.ts";
import type { MetricMetadata } from "../model/types.ts";

/** One sample handed to remote write. */
export interface TrackedSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
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

/** Where late samples of an endpoint go (durably, before the append is acknowledged). */
export type LateSink = (endpoint: string, samples: TrackedSample[]) => Promise<void>;

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

/** Wraps an Appender and routes late samples to remote write; see the module doc. */
export class WriteTracker implements Appender {
  #inner: Appender | undefined;
  readonly #sink: LateSink;
  readonly #tracks = new Map<string, Track>();
  readonly #inFlight = new Map<number, Promise<void>>();
  #seq = 0;
  /** Called when the late sink fails (the append itself succeeded). */
  onSinkError: (endpoint: string, error: unknown, samples: number) => void = () => {};

  constructor(sink: LateSink, inner?: Appender) {
    this.#sink = sink;
    this.#inner = inner;
  }

  /** Sets the storage appender wrapped. */
  setInner(inner: Appender): void {
    this.#inner = inner;
  }

  /** Starts tracking an endpoint whose storage reads have covered t ≤ `horizon`. */
  track(endpoint: string, horizon: number): void {
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

  /** Appends through storage; late samples are logged before this resolves. */
  async append(batch: SampleBatch): Promise<AppendResult> {
    const inner = this.#inner;
    if (!inner) throw new Error("BUG: WriteTracker has no storage appender");
    if (this.#tracks.size === 0) return inner.append(batch);
    const id = ++this.#seq;
    let done!: () => void;
    this.#inFlight.set(id, new Promise<void>((r) => done = r));
    try {
      const res = await inner.append(batch);
      await this.#observe(id, batch, res);
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

  async #observe(id: number, batch: SampleBatch, res: AppendResult): Promise<void> {
    if (res.accepted === 0) return;
    let rejected: Set<number> | undefined;
    if (res.rejected.length > 0) rejected = new Set(res.rejected.map((r) => r.index));
    const writes: Promise<void>[] = [];
    for (const [name, track] of this.#tracks) {
      const w = track.window;
      const uncertain = w !== undefined &&
        (w.inFlightAtOpen.has(id) || (id > w.openSeq && id <= w.closeSeq));
      const late: TrackedSample[] = [];
      const horizon = track.horizon;
      for (let i = 0; i < batch.length; i++) {
        const t = batch.t(i);
        if (uncertain && t > w.lo && t <= w.hi) {
          if (rejected?.has(i)) continue;
          w.uncertain.push({ labels: batch.series[batch.ref(i)]!, t, v: batch.v(i) });
        } else if (t <= horizon || (uncertain && t <= w.lo)) {
          if (rejected?.has(i)) continue;
          late.push({ labels: batch.series[batch.ref(i)]!, t, v: batch.v(i) });
        }
      }
      if (late.length > 0) {
        writes.push(
          this.#sink(name, late).catch((e) => this.onSinkError(name, e, late.length)),
        );
      }
    }
    await Promise.all(writes);
  }
}
