/**
 * The durable late-sample log of remote write, and the per-endpoint cursor,
 * both in Deno KV (see README.md, "Late samples").
 *
 * KV keys (prefix `remote`):
 *
 * ```
 * ["remote", "cursor", <endpoint>]        -> { t, lateSeq }    (Cursor)
 * ["remote", "late", <endpoint>, <seq>]   -> LateEntry         (seq: ascending integer)
 * ```
 *
 * Values are stored with Deno KV's structured serialization, which keeps
 * typed arrays byte for byte: NaN payloads (the staleness marker) survive.
 *
 * @module
 */
import type { Labels, NativeHistogram } from "../model/mod.ts";

/** Top-level KV key prefix of everything remote write keeps. */
export const REMOTE_KV_PREFIX = "remote";

/** Where an endpoint stands; persisted after each successful send. */
export interface Cursor {
  /** Every sample of storage with a timestamp <= t was sent (or skipped and counted). */
  readonly t: number;
  /** Every late-log entry with a sequence <= lateSeq was sent. */
  readonly lateSeq: number;
}

/**
 * Samples appended behind an endpoint's cursor, column-wise; or, when the
 * log is over its budget, only the time range they span (`range`, inclusive;
 * the columns are empty): that range of storage is read and sent again.
 */
export interface LateEntry {
  readonly range?: { readonly lo: number; readonly hi: number };
  /** Series, flat label pairs `[name0, value0, ...]` each. */
  readonly series: string[][];
  /** Series index of each sample. */
  readonly refs: Uint32Array;
  readonly t: Float64Array;
  readonly v: Float64Array;
  /** Native histogram samples: their indexes in the columns (`v` is 0 there) and values. */
  readonly hIndex?: Uint32Array;
  readonly h?: NativeHistogram[];
}

// Deno KV values are limited to 64 KiB; stay well below.
const MAX_ENTRY_BYTES = 48 * 1024;

/** A range entry: storage in [lo, hi] is sent again (see {@linkcode LateEntry}). */
export function lateRangeEntry(lo: number, hi: number): LateEntry {
  return {
    range: { lo, hi },
    series: [],
    refs: new Uint32Array(0),
    t: new Float64Array(0),
    v: new Float64Array(0),
  };
}

/** Approximate serialized size of a native histogram in a late entry, in bytes. */
function histogramBytes(h: NativeHistogram): number {
  return 160 + 10 * (h.positiveBuckets.length + h.negativeBuckets.length) +
    24 * (h.positiveSpans.length + h.negativeSpans.length) + 10 * (h.customValues?.length ?? 0);
}

/** Approximate serialized size of an entry in bytes. */
export function lateEntryBytes(e: LateEntry): number {
  let n = 64 + e.refs.length * 20;
  for (const s of e.series) for (const x of s) n += x.length + 4;
  for (const h of e.h ?? []) n += histogramBytes(h);
  return n;
}

