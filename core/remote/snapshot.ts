/**
 * Snapshots of the data dir under `<data_dir>/snapshots/<name>`, laid out
 * like the data dir itself so that restoring is a copy (README.md,
 * "Snapshots and restore").
 *
 * Procedure (works with storage running, through its public API only):
 *
 * 1. `flush()`: the head goes into blocks, the WAL is checkpointed.
 * 2. Block files are hard-linked (`Deno.link`; copied where the filesystem
 *    cannot link). A block renamed aside by compaction meanwhile is linked
 *    from its `.del` name; the listing is repeated until no new block shows.
 * 3. WAL segments are copied (they are appended to, so never linked).
 * 4. Each Deno KV database is exported entry by entry (`kv.list`) into a
 *    fresh KV file: sqlite files are never copied while written.
 * 5. Check: every block storage's KV lists (`["tsdb","block",seq]`, see
 *    core/tsdb/FORMAT.md) must be in the snapshot, else a flush or
 *    compaction ran in between and the snapshot is taken again (at most 3
 *    times); block files the KV no longer lists (deleted by retention or
 *    compaction in between) are removed from the snapshot.
 *
 * @module
 */

/** A Deno KV database to include, by its file name in the data dir. */
export interface SnapshotKv {
  /** File name inside the data dir, e.g. `index.kv`. */
  readonly file: string;
  /** An open handle; when absent the file is opened (a second connection) and closed. */
  readonly kv?: Deno.Kv;
}

/** Options of {@linkcode createSnapshot}. */
export interface SnapshotOptions {
  readonly dataDir: string;
  /** Storage: flushed first. */
  readonly storage: { flush(): Promise<void> };
  /** KV databases to export. @default [{file: "index.kv"}] */
  readonly kvs?: readonly SnapshotKv[];
  /** Clock for the name, ms. @default Date.now */
  readonly now?: () => number;
}

/** What a snapshot holds. */
export interface SnapshotResult {
  readonly name: string;
  readonly dir: string;
  readonly blocks: number;
  /** Blocks hard-linked (the rest were copied). */
  readonly linked: number;
  readonly walSegments: number;
  readonly kvEntries: number;
}

/** The directory of snapshots inside the data dir. */
export const SNAPSHOTS_DIR = "snapshots";

/** Prometheus-style name: `20240102T150405Z-<16 hex>`. */
export function snapshotName(now: number): string {
  const d = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const rnd = crypto.getRandomValues(new Uint8Array(8));
  return `${d}-${[...rnd].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

async function listNames(dir: string, re: RegExp): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile && re.test(e.name)) out.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

async function linkOrCopy(from: string, to: string): Promise<"linked" | "copied"> {
  try {
    await Deno.link(from, to);
    return "linked";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.AlreadyExists) throw e;
    await Deno.copyFile(from, to);
    return "copied";
  }
}

/** Exports every entry of `src` into a new KV file at `path`; returns the count. */
export async function exportKv(src: Deno.Kv, path: string): Promise<number> {
  const dst = await Deno.openKv(path);
  try {
    return await copyKv(src, dst);
  } finally {
    dst.close();
  }
}

/** Copies every entry of `src` into `dst` in bounded atomic batches; returns the count. */
export async function copyKv(src: Deno.Kv, dst: Deno.Kv): Promise<number> {
  let n = 0, op = dst.atomic(), inOp = 0, bytes = 0;
  for await (const e of src.list({ prefix: [] }, { consistency: "strong", batchSize: 500 })) {
    const size = JSON.stringify(e.key).length + approxSize(e.value);
    if (inOp >= 500 || bytes + size > 400_000) {
      await op.commit();
      op = dst.atomic();
      inOp = 0;
      bytes = 0;
    }
    op = op.set(e.key, e.value);
    inOp++;
    bytes += size;
    n++;
  }
  if (inOp > 0) await op.commit();
  return n;
}

function approxSize(v: unknown): number {
  if (v instanceof Uint8Array) return v.byteLength;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  try {
    return JSON.stringify(v)?.length ?? 16;
  } catch {
    return 1024;
  }
}

/** Creates a snapshot; see the module doc. Throws when it cannot be made consistent. */
export async function createSnapshot(o: SnapshotOptions): Promise<SnapshotResult> {
  const now = o.now ?? Date.now;
  const kvs = o.kvs ?? [{ file: "index.kv" }];
  for (let attempt = 1;; attempt++) {
    await o.storage.flush();
    const name = snapshotName(now());
    const dir = `${o.dataDir}/${SNAPSHOTS_DIR}/${name}`;
    const res = await copyOnce(o.dataDir, dir, name, kvs);
    if (res) return res;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (attempt >= 3) {
      throw new Error("Cannot take a consistent snapshot: storage kept changing its blocks");
    }
  }
}

async function copyOnce(
  dataDir: string,
  dir: string,
  name: string,
  kvs: readonly SnapshotKv[],
): Promise<SnapshotResult | undefined> {
  await Deno.mkdir(`${dir}/blocks`, { recursive: true });
  await Deno.mkdir(`${dir}/wal`, { recursive: true });
  const blockRe = /^\d{6,}\.blk$/;
  const have = new Set<string>();
  let linked = 0;
  for (let round = 0; round < 10; round++) {
    const names = (await listNames(`${dataDir}/blocks`, blockRe)).filter((n) => !have.has(n));
    if (names.length === 0) break;
    for (const n of names) {
      const to = `${dir}/blocks/${n}`;
      for (const from of [`${dataDir}/blocks/${n}`, `${dataDir}/blocks/${n}.del`]) {
        try {
          if ((await linkOrCopy(from, to)) === "linked") linked++;
          have.add(n);
          break;
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }
    }
  }
  const wal = await listNames(`${dataDir}/wal`, /\.wal$/);
  let walSegments = 0;
  for (const n of wal) {
    try {
      await Deno.copyFile(`${dataDir}/wal/${n}`, `${dir}/wal/${n}`);
      walSegments++;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // checkpointed meanwhile
    }
  }
  let kvEntries = 0;
  let listed: Set<string> | undefined;
  for (const k of kvs) {
    const srcPath = `${dataDir}/${k.file}`;
    if (!k.kv && !(await exists(srcPath))) continue;
    const src = k.kv ?? await Deno.openKv(srcPath);
    try {
      kvEntries += await exportKv(src, `${dir}/${k.file}`);
    } finally {
      if (!k.kv) src.close();
    }
    if (k.file === "index.kv") {
      const copy = await Deno.openKv(`${dir}/${k.file}`);
      listed = new Set();
      for await (const e of copy.list({ prefix: ["tsdb", "block"] })) {
        listed.add(`${String(e.key[2]).padStart(6, "0")}.blk`);
      }
      copy.close();
    }
  }
  if (listed) {
    for (const b of listed) if (!have.has(b)) return undefined;
    for (const b of have) {
      if (!listed.has(b)) {
        await Deno.remove(`${dir}/blocks/${b}`);
        have.delete(b);
      }
    }
  }
  return { name, dir, blocks: have.size, linked, walSegments, kvEntries };
}
