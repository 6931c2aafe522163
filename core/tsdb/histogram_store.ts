/**
 * Native histogram samples of the database: an in-memory head per series
 * (filled by appends and WAL replay) and histogram files under `hist/`, each
 * holding every histogram series of a time range as histogram chunks with
 * labels (self-contained, CRC-checked; FORMAT.md, "Histogram files").
 *
 * Lifecycle, as for float blocks: {@linkcode HistogramStore.flushWindow}
 * writes a block window's file before the database marks the window flushed
 * (so its WAL may go); {@linkcode HistogramStore.compact} merges files 2h ->
 * 6h -> 24h; {@linkcode HistogramStore.downsample} rewrites files older than
 * a tier at its resolution (histogram_runs.ts: the last histogram per step
 * plus the samples around resets); retention and the disk budget delete
 * whole files (the database plans them with its blocks).
 *
 * At most one file covers a window: a late histogram into a window that a
 * file covers is merged into that file (rewritten; newest write wins on
 * equal timestamps, and a downsampled file is downsampled again), never
 * written beside it. Every rewrite writes the new file (temp, fsync, rename)
 * before it removes what it replaces, and at open a file inside the range of
 * a file written later is removed, so a crash in between serves nothing
 * twice. Files carry a write sequence; reads merge files in that order.
 *
 * A file that fails its checks at open is salvaged: the series the series
 * index vouches for, with their intact chunks, are written back and served,
 * and the original is copied to `quarantine/hist/`. A file with nothing to
 * salvage, or a chunk failing at read, sends the file to `quarantine/hist/`,
 * never served. Both are recorded as incidents.
 *
 * @module
 */
import type { Labels, NativeHistogram } from "../model/mod.ts";
import { ChunkCorruptError } from "./chunk.ts";
import { planCompaction } from "./compact.ts";
import type { DownsamplingTier } from "./downsample.ts";
import {
  HIST_DIR,
  type HistFileId,
  histFileName,
  joinPath,
  parseHistFileName,
  QUARANTINE_DIR,
  TMP_SUFFIX,
} from "./filenames.ts";
import { decodeHistogramChunk, type HistogramSamples } from "./histogram_chunk.ts";
import {
  encodeHistogramFile,
  HistFileReader,
  type HistFileSeries,
  HistogramFileCorruptError,
  salvageHistogramFile,
} from "./histogram_file.ts";
import {
  clipRun,
  concatRuns,
  downsampleHistograms,
  EMPTY_RUN,
  mergeRuns,
  runChunks,
} from "./histogram_runs.ts";
import type { IncidentLog } from "./recovery.ts";
import { writeAtomic } from "./recovery.ts";
import { fsyncDir } from "./wal.ts";

export { HIST_DIR };

/** Options of {@linkcode HistogramStore.open}. */
export interface HistogramStoreOptions {
  /** The data directory (files live in `<dataDir>/hist`). */
  readonly dataDir: string;
  /** Width of a block window, ms. */
  readonly range: number;
  readonly incidents: IncidentLog;
  readonly log: (
    level: "debug" | "info" | "warn" | "error",
    msg: string,
    fields: Record<string, unknown>,
  ) => void;
  readonly now: () => number;
  /** Data behind the head changed or went (quarantine, downsampling): [minT, maxT]. */
  readonly onChange?: (minT: number, maxT: number) => void;
  /** Replaced files stay open this long for reads in flight. @default 60000 */
  readonly graceMs?: number;
  /**
   * The series index at open: the series of a damaged file that it agrees
   * with are salvaged (see {@linkcode salvageHistogramFile}). Without it a
   * damaged file is quarantined whole.
   */
  readonly labelsOf?: LabelsOf;
}

/** Labels of a series by ref (the series index). */
export type LabelsOf = (ref: number) => Labels | undefined;

interface HeadSeries {
  t: number[];
  h: NativeHistogram[];
}

/** Whether the range of `f` (a file or a file's identity) holds [lo, hi). */
function covers(f: HistFileReader | HistFileId, lo: number, hi: number): boolean {
  const m = "meta" in f ? f.meta : f;
  return m.lo <= lo && hi <= m.hi;
}

/** See the module doc. */
export class HistogramStore {
  readonly #dir: string;
  readonly #o: HistogramStoreOptions;
  readonly #head = new Map<number, HeadSeries>();
  readonly #files = new Map<string, HistFileReader>();
  #retired: { reader: HistFileReader; at: number }[] = [];
  #seq = 1;
  #headSamples = 0;
  /** Counters since open. */
  readonly counts = { compactions: 0, downsamplings: 0, quarantined: 0, rewrites: 0 };