/** Builds late entries from samples, split to fit a KV value. */
export function buildLateEntries(
  samples: readonly { labels: Labels; t: number; v: number; h?: NativeHistogram }[],
): LateEntry[] {
  const out: LateEntry[] = [];
  let i = 0;
  while (i < samples.length) {
    const series: string[][] = [];
    const index = new Map<Labels, number>();
    const refs: number[] = [], ts: number[] = [];
    const vs = new Float64Array(samples.length - i);
    const hIndex: number[] = [], hs: NativeHistogram[] = [];
    let bytes = 64;
    let k = 0;
    for (; i < samples.length; i++) {
      const s = samples[i]!;
      let ref = index.get(s.labels);
      let add = 20 + (s.h ? histogramBytes(s.h) : 0);
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
      if (s.h) hIndex.push(k), hs.push(s.h);
      vs[k++] = s.v;
    }
    out.push({
      series,
      refs: Uint32Array.from(refs),
      t: Float64Array.from(ts),
      v: vs.slice(0, k),
      ...(hs.length > 0 ? { hIndex: Uint32Array.from(hIndex), h: hs } : {}),
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

// One KV commit holds at most 800 KiB and 1000 mutations; stay well below.
const MAX_COMMIT_BYTES = 512 * 1024;
const MAX_COMMIT_MUTATIONS = 500;

/**
 * KV access for cursors and late logs of every endpoint.
 *
 * Sequences only grow, across restarts too: a new entry's sequence is above
 * both the highest entry in KV and the cursor's `lateSeq` (entries at or
 * below `lateSeq` count as sent, so reusing one would lose the entry).
 *
 * Entries can be **held**: written before storage has answered the append
 * they belong to, and not read for sending until released (then kept,
 * filtered to what storage accepted, or deleted). Reads stop at the oldest
 * held entry, so the log is sent in sequence order.
 */
export class RemoteStore {
  readonly #kv: Deno.Kv;
  readonly #nextSeq = new Map<string, number>();
  readonly #loading = new Map<string, Promise<void>>();
  readonly #bytes = new Map<string, number>();
  readonly #samples = new Map<string, number>();
  readonly #held = new Map<string, Set<number>>();

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

  /** Loads the sequence and size of an endpoint's late log (once; later calls wait for it). */
  load(endpoint: string): Promise<void> {
    let p = this.#loading.get(endpoint);
    if (!p) {
      p = this.#load(endpoint);
      this.#loading.set(endpoint, p);
      p.catch(() => this.#loading.delete(endpoint));
    }
    return p;
  }

  async #load(endpoint: string): Promise<void> {
    let last = (await this.cursor(endpoint))?.lateSeq ?? 0;
    let bytes = 0, samples = 0;
    for await (
      const e of this.#kv.list<LateEntry>({ prefix: [REMOTE_KV_PREFIX, "late", endpoint] })
    ) {
      last = Math.max(last, e.key[3] as number);
      bytes += lateEntryBytes(e.value);
      samples += e.value.t.length;
    }
    this.#nextSeq.set(endpoint, Math.max(this.#nextSeq.get(endpoint) ?? 0, last + 1));
    this.#bytes.set(endpoint, bytes);
    this.#samples.set(endpoint, samples);
  }

  /** Bytes held by an endpoint's late log. */
  lateBytes(endpoint: string): number {
    return this.#bytes.get(endpoint) ?? 0;
  }

  /** Samples in an endpoint's late log (not yet sent). */
  lateSamples(endpoint: string): number {
    return this.#samples.get(endpoint) ?? 0;
  }

  /**
   * Appends entries to an endpoint's late log durably (several commits when
   * they do not fit in one); returns their sequences. With `hold`, the
   * entries are not read for sending until {@linkcode release}.
   */
  async appendLate(
    endpoint: string,
    entries: readonly LateEntry[],
    hold = false,
  ): Promise<number[]> {
    await this.load(endpoint);
    const seqs: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const seq = this.#nextSeq.get(endpoint)!;
      this.#nextSeq.set(endpoint, seq + 1);
      seqs.push(seq);
    }
    if (hold) {
      let held = this.#held.get(endpoint);
      if (!held) this.#held.set(endpoint, held = new Set());
      for (const s of seqs) held.add(s);
    }
    try {
      await this.#write(endpoint, seqs, entries);
    } catch (e) {
      if (hold) { for (const s of seqs) this.#held.get(endpoint)?.delete(s); }
      throw e;
    }
    return seqs;
  }

  /**
   * Ends the hold of entries written with `hold`: `entries` replaces them
   * (fewer or filtered entries; none deletes them all).
   */
  async release(
    endpoint: string,
    seqs: readonly number[],
    entries?: readonly LateEntry[],
  ): Promise<void> {
    try {
      if (entries) {
        const old = await Promise.all(
          seqs.map((s) => this.#kv.get<LateEntry>(lateKey(endpoint, s))),
        );
        for (const o of old) if (o.value) this.#count(endpoint, o.value, -1);
        const reuse = seqs.slice(0, entries.length);
        while (reuse.length < entries.length) {
          const seq = this.#nextSeq.get(endpoint)!;
          this.#nextSeq.set(endpoint, seq + 1);
          reuse.push(seq);
        }
        await this.#write(endpoint, reuse, entries);
        await this.#delete(endpoint, seqs.slice(entries.length));
      }
    } finally {
      const held = this.#held.get(endpoint);
      if (held) { for (const s of seqs) held.delete(s); }
    }
  }

  async #write(endpoint: string, seqs: readonly number[], entries: readonly LateEntry[]) {
    let op = this.#kv.atomic();
    let bytes = 0, n = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const b = lateEntryBytes(e);
      if (n > 0 && (bytes + b > MAX_COMMIT_BYTES || n >= MAX_COMMIT_MUTATIONS)) {
        await op.commit();
        op = this.#kv.atomic();
        bytes = n = 0;
      }
      op = op.set(lateKey(endpoint, seqs[i]!), e);
      bytes += b;
      n++;
      this.#count(endpoint, e, 1);
    }
    if (n > 0) await op.commit();
  }

  #count(endpoint: string, e: LateEntry, sign: 1 | -1): void {
    this.#bytes.set(endpoint, Math.max(0, this.lateBytes(endpoint) + sign * lateEntryBytes(e)));
    this.#samples.set(endpoint, Math.max(0, this.lateSamples(endpoint) + sign * e.t.length));
  }

  /**
   * Entries of an endpoint with a sequence > `after`, oldest first, at most
   * `limit`, stopping before the oldest held entry.
   */
  async readLate(
    endpoint: string,
    after: number,
    limit: number,
  ): Promise<{ seq: number; entry: LateEntry }[]> {
    let end = Number.MAX_SAFE_INTEGER;
    for (const s of this.#held.get(endpoint) ?? []) if (s < end) end = s;
    if (end <= after + 1) return [];
    const out: { seq: number; entry: LateEntry }[] = [];
    const iter = this.#kv.list<LateEntry>({
      start: lateKey(endpoint, after + 1),
      end: [REMOTE_KV_PREFIX, "late", endpoint, end],
    }, { limit });
    for await (const e of iter) out.push({ seq: e.key[3] as number, entry: e.value });
    return out;
  }

  /** Rewrites one entry (progress through a range entry). */
  async updateLate(endpoint: string, seq: number, entry: LateEntry): Promise<void> {
    await this.#kv.set(lateKey(endpoint, seq), entry);
  }

  /** Deletes the listed entries of an endpoint. */
  async deleteLate(endpoint: string, items: readonly { seq: number; entry: LateEntry }[]) {
    await this.#delete(endpoint, items.map((it) => it.seq));
    for (const it of items) this.#count(endpoint, it.entry, -1);
  }

  async #delete(endpoint: string, seqs: readonly number[]): Promise<void> {
    for (let i = 0; i < seqs.length; i += MAX_COMMIT_MUTATIONS) {
      let op = this.#kv.atomic();
      for (const s of seqs.slice(i, i + MAX_COMMIT_MUTATIONS)) op = op.delete(lateKey(endpoint, s));
      await op.commit();
    }
  }

  /**
   * Moves the cursor of each listed endpoint back to `t` (keeping its late
   * log, whose samples after `t` are then read from storage again): a
   * conservative rebuild that re-sends rather than skips. For a remote.kv
   * that was lost or damaged, use the oldest sample in storage minus 1.
   */
  async rewind(endpoints: readonly string[], t: number): Promise<void> {
    for (const name of endpoints) {
      const c = await this.cursor(name);
      const lateSeq = c?.lateSeq ?? 0;
      if (c && c.t <= t) continue;
      await this.setCursor(name, { t, lateSeq });
    }
  }

  /** Removes everything of an endpoint (cursor and late log). */
  async forget(endpoint: string): Promise<void> {
    await this.#kv.delete(cursorKey(endpoint));
    const keys: Deno.KvKey[] = [];
    for await (const e of this.#kv.list({ prefix: [REMOTE_KV_PREFIX, "late", endpoint] })) {
      keys.push(e.key);
    }
    for (let i = 0; i < keys.length; i += MAX_COMMIT_MUTATIONS) {
      let op = this.#kv.atomic();
      for (const k of keys.slice(i, i + MAX_COMMIT_MUTATIONS)) op = op.delete(k);
      await op.commit();
    }
    this.#bytes.delete(endpoint);
    this.#samples.delete(endpoint);
    this.#loading.delete(endpoint);
    // Sequences keep growing: the cursor is gone, but a stale reader must
    // never see a reused number.
  }
}
