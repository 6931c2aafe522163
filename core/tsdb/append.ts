/**
 * The append path of an open database: per sample validation (finite
 * timestamp, retention horizon, future tolerance, the opt-in out-of-order
 * window per series), series refs from the index, then one WAL record per
 * batch (series definitions, float samples, native histograms), group
 * fsync, and the head. Windows behind the flush horizon that get late
 * samples are noted for maintenance (maintenance.ts), which an append also
 * wakes when it crosses the flush horizon or the head its memory budget.
 *
 * @module
 */
import {
  type AppendResult,
  type Labels,
  labelsKey,
  type RejectedSample,
  type SampleBatch,
  StorageFullError,
} from "../model/mod.ts";
import { encodeSeries, type SeriesDef } from "./wal.ts";
import type { SampleSource } from "./wal_codec.ts";
import { isNoSpace } from "./_no_space.ts";
import { encodeHistogramRecord } from "./wal_histogram.ts";
import type { DbState } from "./db_state.ts";
import type { Maintenance } from "./maintenance.ts";

/** Appends batches to one database. */
export class DbAppender {
  readonly #db: DbState;
  readonly #maint: Maintenance;
  /**
   * Series ref by the Labels array an appender passed (the pipeline keeps
   * one array per series across requests), so a known series costs no
   * labelsKey string per request. Valid while the index still has the ref
   * (refs are never reused).
   */
  #refByLabels = new WeakMap<Labels, number>();

  constructor(db: DbState, maint: Maintenance) {
    this.#db = db;
    this.#maint = maint;
  }

