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
import { chunkMeta, decodeChunkInto } from "./chunk.ts";
import { BlockFileWriter, type BlockMeta, BlockReader } from "./block.ts";
import { mergeSamples, type Samples } from "./head.ts";

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
}

/** Blocks `inputs` (ascending seq: later wins) merged into block `seq`. */
export interface CompactJob {
  kind: "compact";
  id: number;
  dir: string;
  seq: number;
  level: number;
  inputs: number[];
}

/** A job for the block worker. */
export type BlockJob = FlushJob | CompactJob;

/** The answer to a {@linkcode BlockJob}. */
export type BlockJobResult =
  | { id: number; ok: true; meta: BlockMeta }
  | { id: number; ok: false; message: string; noSpace: boolean };

/** True when an error means the disk is full (ENOSPC). */
export function isNoSpace(e: unknown): boolean {
  const s = e instanceof Error
    ? `${e.name} ${e.message} ${(e as { code?: string }).code}`
    : String(e);
  return /ENOSPC|os error 28|No space left/i.test(s);
}

let scratchT = new Float64Array(4096);
let scratchV = new Float64Array(4096);

async function runFlush(job: FlushJob): Promise<BlockMeta> {
  const w = await BlockFileWriter.create(job.dir, job.seq, 0);
  try {
    const offs = new Uint32Array(job.chunkLen.length + 1);
    for (let i = 0; i < job.chunkLen.length; i++) offs[i + 1] = offs[i] + job.chunkLen[i];
    for (let i = 0; i < job.refs.length; i++) {
      let n = 0;
      const chunks: Uint8Array[] = [];
      for (let c = job.chunkStart[i]; c < job.chunkStart[i + 1]; c++) {
        const ch = job.data.subarray(offs[c], offs[c + 1]);
        chunks.push(ch);
        n += chunkMeta(ch).count;
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

/** Runs one job; used by the worker and inline. */
export async function runBlockJob(job: BlockJob): Promise<BlockJobResult> {
  try {
    const meta = job.kind === "flush" ? await runFlush(job) : await runCompact(job);
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

/** Sends block jobs to one worker (or runs them inline). */
export class BlockWriter {
  #worker: Worker | undefined;
  #next = 1;
  #waiting = new Map<number, (r: BlockJobResult) => void>();

  constructor(useWorker = true) {
    if (useWorker) {
      this.#worker = new Worker(new URL("./block_worker.ts", import.meta.url), { type: "module" });
      this.#worker.onmessage = (e: MessageEvent<BlockJobResult>) => {
        const done = this.#waiting.get(e.data.id);
        this.#waiting.delete(e.data.id);
        done?.(e.data);
      };
      this.#worker.onerror = (e) => {
        e.preventDefault();
        for (const [id, done] of this.#waiting) {
          done({ id, ok: false, message: `block worker failed: ${e.message}`, noSpace: false });
        }
        this.#waiting.clear();
      };
    }
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
    let res: BlockJobResult;
    const w = this.#worker;
    if (w) {
      res = await new Promise<BlockJobResult>((resolve) => {
        this.#waiting.set(job.id, resolve);
        w.postMessage(job, transfer);
      });
    } else {
      res = await runBlockJob(job);
    }
    if (!res.ok) throw new BlockWriteError(res.message, res.noSpace);
    return res.meta;
  }

  /** Stops the worker; await pending jobs first. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}
