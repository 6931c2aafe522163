/**
 * Series index snapshot: every series of the index packed into a few large
 * KV values, so opening reads a handful of values instead of listing one KV
 * entry per series (2,000 entries take ~20 ms to list; the snapshot of them
 * ~1 ms). The per-series entries stay the truth: the snapshot covers the
 * entries with refs up to `upTo` as they were when it was written, the
 * entries above it are listed, and saving a series at or below `upTo`
 * deletes the snapshot's head first (a crash in between leaves no head, so
 * the next open lists everything). A head whose parts do not match it is
 * ignored the same way.
 *
 * Layout (KV, under `KV_PREFIX`): `["seriesSnap", "head"]` holds a
 * {@linkcode SnapshotHead}; `["seriesSnap", i]` for i in [0, parts) hold the
 * packed bytes in pieces of at most {@linkcode PART_BYTES}. The bytes:
 * uvarint string count, the strings; uvarint label pair count, each pair's
 * name and value string indexes; uvarint series count, then per series its
 * ref minus the previous ref, its label count and its pairs' indexes (all
 * uvarints). Equal strings and label pairs are shared once decoded.
 *
 * @module
 */
import type { Label, Labels } from "../model/mod.ts";
import { ByteReader, ByteWriter } from "./_byte_buf.ts";
import { crc32c } from "./crc32c.ts";
import { KV_PREFIX } from "./filenames.ts";

/** Format version of the snapshot bytes. */
const SNAPSHOT_VERSION = 1;
/** Deno KV values are at most 64 KiB. */
const PART_BYTES = 60_000;

/** The value of the snapshot's head key. */
export interface SnapshotHead {
  version: number;
  /** Highest ref covered: every series entry at or below it is in the snapshot. */
  upTo: number;
  series: number;
  parts: number;
  bytes: number;
  crc: number;
}

/** KV key of the snapshot's head. */
export const SNAPSHOT_HEAD_KEY: Deno.KvKey = [KV_PREFIX, "seriesSnap", "head"];

function partKey(i: number): Deno.KvKey {
  return [KV_PREFIX, "seriesSnap", i];
}

/** A decoded snapshot: refs ascending, labels by position. */
export interface Snapshot {
  upTo: number;
  refs: number[];
  labels: Labels[];
}

/**
 * Reads the snapshot; undefined when there is none. `damaged` is true when
 * a head exists but its parts are missing, damaged or of another version.
 */
export async function readSnapshot(
  kv: Deno.Kv,
): Promise<{ snapshot?: Snapshot; damaged: boolean }> {
  const head = (await kv.get<SnapshotHead>(SNAPSHOT_HEAD_KEY)).value;
  if (head === null) return { damaged: false };
  try {
    if (head.version !== SNAPSHOT_VERSION) throw new Error("unknown version");
    const keys = Array.from({ length: head.parts }, (_, i) => partKey(i));
    const got: Deno.KvEntryMaybe<unknown>[] = [];
    // getMany takes at most 10 keys.
    for (let i = 0; i < keys.length; i += 10) got.push(...await kv.getMany(keys.slice(i, i + 10)));
    const bytes = new Uint8Array(head.bytes);
    let pos = 0;
    for (const e of got) {
      if (!(e.value instanceof Uint8Array) || pos + e.value.length > bytes.length) {
        throw new Error("bad part");
      }
      bytes.set(e.value, pos);
      pos += e.value.length;
    }
    if (pos !== bytes.length || crc32c(bytes) !== head.crc) throw new Error("checksum mismatch");
    const snapshot = decodeSnapshot(bytes, head.upTo);
    if (snapshot.refs.length !== head.series) throw new Error("series count mismatch");
    return { snapshot, damaged: false };
  } catch {
    return { damaged: true };
  }
}

/**
 * Writes a snapshot of `refs` (ascending, every saved series at or below
 * `upTo`): the old head is deleted first, the head is written last.
 */