  private constructor(o: HistogramStoreOptions) {
    this.#o = o;
    this.#dir = joinPath(o.dataDir, HIST_DIR);
  }

  /**
   * Opens the store (the directory is created when missing): drops temp
   * files, verifies every file (a damaged one is salvaged or quarantined, and
   * recorded), and removes files that a later write already merged into
   * another.
   */
  static async open(o: HistogramStoreOptions): Promise<HistogramStore> {
    const s = new HistogramStore(o);
    await Deno.mkdir(s.#dir, { recursive: true });
    const found: HistFileReader[] = [];
    const damaged: { name: string; id: HistFileId | undefined; err: Error }[] = [];
    for await (const e of Deno.readDir(s.#dir)) {
      if (e.name.endsWith(TMP_SUFFIX)) {
        await Deno.remove(joinPath(s.#dir, e.name)).catch(() => {});
        continue;
      }
      const id = parseHistFileName(e.name);
      if (!id) continue;
      const v1: HistFileId | undefined = "window" in id
        ? { lo: id.window * o.range, hi: (id.window + 1) * o.range, resolution: 0 }
        : undefined;
      try {
        const r = await HistFileReader.open(s.#dir, e.name, v1);
        const named = v1 ?? id as HistFileId;
        if (
          r.meta.lo !== named.lo || r.meta.hi !== named.hi ||
          r.meta.resolution !== named.resolution
        ) {
          await r.close();
          throw new HistogramFileCorruptError("its header does not match its name");
        }
        found.push(r);
      } catch (err) {
        if (!(err instanceof HistogramFileCorruptError)) throw err;
        damaged.push({ name: e.name, id: v1 ? undefined : id as HistFileId, err });
      }
    }
    for (const r of found) if (r.meta.seq >= s.#seq) s.#seq = r.meta.seq + 1;
    for (const r of found) {
      const by = found.find((g) =>
        g !== r && g.meta.seq > r.meta.seq && covers(g, r.meta.lo, r.meta.hi)
      );
      if (by) {
        await r.close();
        await Deno.remove(joinPath(s.#dir, r.name)).catch(() => {});
        o.log("info", "removed a histogram file already merged into another", {
          file: r.name,
          into: by.name,
        });
      } else s.#files.set(r.name, r);
    }
    for (const d of damaged) await s.#salvage(d.name, d.id, d.err);
    return s;
  }

  /**
   * Restores into the index the series that files hold but it lacks (after
   * the index was rebuilt); returns how many.
   */
  async restoreIndex(
    labelsOf: LabelsOf,
    restore: (ref: number, l: Labels) => void,
  ): Promise<number> {
    let n = 0;
    for (const f of this.#files.values()) {
      if (!f.refs.some((ref) => labelsOf(ref) === undefined)) continue;
      for (const [ref, labels] of await f.labels()) {
        if (labelsOf(ref) === undefined) {
          restore(ref, labels);
          n++;
        }
      }
    }
    return n;
  }

  /** Samples held in memory. */
  get headSamples(): number {
    return this.#headSamples;
  }

  /** Histogram files served. */
  get files(): number {
    return this.#files.size;
  }

  /** Bytes of the histogram files served. */
  get diskBytes(): number {
    let n = 0;
    for (const f of this.#files.values()) n += f.bytes;
    return n;
  }

  /** False when no histogram is held at all (the common case: skip every lookup). */
  get empty(): boolean {
    return this.#head.size === 0 && this.#files.size === 0;
  }

  /** Adds a sample to the head; a sample at a stored timestamp replaces it. */
  append(ref: number, t: number, h: NativeHistogram): void {
    let s = this.#head.get(ref);
    if (!s) this.#head.set(ref, s = { t: [], h: [] });
    const n = s.t.length;
    if (n === 0 || t > s.t[n - 1]!) {
      s.t.push(t), s.h.push(h);
      this.#headSamples++;
      return;
    }
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s.t[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    if (s.t[lo] === t) s.h[lo] = h;
    else {
      s.t.splice(lo, 0, t), s.h.splice(lo, 0, h);
      this.#headSamples++;
    }
  }

  /** Block windows the head holds samples of, ascending. */
  windows(): number[] {
    const ws = new Set<number>();
    for (const s of this.#head.values()) {
      for (const t of s.t) ws.add(Math.floor(t / this.#o.range));
    }
    return [...ws].sort((a, b) => a - b);
  }

  /** Oldest sample in the head, or null. */
  headMinT(): number | null {
    let m = Infinity;
    for (const s of this.#head.values()) if (s.t.length > 0 && s.t[0]! < m) m = s.t[0]!;
    return m === Infinity ? null : m;
  }

  /**
   * Writes the head's samples of `window` to disk, then drops them from the
   * head: merged into the file covering the window when there is one (a
   * compacted or downsampled file included), else into a new file of the
   * window. On failure the head keeps them and the error is thrown.
   */
  async flushWindow(window: number, labelsOf: LabelsOf): Promise<void> {
    const lo = window * this.#o.range, hi = lo + this.#o.range;
    const taken = new Map<number, HistogramSamples>();
    for (const [ref, s] of this.#head) {
      const t: number[] = [], h: NativeHistogram[] = [];
      for (let i = 0; i < s.t.length; i++) {
        if (s.t[i]! >= lo && s.t[i]! < hi) t.push(s.t[i]!), h.push(s.h[i]!);
      }
      if (t.length > 0) taken.set(ref, { t: new Float64Array(t), h });
    }
    if (taken.size === 0) return;
    let target: HistFileReader | undefined;
    for (const f of this.#files.values()) {
      if (covers(f, lo, hi) && (!target || f.meta.seq > target.meta.seq)) target = f;
    }
    const id: HistFileId = target?.meta ?? { lo, hi, resolution: 0 };
    try {
      await this.#rewrite(id, target ? [target] : [], labelsOf, (ref, old) => {
        const run = mergeRuns(old ?? EMPTY_RUN, taken.get(ref)!);
        return id.resolution > 0 ? downsampleHistograms(run, id.resolution) : run;
      }, new Set(taken.keys()));
    } catch (e) {
      if (!(e instanceof DamagedInput)) throw e;
      await this.#quarantine(e.file, e.cause);
      return await this.flushWindow(window, labelsOf);
    }
    if (target) {
      this.counts.rewrites++;
      if (id.resolution > 0) this.#o.onChange?.(id.lo, id.hi - 1);
    }
    // Drop exactly the samples written: appends during the write stay in the head.
    for (const [ref, got] of taken) {
      const s = this.#head.get(ref);
      if (!s) continue;
      const written = new Set(got.h);
      const keepT: number[] = [], keepH: NativeHistogram[] = [];
      for (let i = 0; i < s.t.length; i++) {
        const t = s.t[i]!;
        if (!(written.has(s.h[i]!) && t >= lo && t < hi)) keepT.push(t), keepH.push(s.h[i]!);
      }
      this.#headSamples -= s.t.length - keepT.length;
      if (keepT.length === 0) this.#head.delete(ref);
      else this.#head.set(ref, { t: keepT, h: keepH });
    }
  }

  /**
   * Merges raw files inside one compaction window (2h -> 6h -> 24h, as
   * blocks) whose window ends before `horizon`; false when there was none.
   */
  async compact(horizon: number, labelsOf: LabelsOf): Promise<boolean> {
    const raw = [...this.#files.values()].filter((f) => f.meta.resolution === 0);
    const plan = planCompaction(
      raw.map((f, seq) => ({ seq, minT: f.meta.lo, maxT: f.meta.hi - 1 })),
      this.#o.range,
      horizon,
    );
    if (!plan) return false;
    const inputs = plan.inputs.map((i) => raw[i]!).sort((a, b) => a.meta.seq - b.meta.seq);
    try {
      await this.#rewrite({ lo: plan.minT, hi: plan.maxT + 1, resolution: 0 }, inputs, labelsOf);
    } catch (e) {
      if (!(e instanceof DamagedInput)) throw e;
      await this.#quarantine(e.file, e.cause);
      return true;
    }
    this.counts.compactions++;
    this.#o.log("info", "histogram files compacted", {
      inputs: inputs.map((f) => f.name),
      output: histFileName({ lo: plan.minT, hi: plan.maxT + 1, resolution: 0 }),
    });
    return true;
  }

  /**
   * Rewrites up to `max` files whose newest possible sample is older than a
   * tier at that tier's resolution (the coarsest tier due).
   */
  async downsample(
    tiers: readonly DownsamplingTier[],
    now: number,
    labelsOf: LabelsOf,
    max: number,
  ): Promise<void> {
    let done = 0;
    const files = [...this.#files.values()].sort((a, b) => a.meta.lo - b.meta.lo);
    for (const f of files) {
      if (done >= max) return;
      if (this.#files.get(f.name) !== f) continue;
      let res = 0;
      for (const t of tiers) {
        if (f.meta.hi - 1 < now - t.afterMs) res = Math.max(res, t.resolutionMs);
      }
      if (res <= f.meta.resolution) continue;
      const id = { lo: f.meta.lo, hi: f.meta.hi, resolution: res };
      try {
        await this.#rewrite(
          id,
          [f],
          labelsOf,
          (_, old) => old ? downsampleHistograms(old, res) : EMPTY_RUN,
        );
      } catch (e) {
        if (!(e instanceof DamagedInput)) throw e;
        await this.#quarantine(e.file, e.cause);
        continue;
      }
      done++;
      this.counts.downsamplings++;
      this.#o.onChange?.(id.lo, id.hi - 1);
      this.#o.log("info", "histogram file downsampled", {
        input: f.name,
        output: histFileName(id),
        resolutionMs: res,
      });
    }
  }

  /** Files with their data bounds and size, for retention planning. */
  retentionItems(): { name: string; maxT: number; bytes: number }[] {
    return [...this.#files.values()].map((f) => ({ name: f.name, maxT: f.maxT, bytes: f.bytes }));
  }

  /** Deletes files (retention, disk budget). */
  async drop(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const f = this.#files.get(name);
      if (!f) continue;
      this.#files.delete(name);
      await Deno.remove(joinPath(this.#dir, name)).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
      this.#retire(f);
      this.#o.onChange?.(f.minT, f.maxT);
    }
  }

  /** Refs among `refs` with histogram samples in [minT, maxT]. */
  withData(refs: readonly number[], minT: number, maxT: number): number[] {
    const files = [...this.#files.values()].filter((f) => f.maxT >= minT && f.minT <= maxT);
    return refs.filter((ref) => {
      const s = this.#head.get(ref);
      if (s && s.t.some((t) => t >= minT && t <= maxT)) return true;
      for (const f of files) if (f.hasData(ref, minT, maxT)) return true;
      return false;
    });
  }

  /**
   * Histogram samples of `refs` in [minT, maxT], files in write order, then
   * the head (newest wins). The files and head are taken when the call
   * starts, so a flush or compaction meanwhile loses nothing from it.
   */
  async read(
    refs: readonly number[],
    minT: number,
    maxT: number,
  ): Promise<Map<number, HistogramSamples>> {
    const out = new Map<number, HistogramSamples>();
    if (this.empty) return out;
    const files = [...this.#files.values()]
      .filter((f) => f.maxT >= minT && f.minT <= maxT)
      .sort((a, b) => a.meta.seq - b.meta.seq);
    const head = new Map<number, HistogramSamples>();
    for (const ref of refs) {
      const s = this.#head.get(ref);
      if (s) head.set(ref, clipRun({ t: new Float64Array(s.t), h: s.h.slice() }, minT, maxT));
    }
    for (const ref of refs) {
      let run = EMPTY_RUN;
      for (const f of files) {
        let got: HistogramSamples | undefined;
        try {
          got = await f.read(ref, minT, maxT);
        } catch (e) {
          if (!(e instanceof ChunkCorruptError || e instanceof HistogramFileCorruptError)) throw e;
          // Never serve a damaged file: set it aside and answer without it.
          if (this.#files.get(f.name) === f) await this.#quarantine(f, e);
          return this.read(refs, minT, maxT);
        }
        if (got) run = mergeRuns(run, got);
      }
      run = mergeRuns(run, head.get(ref) ?? EMPTY_RUN);
      if (run.t.length > 0) out.set(ref, run);
    }
    return out;
  }

  /** Oldest histogram timestamp held, or null. */
  minTime(): number | null {
    let m = this.headMinT() ?? Infinity;
    for (const f of this.#files.values()) m = Math.min(m, f.minT);
    return m === Infinity ? null : m;
  }

  /** Closes files replaced at least the grace period ago (all when `force`). */
  async purgeRetired(force: boolean): Promise<void> {
    const grace = this.#o.graceMs ?? 60_000;
    const now = this.#o.now();
    const keep = [];
    for (const r of this.#retired) {
      if (force || now - r.at >= grace) await r.reader.close();
      else keep.push(r);
    }
    this.#retired = keep;
  }

  /** Closes every file. */
  async close(): Promise<void> {
    await this.purgeRetired(true);
    for (const f of this.#files.values()) await f.close();
    this.#files.clear();
  }

  #retire(f: HistFileReader): void {
    this.#retired.push({ reader: f, at: this.#o.now() });
  }

  /**
   * Writes the file `id` from `inputs` and every other file whose range lies
   * inside `id`'s (merged per series in write order), installs it, then
   * removes the inputs. Taking every file inside keeps the rule that a file
   * inside a later file's range was merged into it (open removes such files
   * as crash leftovers): a compaction of a day that holds an already
   * downsampled 2 h file, or a window flushed after the block range grew,
   * merges them instead of hiding them. `change` rewrites the merged run of
   * each series in `only` (every series without `only`; `old` is undefined
   * when no input holds it; an empty result drops the series); the other
   * series' chunks are copied. A damaged input throws
   * {@linkcode DamagedInput}, and nothing is changed then.
   */
  async #rewrite(
    id: HistFileId,
    inputs: readonly HistFileReader[],
    labelsOf: LabelsOf,
    change?: (ref: number, old: HistogramSamples | undefined) => HistogramSamples,
    only?: ReadonlySet<number>,
  ): Promise<void> {
    const inside = [...this.#files.values()].filter((f) => covers(id, f.meta.lo, f.meta.hi));
    inputs = [...new Set([...inputs, ...inside])].sort((a, b) => a.meta.seq - b.meta.seq);
    const refs = new Set<number>(only);
    for (const f of inputs) for (const ref of f.refs) refs.add(ref);
    let fileLabels: Map<number, Labels> | undefined;
    const series: HistFileSeries[] = [];
    for (const ref of [...refs].sort((a, b) => a - b)) {
      const parts: { f: HistFileReader; chunks: Uint8Array[] }[] = [];
      for (const f of inputs) {
        try {
          const chunks = await f.chunks(ref);
          if (chunks.length > 0) parts.push({ f, chunks });
        } catch (e) {
          if (e instanceof ChunkCorruptError || e instanceof HistogramFileCorruptError) {
            throw new DamagedInput(f, e);
          }
          throw e;
        }
      }
      let labels = labelsOf(ref);
      if (!labels) {
        for (const f of inputs) {
          if (!fileLabels && f.refs.includes(ref)) fileLabels = await f.labels();
        }
        labels = fileLabels?.get(ref);
      }
      if (!labels) continue; // a series whose definition was lost: nothing to name it by
      const changed = change !== undefined && (only === undefined || only.has(ref));
      const byTime = [...parts].sort((a, b) => a.f.meta.lo - b.f.meta.lo);
      let chunks: Uint8Array[];
      if (!changed && disjoint(byTime)) {
        // Inputs that follow each other in time: their chunks are copied, not decoded.
        chunks = byTime.flatMap((p) => p.chunks);
      } else {
        let old: HistogramSamples | undefined;
        for (const p of parts) {
          const run = concatRuns(p.chunks.map((c) => decodeHistogramChunk(c)));
          old = old ? mergeRuns(old, run) : run;
        }
        const run = changed ? change(ref, old) : old!;
        if (run.t.length === 0) continue;
        chunks = runChunks(run);
      }
      series.push({ ref, labels, chunks });
    }
    const name = histFileName(id);
    const meta = { ...id, seq: this.#seq++ };
    await writeAtomic(this.#dir, name, encodeHistogramFile(meta, series));
    const r = await HistFileReader.open(this.#dir, name);
    const old = this.#files.get(name);
    this.#files.set(name, r);
    if (old) this.#retire(old);
    for (const f of inputs) {
      if (f.name === name) continue;
      this.#files.delete(f.name);
      await Deno.remove(joinPath(this.#dir, f.name)).catch(() => {});
      this.#retire(f);
    }
    if (inputs.some((f) => f.name !== name)) await fsyncDir(this.#dir);
  }

  /**
   * A file that failed its checks at open: its series that the series index
   * vouches for, with their intact chunks, are written back under its name
   * (a new write sequence) and served; the original goes to quarantine. A
   * version 1 file, one that an intact file covers (its data was merged
   * there), or one with nothing to recover is quarantined whole.
   */
  async #salvage(name: string, id: HistFileId | undefined, err: Error): Promise<void> {
    const labelsOf = this.#o.labelsOf;
    const path = joinPath(this.#dir, name);
    const merged = id && [...this.#files.values()].some((f) => covers(f, id.lo, id.hi));
    if (!id || !labelsOf || merged) return await this.#quarantineName(name, err);
    const got = salvageHistogramFile(await Deno.readFile(path), id, labelsOf);
    if (got.series.length === 0) return await this.#quarantineName(name, err);
    const qdir = this.#quarantineDir;
    try {
      await Deno.mkdir(qdir, { recursive: true });
      // A copy first: a crash before the rewrite finds the damaged file again.
      await Deno.copyFile(path, joinPath(qdir, name));
      await fsyncDir(qdir);
      const bytes = encodeHistogramFile({ ...id, seq: this.#seq++ }, got.series);
      await writeAtomic(this.#dir, name, bytes);
    } catch (e) {
      // No room for the copy or the rewrite (a full disk): set the file aside
      // whole (a rename needs no space) rather than keep Perch from starting.
      this.#o.log("warn", "damaged histogram file could not be salvaged", {
        file: name,
        error: String(e),
      });
      return await this.#quarantineName(name, err);
    }
    this.#files.set(name, await HistFileReader.open(this.#dir, name));
    this.counts.quarantined++;
    const lost = `${got.chunksLost} damaged chunks` +
      (got.seriesLost > 0 ? ` and ${got.seriesLost} series the index does not know` : "") +
      (got.stoppedAt !== undefined ? ` and everything after byte ${got.stoppedAt}` : "");
    this.#o.log("error", "damaged histogram file salvaged", {
      file: name,
      error: err.message,
      samples: got.samples,
      series: got.series.length,
      chunksLost: got.chunksLost,
      seriesLost: got.seriesLost,
    });
    this.#o.incidents.add({
      id: `hist_damaged:${name}`,
      kind: "block_damaged",
      file: `${HIST_DIR}/${name}`,
      quarantined: `quarantine/${HIST_DIR}/${name}`,
      message: `histogram file ${HIST_DIR}/${name} failed its checks (${err.message}); ` +
        `${got.samples} histograms of ${got.series.length} series are intact and served, ` +
        `${lost} are left out`,
      records: got.chunksLost,
    });
  }

  /** `<data dir>/quarantine/hist`. */
  get #quarantineDir(): string {
    return joinPath(this.#o.dataDir, QUARANTINE_DIR, HIST_DIR);
  }

  async #quarantine(f: HistFileReader, e: unknown): Promise<void> {
    if (this.#files.get(f.name) === f) this.#files.delete(f.name);
    this.#retire(f);
    await this.#quarantineName(f.name, e, f.samples);
    this.#o.onChange?.(f.minT, f.maxT);
  }

  async #quarantineName(name: string, e: unknown, samples?: number): Promise<void> {
    const qdir = this.#quarantineDir;
    await Deno.mkdir(qdir, { recursive: true });
    let bytes: number | undefined;
    try {
      bytes = (await Deno.stat(joinPath(this.#dir, name))).size;
    } catch { /* gone */ }
    await Deno.rename(joinPath(this.#dir, name), joinPath(qdir, name)).catch(() => {});
    await fsyncDir(this.#dir);
    this.counts.quarantined++;
    const why = e instanceof Error ? e.message : String(e);
    this.#o.log("error", "damaged histogram file quarantined", { file: name, error: why });
    this.#o.incidents.add({
      id: `hist_quarantined:${name}`,
      kind: "block_quarantined",
      file: `${HIST_DIR}/${name}`,
      quarantined: `quarantine/${HIST_DIR}/${name}`,
      message: `histogram file ${HIST_DIR}/${name} failed its checks (${why}) and was ` +
        "quarantined; its native histograms are not served",
      ...(samples !== undefined ? { samples } : {}),
      ...(bytes !== undefined ? { bytes } : {}),
    });
  }
}

/** A rewrite met a damaged input file. */
class DamagedInput extends Error {
  constructor(readonly file: HistFileReader, override readonly cause: Error) {
    super(`damaged histogram file ${file.name}: ${cause.message}`);
  }
}

/** Whether the parts (ascending by start) lie in disjoint file ranges. */
function disjoint(parts: readonly { f: HistFileReader }[]): boolean {
  for (let k = 1; k < parts.length; k++) {
    if (parts[k]!.f.meta.lo < parts[k - 1]!.f.meta.hi) return false;
  }
  return true;
}