  /**
   * Appends a batch; resolves once accepted samples are in the WAL (fsynced
   * with `fsync: "always"`). Rejects with StorageFullError when the disk or
   * the budget is full; then nothing of the batch is stored.
   */
  async append(batch: SampleBatch): Promise<AppendResult> {
    if (this.#db.closed) throw new Error("Cannot append: the database is closed");
    const n = batch.length;
    const now = this.#db.now();
    const minValid = this.#db.retentionMs > 0 ? now - this.#db.retentionMs : -Infinity;
    const maxValid = now + this.#db.futureTolerance;
    const seriesRefs = new Int32Array(batch.seriesCount).fill(-1);
    const rejected: RejectedSample[] = [];
    const defs: SeriesDef[] = [];
    let created: number[] | undefined;
    const limitOoo = this.#db.oooWindow !== Infinity;
    const newest = limitOoo ? new Float64Array(batch.seriesCount).fill(NaN) : undefined;
    // Indexes of accepted samples, only when some are rejected.
    let keep: Uint32Array | null = null;
    let k = 0;
    const hasH = batch.hasHistograms;
    // Accepted histogram samples (batch indexes); they skip the float path.
    const hIdx: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = batch.t(i);
      let why: RejectedSample | undefined;
      if (!Number.isFinite(t)) {
        why = { index: i, reason: "invalid", message: "timestamp is not a finite number" };
      } else if (t > maxValid) {
        why = {
          index: i,
          reason: "too_far_in_future",
          message: `timestamp ${t} is more than ${this.#db.futureTolerance} ms ahead of now`,
        };
      } else if (t < minValid) {
        why = {
          index: i,
          reason: "out_of_bounds",
          message: `timestamp ${t} is older than the retention period (before ${minValid})`,
        };
      } else if (limitOoo) {
        const bi = batch.ref(i);
        let top = newest![bi];
        if (top !== top) top = newest![bi] = this.#newestOf(batch.series[bi]);
        if (t < top - this.#db.oooWindow) {
          why = {
            index: i,
            reason: "out_of_order",
            message: `timestamp ${t} is more than out_of_order_window (${this.#db.oooWindow} ms) ` +
              `behind the newest sample of its series (${top})`,
          };
        }
      }
      if (why) {
        rejected.push(why);
        if (!keep) {
          keep = new Uint32Array(n);
          for (let j = 0; j < i; j++) keep[j] = j;
        }
        continue;
      }
      const bi = batch.ref(i);
      if (seriesRefs[bi] < 0) {
        const labels = batch.series[bi]!;
        let ref = this.#refByLabels.get(labels);
        if (ref === undefined || this.#db.index.labels(ref) === undefined) {
          const got = this.#db.index.getOrCreate(labels, labelsKey(labels));
          ref = got.ref;
          if (got.created) (created ??= []).push(ref);
          this.#refByLabels.set(labels, ref);
        }
        seriesRefs[bi] = ref;
        if (!this.#db.logged.has(ref)) defs.push({ ref, labels });
      }
      if (hasH && batch.h(i) !== undefined) {
        hIdx.push(i);
        if (!keep) {
          keep = new Uint32Array(n);
          for (let j = 0; j < i; j++) keep[j] = j;
        }
        continue;
      }
      if (keep) keep[k] = i;
      k++;
    }
    this.#db.counters.samplesRejected += rejected.length;
    if (k === 0 && hIdx.length === 0) return { accepted: 0, rejected };
    // The accepted samples as columns with storage refs, for the WAL encoder and the head.
    const cols = batch.columns();
    const refs = new Int32Array(k);
    let ts = cols.t, vs = cols.v;
    if (keep) {
      ts = new Float64Array(k);
      vs = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        const j = keep[i];
        refs[i] = seriesRefs[cols.refs[j]];
        ts[i] = cols.t[j];
        vs[i] = cols.v[j];
      }
    } else {
      for (let i = 0; i < k; i++) refs[i] = seriesRefs[cols.refs[i]];
    }
    const src: SampleSource = { n: k, refs, t: ts, v: vs };
    const floor = this.#db.opts.onOldWrite ? this.#db.headMinT() ?? Infinity : -Infinity;
    let oldLo = Infinity, oldHi = -Infinity;
    // About 2 bytes per sample compressed; the budget check needs only an estimate.
    if (this.#db.maxBytes > 0) await this.#maint.checkBudget(16 + k * 4);
    // What every stored sample updates: the newest time (per series with an
    // out-of-order window), the windows of its WAL segment, late windows
    // behind the flush horizon, and the range written behind the head.
    const noteStored = (seg: number, r: Int32Array, ts: Float64Array, count: number) => {
      let set = this.#db.segWindows.get(seg);
      if (!set) this.#db.segWindows.set(seg, set = new Set());
      let lastW = NaN;
      for (let i = 0; i < count; i++) {
        const t = ts[i];
        if (t > this.#db.maxT) this.#db.maxT = t;
        if (limitOoo) this.#db.noteSeriesMaxT(r[i], t);
        if (t < floor) {
          if (t < oldLo) oldLo = t;
          if (t > oldHi) oldHi = t;
        }
        const w = Math.floor(t / this.#db.range);
        if (w !== lastW) {
          set.add(w);
          lastW = w;
          if ((w + 1) * this.#db.range <= this.#db.maxT - this.#db.flushDelay) {
            const l = this.#db.lateWrites.get(w);
            if (l) l.last = now;
            else this.#db.lateWrites.set(w, { first: now, last: now });
          }
        }
      }
    };
    const logDefs = () => {
      for (const d of defs) {
        // A concurrent append that failed may have dropped the new series meanwhile.
        if (this.#db.index.labels(d.ref) === undefined) this.#db.index.restore(d.ref, d.labels);
        this.#db.logged.add(d.ref);
      }
    };
    const apply = (seg: number) => {
      this.#db.head.appendColumns(refs, ts, vs, k);
      noteStored(seg, refs, ts, k);
      logDefs();
      this.#db.counters.samplesAppended += k;
    };
    const hRefs = Int32Array.from(hIdx, (i) => seriesRefs[batch.ref(i)]);
    const hT = Float64Array.from(hIdx, (i) => batch.t(i));
    const hH = hIdx.map((i) => batch.h(i)!);
    const applyH = (seg: number) => {
      for (let i = 0; i < hRefs.length; i++) this.#db.hist.append(hRefs[i], hT[i], hH[i]);
      noteStored(seg, hRefs, hT, hRefs.length);
      if (k === 0) logDefs(); // else apply did
      this.#db.counters.samplesAppended += hRefs.length;
    };
    try {
      const pending = defs.length > 0 ? this.#db.wal.append(encodeSeries(defs)) : undefined;
      const p = k > 0 ? this.#db.wal.appendSamples(src, apply) : undefined;
      const ph = hIdx.length > 0
        ? this.#db.wal.append(encodeHistogramRecord({ refs: hRefs, t: hT, h: hH }), applyH)
        : undefined;
      // All fail together when the group fails: keep every rejection handled.
      p?.catch(() => {});
      ph?.catch(() => {});
      if (pending) await pending;
      await p;
      await ph;
    } catch (e) {
      // Series this append created are dropped again: nothing of them is stored, and
      // saving them to KV would take the space freed for data.
      for (const ref of created ?? []) if (!this.#db.logged.has(ref)) this.#db.index.forget(ref);
      if (isNoSpace(e)) {
        this.#db.counters.storageFullRejections++;
        this.#db.problems.set(
          "disk_full",
          `the disk is full: writes are refused (507) since ${
            new Date(this.#db.now()).toISOString()
          }` +
            " until space is freed",
        );
        throw new StorageFullError("Cannot append: the disk is full", { cause: e });
      }
      throw e;
    }
    this.#db.problems.delete("disk_full");
    if (oldLo <= oldHi) this.#db.notifyOld(oldLo, oldHi);
    if (defs.length > 0) {
      this.#db.index.save().catch((e) =>
        this.#db.log("error", "saving series to KV failed", { error: String(e) })
      );
    }
    if (this.#db.maxT >= this.#db.nextFlushCheck || this.#db.head.bytes > this.#db.headBudget) {
      this.#db.nextFlushCheck = Infinity;
      this.#maint.background().catch(() => {});
    }
    return { accepted: k + hIdx.length, rejected };
  }

  /** Newest timestamp stored for a series (by labels), -Infinity when unknown. */
  #newestOf(labels: Labels): number {
    const ref = this.#db.index.lookup(labelsKey(labels));
    const m = this.#db.seriesMaxT;
    return ref === undefined || !m || ref >= m.length ? -Infinity : m[ref];
  }
}