export async function writeSnapshot(
  kv: Deno.Kv,
  upTo: number,
  refs: readonly number[],
  labelsOf: (ref: number) => Labels,
  commit: (muts: { key: Deno.KvKey; value?: unknown; size: number }[]) => Promise<void>,
): Promise<void> {
  const bytes = encodeSnapshot(refs, labelsOf);
  const muts: { key: Deno.KvKey; value?: unknown; size: number }[] = [
    { key: SNAPSHOT_HEAD_KEY, size: 64 },
  ];
  let parts = 0;
  for (let pos = 0; pos < bytes.length; pos += PART_BYTES) {
    const value = bytes.subarray(pos, pos + PART_BYTES);
    muts.push({ key: partKey(parts++), value, size: value.length + 32 });
  }
  await commit(muts);
  const stale: { key: Deno.KvKey; size: number }[] = [];
  const after = { prefix: [KV_PREFIX, "seriesSnap"], start: partKey(parts) };
  for await (const e of kv.list(after)) {
    if (typeof e.key[2] === "number") stale.push({ key: e.key, size: 64 });
  }
  const head: SnapshotHead = {
    version: SNAPSHOT_VERSION,
    upTo,
    series: refs.length,
    parts,
    bytes: bytes.length,
    crc: crc32c(bytes),
  };
  await commit([...stale, { key: SNAPSHOT_HEAD_KEY, value: head, size: 128 }]);
}

/** Packs series into the snapshot bytes. */
export function encodeSnapshot(
  refs: readonly number[],
  labelsOf: (ref: number) => Labels,
): Uint8Array {
  const strings = new Map<string, number>();
  const pairs = new Map<string, number>();
  const pairList: number[] = [];
  const str = (s: string) => {
    let i = strings.get(s);
    if (i === undefined) strings.set(s, i = strings.size);
    return i;
  };
  const series = new ByteWriter(16 * refs.length + 16);
  series.uvarint(refs.length);
  let prev = 0;
  for (const ref of refs) {
    const labels = labelsOf(ref);
    series.uvarint(ref - prev);
    prev = ref;
    series.uvarint(labels.length);
    for (const l of labels) {
      const n = str(l.name), v = str(l.value);
      const key = `${n},${v}`;
      let p = pairs.get(key);
      if (p === undefined) {
        pairs.set(key, p = pairs.size);
        pairList.push(n, v);
      }
      series.uvarint(p);
    }
  }
  const w = new ByteWriter(series.pos + 32 * strings.size + 16);
  w.u8(SNAPSHOT_VERSION);
  w.uvarint(strings.size);
  for (const s of strings.keys()) w.str(s);
  w.uvarint(pairs.size);
  for (const x of pairList) w.uvarint(x);
  w.bytes(series.view());
  return w.copy();
}

/** Unpacks the snapshot bytes; throws when they are malformed. */
export function decodeSnapshot(b: Uint8Array, upTo: number): Snapshot {
  const r = new ByteReader(b);
  if (r.u8() !== SNAPSHOT_VERSION) throw new Error("Cannot decode series snapshot: version");
  const strings: string[] = [];
  for (let i = r.uvarint(); i > 0; i--) strings.push(r.str());
  const pairs: Label[] = [];
  for (let i = r.uvarint(); i > 0; i--) {
    const name = strings[r.uvarint()], value = strings[r.uvarint()];
    if (name === undefined || value === undefined) {
      throw new Error("Cannot decode series snapshot: bad string index");
    }
    pairs.push({ name, value });
  }
  const refs: number[] = [], labels: Labels[] = [];
  let ref = 0;
  for (let i = r.uvarint(); i > 0; i--) {
    ref += r.uvarint();
    const ls: Label[] = [];
    for (let j = r.uvarint(); j > 0; j--) {
      const p = pairs[r.uvarint()];
      if (p === undefined) throw new Error("Cannot decode series snapshot: bad pair index");
      ls.push(p);
    }
    refs.push(ref);
    labels.push(ls);
  }
  if (r.pos !== b.length || ref > upTo) throw new Error("Cannot decode series snapshot: bad end");
  return { upTo, refs, labels };
}
