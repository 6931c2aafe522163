/**
 * Block writing off the main thread. {@linkcode BlockWriter} sends jobs to a
 * Web Worker (`block_worker.ts`) that builds block files, so ingestion keeps
 * flowing:
 *
 * - flush: head chunks of one window (already encoded, so little crosses the
 *   thread boundary), decoded and re-cut into block chunks;
 * - compact: several blocks merged into one, series by series, newer blocks
 *   winning on equal timestamps.
 *
 * With `useWorker: false` the same jobs run inline.
 *
 * @module
 */
import { chunkSampleCount, decodeChunkInto } from "./chunk.ts";
import { isNoSpace } from "./_no_space.ts";
import { type BlockMeta, BlockReader } from "./block.ts";
import { BlockFileWriter, type LabelsBlob } from "./block_file_writer.ts";
import { mergeSamples, type Samples } from "./head.ts";
import {
  AGG,
  AGG_SLOTS,
  aggRef,
  downsampleSeries,
  type DownsampleSource,
  mergeIntoTier,
  type SeriesAggregates,
} from "./downsample.ts";

/** Head chunks of one window: series i owns chunks [chunkStart[i], chunkStart[i+1]). */
export interface FlushJob {
  kind: "flush";
  id: number;
  dir: string;
  seq: number;
  refs: Uint32Array;
  chunkStart: Uint32Array;
  chunkLen: Uint32Array;
  data: Uint8Array;
  /** Labels of the series, for the block's labels table (set by {@linkcode BlockWriter}). */
  labels?: LabelsBlob;
}

/** Blocks `inputs` (ascending seq: later wins) merged into block `seq`. */
export interface CompactJob {
  kind: "compact";
  id: number;
  dir: string;
  seq: number;
  level: number;
  inputs: number[];
  /** Labels of the series, for the block's labels table (set by {@linkcode BlockWriter}). */
  labels?: LabelsBlob;
}

/**
 * Block `input` (raw, or a finer tier) rewritten at `resolution` ms into
 * block `seq`; `counters` lists the series refs (ascending) that get the
 * counter aggregate. `merge` lists downsampled blocks that already cover
 * part of the input's time: their aggregates and the input are merged into
 * the one output (late data into a downsampled window, see
 * {@linkcode mergeIntoTier}).
 */
export interface DownsampleJob {
  kind: "downsample";
  id: number;
  dir: string;
  seq: number;
  level: number;
  input: number;
  resolution: number;
  counters: Uint32Array;
  merge?: number[];
  /** Labels of the series, for the block's labels table (set by {@linkcode BlockWriter}). */
  labels?: LabelsBlob;
}

/** A job for the block worker. */
export type BlockJob = FlushJob | CompactJob | DownsampleJob;

/** The answer to a {@linkcode BlockJob}. */
export type BlockJobResult =
  | { id: number; ok: true; meta: BlockMeta }
  | { id: number; ok: false; message: string; noSpace: boolean };

let scratchT = new Float64Array(4096);
let scratchV = new Float64Array(4096);

