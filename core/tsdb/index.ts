/**
 * Series index: ref <-> labels, persisted in Deno KV, with in-memory postings
 * (label pair -> ascending refs) that answer matcher lookups.
 *
 * Refs are small integers handed out in order and never reused. The index is
 * a cache: every block also carries its series' labels (FORMAT.md, "Block"),
 * so a damaged index.kv is rebuilt from blocks and the WAL.
 * Postings are rebuilt in memory from the labels on open rather than kept in
 * KV: that needs no block scan and keeps KV half the size. Open reads most
 * series from a packed snapshot (index_snapshot.ts), rewritten at
 * checkpoints, and lists only the entries it does not cover.
 *
 * @module
 */
import {
  type Labels,
  labelsKey,
  type Matcher,
  matchesAll,
  type MetricMetadata,
} from "../model/mod.ts";
import { ByteReader, ByteWriter } from "./_byte_buf.ts";
import { crc32c } from "./crc32c.ts";
import { KV_PREFIX } from "./filenames.ts";
import { readSnapshot, SNAPSHOT_HEAD_KEY, writeSnapshot } from "./index_snapshot.ts";

/** Format version byte that leads every KV series value (2: with a trailing CRC-32C). */
export const KV_SERIES_VERSION = 2;
/** Deno KV allows 1000 mutations and 800 KB per atomic; stay well inside. */
const KV_MAX_MUTATIONS = 500;
const KV_MAX_BYTES = 400_000;
/**
 * A checkpoint rewrites the snapshot when at least this many saved series,
 * and an eighth of those it covers, are outside it (listing a few is cheap).
 */
const SNAPSHOT_MIN_NEW = 64;

/** KV key of series `ref`. */
export function seriesKey(ref: number): Deno.KvKey {
  return [KV_PREFIX, "series", ref];
}
/** KV key of the metadata of metric `name`. */
export function metaKey(name: string): Deno.KvKey {
  return [KV_PREFIX, "meta", name];
}

/** Encodes labels as the KV series value. */
export function encodeLabels(labels: Labels): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(KV_SERIES_VERSION);
  w.uvarint(labels.length);
  for (const l of labels) {
    w.str(l.name);
    w.str(l.value);
  }
  w.u32(crc32c(w.view()));
  return w.copy();
}

/** Decodes a KV series value (version 1, or 2 with its CRC checked); throws when damaged. */
export function decodeLabels(b: Uint8Array): Labels {
  const ver = b[0];
  let end = b.length;
  if (ver === KV_SERIES_VERSION) {
    end -= 4;
    if (end < 1 || crc32c(b, 0, 0, end) !== new ByteReader(b, end).u32()) {
      throw new Error("Cannot decode series: checksum mismatch");
    }
  } else if (ver !== 1) throw new Error(`Cannot decode series: unknown version ${ver}`);
  const r = new ByteReader(b, 1, end);
  const n = r.uvarint();
  const out = [];
  for (let i = 0; i < n; i++) out.push({ name: r.str(), value: r.str() });
  if (r.pos !== end) throw new Error("Cannot decode series: trailing bytes");
  return out;
}

/** One KV write for {@linkcode commitBatched}: a delete when `value` is undefined. */
export interface KvMutation {
  readonly key: Deno.KvKey;
  readonly value?: unknown;
  /** Bytes it counts for against the atomic's limit (key, value and overhead). */
  readonly size: number;
}

/**
 * Commits KV mutations in batches that respect Deno KV's atomic limits. They
 * are taken from `muts` one batch at a time, so a generator holds no more
 * than one batch.
 */
export async function commitBatched(kv: Deno.Kv, muts: Iterable<KvMutation>): Promise<void> {
  const it = muts[Symbol.iterator]();
  let next = it.next();
  while (!next.done) {
    const op = kv.atomic();
    let n = 0, bytes = 0;
    while (
      !next.done && n < KV_MAX_MUTATIONS && (n === 0 || bytes + next.value.size < KV_MAX_BYTES)
    ) {
      const m = next.value;
      if (m.value === undefined) op.delete(m.key);
      else op.set(m.key, m.value);
      n++;
      bytes += m.size;
      next = it.next();
    }
    const res = await op.commit();
    if (!res.ok) throw new Error("BUG: unconditional KV atomic commit failed");
  }
}

