/**
 * The durable late-sample log of remote write, and the per-endpoint cursor,
 * both in Deno KV (see README.md, "Late samples").
 *
 * KV keys (prefix `remote`):
 *
 * ```
 * ["remote", "cursor", <endpoint>]        → { t, lateSeq }    (Cursor)
 * ["remote", "late", <endpoint>, <seq>]   → LateEntry         (seq: ascending integer)
 * ```
 *
 * Values are stored with Deno KV's structured serialization, which keeps
 * typed arrays byte for byte: NaN payloads (the staleness marker) survive.
 *
 * @module
 */
import type { Labels } from "../model/labels.ts";

/** Top-level KV key prefix of everything remote write keeps. */
export const REMOTE_KV_PREFIX = "remote";

/** Where an endpoint stands; persisted after each successful send. */
export interface Cursor {
  /** Every sample of storage with a timestamp ≤ t was sent (or skipped and counted). */
  readonly t: number;
  /** Every late-log entry with a sequence ≤ lateSeq was sent. */
  readonly lateSeq: number;
}

/** Samples appended behind an endpoint's cursor, column-wise. */
export interface LateEntry {
  /** Series, flat label pairs `[name0, value0, …]` each. */
  readonly series: string[][];
  /** Series index of each sample. */
  readonly refs: Uint32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
}

// Deno KV values are limited to 64 KiB; stay well below.
const MAX_ENTRY_BYTES = 48 * 1024;

/** Approximate serialized size of an entry in bytes. */
export function lateEntryBytes(e: LateEntry): number {
  let n = 64 + e.refs.length * 20;
  for (const s of e.series) for (const x of s) n += x.length + 4;
  return n;
}

/** Builds late entries from samples, split to fit a KV value. */
export function buildLateEntries(
  samples: readonly { labels: Labels; t: number; v: number }[],
): LateEntry[] {
  const out: LateEntry[] = [];
  let i = 0;
  while (i < samples.length) {
    const series: string[][] = [];
    const index = new Map<Labels, number>();
    const refs: number[] = [], ts: number[] = [];
    const vs = new Float64Array(samples.length - i);
    let bytes = 64;
    let k = 0;
    for (; i < samples.length; i++) {
      const s = samples[i]!;
      let ref = index.get(s.labels);
      let add = 20;
      if (ref === undefined) {
        for (const l of s.labels) add += l.name.length + l.value.length + 8;
      }
      if (k > 0 && bytes + add > MAX_ENTRY_BYTES) break;
      if (ref === undefined) {
        ref = series.length;
        index.set(s.labels, ref);
        series.push(s.labels.flatMap((l) => [l.name, l.value]));
      }
      bytes += add;
      refs.push(ref);
      ts.push(s.t);
      vs[k++] = s.v;
    }
    out.push({
      series,
      refs: Uint32Array.from(refs),
      t: Float64Array.from(ts),
      v: vs.slice(0, k),
    });
  }
  return out;
}

function cursorKey(endpoint: string): Deno.KvKey {
  return [REMOTE_KV_PREFIX, "cursor", endpoint];
}
function lateKey(endpoint: string, seq: number): Deno.KvKey {
  return [REMOTE_KV_PREFIX, "late", endpoint, seq];
}

/** KV access for cursors and late logs of every endpoint. */
export class RemoteStore {
  readonly #kv: Deno.Kv;
  readonly #nextSeq = new Map<string, number>();
  readonly #bytes = new Map<string, number>();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** The persisted cursor of an endpoint, or undefined for a new one. */
  async cursor(endpoint: string): Promise<Cursor | undefined> {
    return (await this.#kv.get<Cursor>(cursorKey(endpoint))).value ?? undefined;
  }

  /** Persists an endpoint's cursor. */
  async setCursor(endpoint: string, c: Cursor): Promise<void> {
    await this.#kv.set(cursorKey(endpoint), c);
  }

  /** Loads the sequence and size of an endpoint's late log (call once per endpoint). */
  async load(endpoint: string): Promise<void> {
    let last = 0, bytes = 0;
    for await (
      const e of this.#kv.list<LateEntry>({ prefix: [REMOTE_KV_PREFIX, "late", endpoint] })
    ) {
      last = e.key[3] as number;
      bytes += lateEntryBytes(e.value);
    }
    this.#nextSeq.set(endpoint, last + 1);
    this.#bytes.set(endpoint, bytes);
  }

  /** Bytes held by an endpoint's late log. */
  lateBytes(endpoint: string): number {
    return this.#bytes.get(endpoint) ?? 0;
  }

  /** Appends entries to an endpoint's late log durably; returns their sequences. */
  async appendLate(endpoint: string, entries: readonly LateEntry[]): Promise<number[]> {
    if (!this.#nextSeq.has(endpoint)) await this.load(endpoint);
    const seqs: number[] = [];
    let op = this.#kv.atomic();
    let bytes = 0;
    for (const e of entries) {
      const seq = this.#nextSeq.get(endpoint)!;
      this.#nextSeq.set(endpoint, seq + 1);
      op = op.set(lateKey(endpoint, seq), e);
      seqs.push(seq);
      bytes += lateEntryBytes(e);
    }
    await op.commit();
    this.#bytes.set(endpoint, this.lateBytes(endpoint) + bytes);
    return seqs;
  }

  /** Entries of an endpoint with a sequence > `after`, oldest first, at most `limit`. */
  async readLate(
    endpoint: string,
    after: number,
    limit: number,
  ): Promise<{ seq: number; entry: LateEntry }[]> {
    const out: { seq: number; entry: LateEntry }[] = [];
    const iter = this.#kv.list<LateEntry>({
      start: lateKey(endpoint, after + 1),
      end: [REMOTE_KV_PREFIX, "late", endpoint, Number.MAX_SAFE_INTEGER],
    }, { limit });
    for await (const e of iter) out.push({ seq: e.key[3] as number, entry: e.value });
    return out;
  }

  /** Deletes the listed entries of an endpoint. */
  async deleteLate(endpoint: string, items: readonly { seq: number; entry: LateEntry }[]) {
    for (let i = 0; i < items.length; i += 500) {
      let op = this.#kv.atomic();
      for (const it of items.slice(i, i + 500)) op = op.delete(lateKey(endpoint, it.seq));
      await op.commit();
    }
    let bytes = this.lateBytes(endpoint);
    for (const it of items) bytes -= lateEntryBytes(it.entry);
    this.#bytes.set(endpoint, Math.max(0, bytes));
  }

  /** Removes everything of an endpoint (cursor and late log). */
  async forget(endpoint: string): Promise<void> {
    await this.#kv.delete(cursorKey(endpoint));
    const keys: Deno.KvKey[] = [];
    for await (const e of this.#kv.list({ prefix: [REMOTE_KV_PREFIX, "late", endpoint] })) {
      keys.push(e.key);
    }
    for (let i = 0; i < keys.length; i += 500) {
      let op = this.#kv.atomic();
      for (const k of keys.slice(i, i + 500)) op = op.delete(k);
      await op.commit();
    }
    this.#bytes.delete(endpoint);
    this.#nextSeq.delete(endpoint);
  }
}