async function runFlush(job: FlushJob): Promise<BlockMeta> {
  const w = await BlockFileWriter.create(job.dir, job.seq, 0);
  if (job.labels) w.setLabels(job.labels);
  try {
    const offs = new Uint32Array(job.chunkLen.length + 1);
    for (let i = 0; i < job.chunkLen.length; i++) offs[i + 1] = offs[i] + job.chunkLen[i];
    for (let i = 0; i < job.refs.length; i++) {
      let n = 0;
      const chunks: Uint8Array[] = [];
      for (let c = job.chunkStart[i]; c < job.chunkStart[i + 1]; c++) {
        const ch = job.data.subarray(offs[c], offs[c + 1]);
        chunks.push(ch);
        // The decode below verifies each chunk.
        n += chunkSampleCount(ch);
      }
      if (n > scratchT.length) {
        scratchT = new Float64Array(n * 2);
        scratchV = new Float64Array(n * 2);
      }
      let p = 0;
      for (const ch of chunks) p += decodeChunkInto(ch, scratchT, scratchV, p);
      await w.add(job.refs[i], scratchT, scratchV, 0, p);
    }
    return await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

async function runCompact(job: CompactJob): Promise<BlockMeta> {
  const readers: BlockReader[] = [];
  let w: BlockFileWriter | undefined;
  try {
    for (const seq of job.inputs) readers.push(await BlockReader.open(job.dir, seq));
    const all = new Set<number>();
    for (const r of readers) for (const ref of r.refs) all.add(ref);
    const refs = [...all].sort((a, b) => a - b);
    w = await BlockFileWriter.create(job.dir, job.seq, job.level);
    if (job.labels) w.setLabels(job.labels);
    // Bound memory: read a batch of series at a time from every input.
    const perSeries = readers.reduce((n, r) => n + r.meta.samples / Math.max(1, r.meta.series), 0);
    const batch = Math.max(1, Math.floor(400_000 / Math.max(1, perSeries)));
    for (let i = 0; i < refs.length; i += batch) {
      const part = refs.slice(i, i + batch);
      const got: Map<number, Samples>[] = [];
      for (const r of readers) got.push(await r.read(part, -Infinity, Infinity));
      for (const ref of part) {
        let m: Samples = { t: new Float64Array(0), v: new Float64Array(0) };
        for (const g of got) {
          const s = g.get(ref);
          if (s) m = mergeSamples(m, s);
        }
        await w.add(ref, m.t, m.v);
      }
    }
    return await w.finish();
  } catch (e) {
    await w?.abort();
    throw e;
  } finally {
    for (const r of readers) await r.close();
  }
}

/** Aggregates of `ref` in a downsampled block's read result, or undefined. */
function tierParts(got: Map<number, Samples>, ref: number): Map<number, Samples> | undefined {
  let parts: Map<number, Samples> | undefined;
  for (const a of ALL_AGGS) {
    const x = got.get(aggRef(ref, a));
    if (x) (parts ??= new Map()).set(a, x);
  }
  return parts;
}

async function runDownsample(job: DownsampleJob): Promise<BlockMeta> {
  const r = await BlockReader.open(job.dir, job.input);
  const into: BlockReader[] = [];
  let w: BlockFileWriter | undefined;
  try {
    for (const seq of job.merge ?? []) into.push(await BlockReader.open(job.dir, seq));
    const fromTier = (r.meta.resolution ?? 0) > 0;
    // Series refs of the inputs (pseudo-refs of a tier map back to ref / 8).
    const all = new Set<number>();
    for (const x of r.refs) all.add(fromTier ? Math.floor(x / AGG_SLOTS) : x);
    for (const m of into) for (const x of m.refs) all.add(Math.floor(x / AGG_SLOTS));
    const refs = [...all].sort((a, b) => a - b);
    const counters = new Set(job.counters);
    const level = Math.max(job.level, ...into.map((m) => m.meta.level));
    w = await BlockFileWriter.create(job.dir, job.seq, level, undefined, job.resolution);
    if (job.labels) w.setLabels(job.labels);
    const batch = 256;
    for (let i = 0; i < refs.length; i += batch) {
      const part = refs.slice(i, i + batch);
      const aggs = part.flatMap((ref) => ALL_AGGS.map((a) => aggRef(ref, a)));
      const got = await r.read(fromTier ? aggs : part, -Infinity, Infinity);
      const old: Map<number, Samples>[] = [];
      for (const m of into) old.push(await m.read(aggs, -Infinity, Infinity));
      for (const ref of part) {
        const counter = counters.has(ref);
        let src: DownsampleSource | undefined;
        if (fromTier) {
          const parts = tierParts(got, ref);
          if (parts) src = { kind: "agg", parts };
        } else {
          const x = got.get(ref);
          if (x) src = { kind: "raw", s: x };
        }
        // Existing aggregates of this series, oldest block first.
        let tier: Map<number, Samples> | undefined;
        for (const g of old) {
          const p = tierParts(g, ref);
          if (!p) continue;
          tier = tier
            ? mergeIntoTier(tier, { kind: "agg", parts: p }, job.resolution, counter).parts
            : p;
        }
        let out: SeriesAggregates;
        if (tier && src) out = mergeIntoTier(tier, src, job.resolution, counter);
        else if (tier) {
          out = downsampleSeries({ kind: "agg", parts: tier }, job.resolution, counter);
        } else if (src) out = downsampleSeries(src, job.resolution, counter);
        else continue;
        for (const a of ALL_AGGS) {
          const x = out.parts.get(a);
          if (x) await w.add(aggRef(ref, a), x.t, x.v);
        }
      }
    }
    return await w.finish();
  } catch (e) {
    await w?.abort();
    throw e;
  } finally {
    await r.close();
    for (const m of into) await m.close();
  }
}

const ALL_AGGS = Object.values(AGG).sort((a, b) => a - b);

/** Runs one job; used by the worker and inline. */
export async function runBlockJob(job: BlockJob): Promise<BlockJobResult> {
  try {
    const meta = job.kind === "flush"
      ? await runFlush(job)
      : job.kind === "compact"
      ? await runCompact(job)
      : await runDownsample(job);
    return { id: job.id, ok: true, meta };
  } catch (e) {
    return {
      id: job.id,
      ok: false,
      message: e instanceof Error ? e.message : String(e),
      noSpace: isNoSpace(e),
    };
  }
}

/** Thrown when a block cannot be written; `noSpace` tells a full disk. */
export class BlockWriteError extends Error {
  constructor(message: string, readonly noSpace: boolean) {
    super(message);
    this.name = "BlockWriteError";
  }
}

/** Head chunks of one series, for {@linkcode BlockWriter.flush}. */
export interface SeriesChunks {
  ref: number;
  chunks: Uint8Array[];
}

/**
 * A reason when `url` is a file URL of a file that does not exist (checked
 * first so Deno does not print an uncaught worker error), else undefined.
 */
function moduleMissing(url: string | URL): string | undefined {
  const u = new URL(url);
  if (u.protocol !== "file:") return undefined;
  try {
    Deno.statSync(u);
    return undefined;
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? `module ${u.href} not found` : undefined;
  }
}

/** The message a block worker posts once its modules have loaded. */
export const WORKER_READY = "perch-block-worker-ready";

/** Options of {@linkcode BlockWriter}. */
export interface BlockWriterOptions {
  /** Run jobs in a Web Worker; false runs them inline. @default true */
  useWorker?: boolean;
  /** Module of the worker. @default `./block_worker.ts` beside this file */
  workerUrl?: string | URL;
  /** A worker that has not said it is ready by then is given up on. @default 10000 */
  readyTimeoutMs?: number;
  /**
   * An idle worker is stopped after this long (its heap freed) and restarted
   * on demand; 0 = never. A flush and the compactions it leads to follow one
   * another within this; a worker start costs some 50 ms of CPU, a worker
   * kept idle some 25 MiB of resident memory. @default 5000
   */
  idleMs?: number;
  /**
   * Labels of `refs` (all series when undefined) for blocks' labels tables;
   * without it blocks are written with an empty labels table.
   */
  labels?: (refs?: Uint32Array) => LabelsBlob;
  /** Receives the one warning when the writer falls back to inline jobs. */
  log?: (level: "warn" | "info", msg: string, fields: Record<string, unknown>) => void;
}

/**
 * Sends block jobs to one worker, or runs them inline.
 *
 * The worker is started on the first job and must post
 * {@linkcode WORKER_READY} within `readyTimeoutMs`. When it cannot be
 * created, fails to load its module (a single-file build without
 * `block_worker.ts` beside it) or stays silent, the writer logs one warning
 * and runs this and every later job inline on the calling thread. An idle
 * worker is terminated after `idleMs` so its heap does not stay resident.
 */
export class BlockWriter {
  readonly #url: string | URL;
  readonly #readyTimeout: number;
  readonly #idleMs: number;
  readonly #log: BlockWriterOptions["log"];
  readonly #labels: BlockWriterOptions["labels"];
  #inline: boolean;
  #worker: Worker | undefined;
  #ready: Promise<Worker | undefined> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #next = 1;
  #waiting = new Map<number, (r: BlockJobResult) => void>();
  #starts = 0;
  #closed = false;

  /** `opts` may be a boolean (the former `useWorker` argument). */
  constructor(opts: boolean | BlockWriterOptions = true) {
    const o = typeof opts === "boolean" ? { useWorker: opts } : opts;
    this.#inline = !(o.useWorker ?? true);
    this.#url = o.workerUrl ?? new URL("./block_worker.ts", import.meta.url);
    this.#readyTimeout = o.readyTimeoutMs ?? 10_000;
    this.#idleMs = o.idleMs ?? 5_000;
    this.#log = o.log;
    this.#labels = o.labels;
  }

  /** How jobs run now: "worker" (running or startable) or "inline" (after a fallback). */
  get mode(): "worker" | "inline" {
    return this.#inline ? "inline" : "worker";
  }

  /** True while a worker (and its heap) exists. */
  get workerRunning(): boolean {
    return this.#worker !== undefined;
  }

  /** How many times a worker was started. */
  get workerStarts(): number {
    return this.#starts;
  }

  #fallBack(reason: string): undefined {
    this.#stopWorker();
    if (!this.#inline) {
      this.#inline = true;
      this.#log?.("warn", "block worker unavailable, writing blocks on the main thread", {
        reason,
        worker: String(this.#url),
      });
    }
    return undefined;
  }

  #stopWorker(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = undefined;
  }

  /** The ready worker, starting one when needed; undefined means run inline. */
  #getWorker(): Promise<Worker | undefined> {
    if (this.#inline || this.#closed) return Promise.resolve(undefined);
    if (this.#ready) return this.#ready;
    const missing = moduleMissing(this.#url);
    if (missing) return Promise.resolve(this.#fallBack(missing));
    let w: Worker;
    try {
      w = new Worker(this.#url, { type: "module" });
    } catch (e) {
      return Promise.resolve(this.#fallBack(e instanceof Error ? e.message : String(e)));
    }
    this.#starts++;
    this.#worker = w;
    const ready = new Promise<Worker | undefined>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        resolve(this.#fallBack(`no ready message within ${this.#readyTimeout} ms`));
      }, this.#readyTimeout);
      w.onmessage = (e: MessageEvent<BlockJobResult | typeof WORKER_READY>) => {
        if (e.data === WORKER_READY) {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(w);
          return;
        }
        const done = this.#waiting.get(e.data.id);
        this.#waiting.delete(e.data.id);
        done?.(e.data);
      };
      w.onerror = (e) => {
        e.preventDefault();
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(this.#fallBack(e.message ?? "worker error"));
          return;
        }
        // A crash after start: fail the jobs in flight; the next job starts a new worker.
        for (const [id, done] of this.#waiting) {
          done({ id, ok: false, message: `block worker failed: ${e.message}`, noSpace: false });
        }
        this.#waiting.clear();
        if (this.#worker === w) this.#stopWorker();
      };
    });
    this.#ready = ready;
    return ready;
  }

  /** Writes the head chunks of one window (series sorted by ref) as block `seq`. */
  flush(dir: string, seq: number, series: readonly SeriesChunks[]): Promise<BlockMeta> {
    const refs = new Uint32Array(series.length);
    const chunkStart = new Uint32Array(series.length + 1);
    let nChunks = 0, bytes = 0;
    for (let i = 0; i < series.length; i++) {
      refs[i] = series[i].ref;
      chunkStart[i] = nChunks;
      nChunks += series[i].chunks.length;
      for (const c of series[i].chunks) bytes += c.length;
    }
    chunkStart[series.length] = nChunks;
    const chunkLen = new Uint32Array(nChunks);
    const data = new Uint8Array(bytes);
    let k = 0, p = 0;
    for (const s of series) {
      for (const c of s.chunks) {
        chunkLen[k++] = c.length;
        data.set(c, p);
        p += c.length;
      }
    }
    const job: FlushJob = {
      kind: "flush",
      id: this.#next++,
      dir,
      seq,
      refs,
      chunkStart,
      chunkLen,
      data,
    };
    return this.#run(job, [refs.buffer, chunkStart.buffer, chunkLen.buffer, data.buffer]);
  }

  /** Merges blocks `inputs` (ascending seq) into block `seq`. */
  compact(dir: string, seq: number, level: number, inputs: number[]): Promise<BlockMeta> {
    return this.#run({ kind: "compact", id: this.#next++, dir, seq, level, inputs }, []);
  }

  async #run(job: BlockJob, transfer: ArrayBuffer[]): Promise<BlockMeta> {
    if (!job.labels && this.#labels) {
      job.labels = this.#labels(job.kind === "flush" ? job.refs : undefined);
      transfer = [
        ...transfer,
        job.labels.refs.buffer as ArrayBuffer,
        job.labels.off.buffer as ArrayBuffer,
        job.labels.data.buffer as ArrayBuffer,
      ];
    }
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const w = await this.#getWorker();
    let res: BlockJobResult;
    if (w) {
      res = await new Promise<BlockJobResult>((resolve) => {
        this.#waiting.set(job.id, resolve);
        w.postMessage(job, transfer);
      });
      this.#armIdle();
    } else {
      res = await runBlockJob(job);
    }
    if (!res.ok) throw new BlockWriteError(res.message, res.noSpace);
    return res.meta;
  }

  #armIdle(): void {
    if (this.#idleMs <= 0 || this.#waiting.size > 0 || !this.#worker) return;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#waiting.size === 0) this.#stopWorker();
    }, this.#idleMs);
    Deno.unrefTimer(this.#idleTimer as unknown as number);
  }

  /**
   * Rewrites block `input` at `resolution` ms as block `seq`, merged with
   * the downsampled blocks `merge` (ascending seq) when given.
   */
  downsample(
    dir: string,
    seq: number,
    level: number,
    input: number,
    resolution: number,
    counters: Uint32Array,
    merge: number[] = [],
  ): Promise<BlockMeta> {
    const job: DownsampleJob = {
      kind: "downsample",
      id: this.#next++,
      dir,
      seq,
      level,
      input,
      resolution,
      counters,
      merge,
    };
    return this.#run(job, [counters.buffer as ArrayBuffer]);
  }

  /** Stops the worker; await pending jobs first. */
  close(): void {
    this.#closed = true;
    this.#stopWorker();
  }
}