/** The series index of one database. */
export class SeriesIndex {
  readonly #kv: Deno.Kv;
  readonly #byKey = new Map<string, number>();
  readonly #labels: (Labels | undefined)[] = [];
  readonly #postings = new Map<string, Map<string, number[]>>();
  #allRefs: number[] = [];
  #unsorted = false;
  #nextRef = 1;
  #unsaved: number[] = [];
  #removed = 0;
  #saving: Promise<void> = Promise.resolve();
  readonly #meta = new Map<string, MetricMetadata>();
  /** Refs up to this are covered by the snapshot head in KV (0: no head; Infinity: an unusable one). */
  #snapUpTo = 0;
  /** Series in that snapshot. */
  #snapSeries = 0;

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Loads every series (from the snapshot, and the entries it does not
   * cover) and metadata entry from KV.
   */
  static async load(kv: Deno.Kv): Promise<SeriesIndex> {
    const idx = new SeriesIndex(kv);
    const batchSize = 1000;
    const { snapshot, damaged } = await readSnapshot(kv);
    const prefix = [KV_PREFIX, "series"];
    let selector: Deno.KvListSelector = { prefix };
    if (snapshot) {
      for (let i = 0; i < snapshot.refs.length; i++) idx.#add(snapshot.refs[i], snapshot.labels[i]);
      idx.#snapUpTo = snapshot.upTo;
      idx.#snapSeries = snapshot.refs.length;
      selector = { prefix, start: seriesKey(snapshot.upTo + 1) };
    } else if (damaged) idx.#snapUpTo = Infinity;
    for await (const e of kv.list<Uint8Array>(selector, { batchSize })) {
      const ref = e.key[2] as number;
      idx.#add(ref, decodeLabels(e.value));
    }
    for await (const e of kv.list<MetricMetadata>({ prefix: [KV_PREFIX, "meta"] }, { batchSize })) {
      idx.#meta.set(e.key[2] as string, e.value);
    }
    return idx;
  }

