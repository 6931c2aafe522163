/**
 * Test helpers: render parsed rows as short text lines so table tests read
 * like the input, and a seeded random generator for property tests.
 *
 * @module
 */
import {
  type Appender,
  type AppendResult,
  formatSeries,
  type MetricMetadata,
  type RejectedSample,
  type RejectReason,
  type SampleBatch,
} from "../model/mod.ts";
import { formatSampleValue } from "../selfmon/mod.ts";
import type { IngestStatsSink } from "./pipeline.ts";
import type { ParsedRows } from "./rows.ts";

/**
 * Renders rows as `name{k="v",...} value @t` per sample (labels in input
 * order) and `ERR <field>: <message>` per problem.
 */
export function renderRows(rows: ParsedRows): string[] {
  const out: string[] = [];
  for (let i = 0; i < rows.sampleCount; i++) {
    const j = rows.sampleSeries[i]!;
    const l = rows.seriesLabels[j]!;
    let s = rows.seriesName[j]!;
    if (l.length > 0) {
      const parts: string[] = [];
      for (let k = 0; k < l.length; k += 2) parts.push(`${l[k]}=${JSON.stringify(l[k + 1])}`);
      s += `{${parts.join(",")}}`;
    }
    out.push(`${s} ${formatSampleValue(rows.sampleV[i]!)} @${rows.sampleT[i]}`);
  }
  for (const e of rows.errors) out.push(`ERR ${e.field}: ${e.message}`);
  return out;
}

/** A small seeded PRNG (mulberry32); `next()` in [0, 1). */
export function seededRandom(seed: number): { next(): number; int(n: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

/**
 * Random text built from `alphabet` pieces and random characters, to fuzz
 * parsers: mostly syntax fragments, sometimes any UTF-16 unit.
 */
export function randomText(
  rnd: ReturnType<typeof seededRandom>,
  alphabet: readonly string[],
  maxPieces: number,
): string {
  let s = "";
  const n = rnd.int(maxPieces);
  for (let i = 0; i < n; i++) {
    if (rnd.next() < 0.1) s += String.fromCharCode(rnd.int(0x10000));
    else s += alphabet[rnd.int(alphabet.length)];
  }
  return s;
}

/**
 * An in-test Appender that records what it stores, as `name{...} v @t` text
 * with canonical labels. It can be told to fail (e.g. with
 * StorageFullError), to refuse some sample indexes, or to hold appends
 * until released (for backpressure tests).
 */
export class RecordingAppender implements Appender {
  readonly samples: string[] = [];
  readonly metadata = new Map<string, MetricMetadata>();
  batches = 0;
  failWith: Error | undefined;
  refuse: ((t: number, v: number) => RejectReason | undefined) | undefined;
  #hold: Promise<void> | undefined;
  #release: (() => void) | undefined;

  /** Makes appends wait until {@linkcode release} is called. */
  hold(): void {
    this.#hold = new Promise((r) => (this.#release = r));
  }

  /** Lets held appends finish. */
  release(): void {
    this.#release?.();
    this.#hold = undefined;
  }

  async append(batch: SampleBatch): Promise<AppendResult> {
    this.batches++;
    if (this.#hold) await this.#hold;
    if (this.failWith) throw this.failWith;
    const rejected: RejectedSample[] = [];
    for (let i = 0; i < batch.length; i++) {
      const t = batch.t(i), v = batch.v(i);
      const reason = this.refuse?.(t, v);
      if (reason) {
        rejected.push({ index: i, reason, message: `refused by test: ${reason}` });
        continue;
      }
      this.samples.push(`${formatSeries(batch.series[batch.ref(i)]!)} ${v} @${t}`);
    }
    return { accepted: batch.length - rejected.length, rejected };
  }

  setMetadata(name: string, meta: MetricMetadata): Promise<void> {
    this.metadata.set(name, meta);
    return Promise.resolve();
  }
}

/** A stats sink that sums counts by `protocol/outcome`. */
export function countingStats(): IngestStatsSink & { counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  return {
    counts,
    onAccepted(protocol, n) {
      counts[`${protocol}/accepted`] = (counts[`${protocol}/accepted`] ?? 0) + n;
    },
    onRejected(protocol, reason, n) {
      counts[`${protocol}/${reason}`] = (counts[`${protocol}/${reason}`] ?? 0) + n;
    },
  };
}