  /** Number of series. */
  /** Number of series with this metric name (postings of `__name__`). */
  countByName(name: string): number {
    return this.#postings.get("__name__")?.get(name)?.length ?? 0;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** How many series were forgotten so far (see {@linkcode forget}). */
  get removed(): number {
    return this.#removed;
  }

  /** Ref of the series with `key` (from labelsKey), or undefined. */
  lookup(key: string): number | undefined {
    return this.#byKey.get(key);
  }

  /** Labels of `ref`, or undefined when unknown. */
  labels(ref: number): Labels | undefined {
    return this.#labels[ref];
  }

  /** Returns the ref of `labels`, creating it (unsaved) when new. `created` tells which. */
  getOrCreate(labels: Labels, key: string = labelsKey(labels)): { ref: number; created: boolean } {
    const have = this.#byKey.get(key);
    if (have !== undefined) return { ref: have, created: false };
    const ref = this.#nextRef;
    this.#add(ref, labels, key);
    this.#unsaved.push(ref);
    return { ref, created: true };
  }

  /**
   * Drops a series that was created but never stored (its append failed):
   * it leaves lookups, postings and the unsaved list; its ref is not reused.
   */
  forget(ref: number): void {
    const labels = this.#labels[ref];
    if (labels === undefined) return;
    this.#removed++;
    this.#labels[ref] = undefined;
    this.#byKey.delete(labelsKey(labels));
    const drop = (list: number[]) => {
      const i = list.lastIndexOf(ref);
      if (i >= 0) list.splice(i, 1);
    };
    drop(this.#allRefs);
    for (const l of labels) {
      const byValue = this.#postings.get(l.name);
      const list = byValue?.get(l.value);
      if (!list) continue;
      drop(list);
      if (list.length === 0) byValue!.delete(l.value);
      if (byValue!.size === 0) this.#postings.delete(l.name);
    }
    drop(this.#unsaved);
  }

  /** Registers a series with a known ref (WAL replay); saves it to KV when new. */
  restore(ref: number, labels: Labels): void {
    if (this.#labels[ref] !== undefined) return;
    this.#add(ref, labels);
    this.#unsaved.push(ref);
  }

  #add(ref: number, labels: Labels, key = labelsKey(labels)): void {
    this.#labels[ref] = labels;
    this.#byKey.set(key, ref);
    if (ref >= this.#nextRef) this.#nextRef = ref + 1;
    if (this.#allRefs.length > 0 && this.#allRefs[this.#allRefs.length - 1] > ref) {
      this.#unsorted = true;
    }
    this.#allRefs.push(ref);
    for (const l of labels) {
      let byValue = this.#postings.get(l.name);
      if (!byValue) this.#postings.set(l.name, byValue = new Map());
      const list = byValue.get(l.value);
      if (list) list.push(ref);
      else byValue.set(l.value, [ref]);
    }
  }

  #sortIfNeeded(): void {
    if (!this.#unsorted) return;
    const cmp = (a: number, b: number) => a - b;
    this.#allRefs.sort(cmp);
    for (const m of this.#postings.values()) for (const l of m.values()) l.sort(cmp);
    this.#unsorted = false;
  }

  /**
   * Writes unsaved series to KV in batches; resolves when all up to now are
   * saved. Saving a series the snapshot's refs cover deletes its head first.
   */
  save(): Promise<void> {
    const refs = this.#unsaved;
    this.#unsaved = [];
    const p = this.#saving.then(async () => {
      const covered = refs.some((ref) => ref <= this.#snapUpTo && this.#labels[ref] !== undefined);
      await commitBatched(this.#kv, this.#seriesWrites(refs, covered));
      if (covered) this.#snapUpTo = this.#snapSeries = 0;
    });
    this.#saving = p.catch(() => {
      this.#unsaved.push(...refs.filter((ref) => this.#labels[ref] !== undefined));
    });
    return p;
  }

  /**
   * The KV writes that save `refs` (those not forgotten since), encoded as
   * they are committed: the 20,000 new series of two requests would
   * otherwise hold ~10 MB of values and keys at once while the batches go out.
   * `covered`: the snapshot head is deleted first.
   */
  *#seriesWrites(refs: readonly number[], covered: boolean): Generator<KvMutation> {
    if (covered) yield { key: SNAPSHOT_HEAD_KEY, size: 64 };
    for (const ref of refs) {
      const labels = this.#labels[ref];
      if (labels === undefined) continue;
      const value = encodeLabels(labels);
      yield { key: seriesKey(ref), value, size: value.length + 32 };
    }
  }

  /**
   * Rewrites the snapshot when many saved series are outside it (after a
   * {@linkcode save}); resolves when written or not needed.
   */
  checkpoint(): Promise<void> {
    const p = this.#saving.then(async () => {
      const outside = this.#allRefs.length - this.#unsaved.length - this.#snapSeries;
      if (outside < SNAPSHOT_MIN_NEW || outside * 8 < this.#snapSeries) return;
      this.#sortIfNeeded();
      const unsaved = new Set(this.#unsaved);
      const refs = this.#allRefs.filter((ref) => !unsaved.has(ref));
      const upTo = this.#nextRef - 1;
      const labelsOf = (ref: number) => this.#labels[ref]!;
      await writeSnapshot(this.#kv, upTo, refs, labelsOf, (m) => commitBatched(this.#kv, m));
      this.#snapUpTo = upTo;
      this.#snapSeries = refs.length;
    });
    this.#saving = p.catch(() => {});
    return p;
  }

  /** Refs of series matching all matchers, ascending. */
  select(matchers: readonly Matcher[]): number[] {
    this.#sortIfNeeded();
    let candidates: number[] | undefined;
    for (const m of matchers) {
      if (m.matches("")) continue; // Also matches series without the label: cannot narrow.
      const byValue = this.#postings.get(m.name);
      if (!byValue) return [];
      let list: number[];
      if (m.type === "=") {
        list = byValue.get(m.value) ?? [];
      } else {
        const parts: number[][] = [];
        for (const [value, refs] of byValue) if (m.matches(value)) parts.push(refs);
        list = parts.length === 1 ? parts[0] : mergeUnion(parts);
      }
      candidates = candidates === undefined ? list : intersect(candidates, list);
      if (candidates.length === 0) return [];
    }
    const base = candidates ?? this.#allRefs;
    const out: number[] = [];
    for (const ref of base) if (matchesAll(matchers, this.#labels[ref]!)) out.push(ref);
    return out;
  }

  /** Sets the metadata of metric `name` and saves it to KV. */
  async setMetadata(name: string, meta: MetricMetadata): Promise<void> {
    const old = this.#meta.get(name);
    if (old && old.type === meta.type && old.help === meta.help && old.unit === meta.unit) return;
    const value = { type: meta.type, help: meta.help, unit: meta.unit };
    await this.#kv.set(metaKey(name), value);
    this.#meta.set(name, value);
  }

  /** All metadata, by metric name. */
  metadata(): Map<string, MetricMetadata> {
    return new Map(this.#meta);
  }
}

function intersect(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(a[i]);
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return out;
}

function mergeUnion(lists: number[][]): number[] {
  const all: number[] = [];
  for (const l of lists) for (const x of l) all.push(x);
  all.sort((a, b) => a - b);
  const out: number[] = [];
  for (const x of all) if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  return out;
}
