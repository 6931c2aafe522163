/**
 * Dashboards in Deno KV, with create, read, update (optimistic, by version)
 * and delete. A dashboard of any size is stored as a small head under
 * `["dashboards", id]` plus its gzip-compressed JSON split into chunks under
 * `["dashboard_chunks", id, i]`, all written in one atomic operation (Deno
 * KV values hold at most 64 KiB; an atomic write at most 800 KiB).
 *
 * @module
 */
import type { Dashboard } from "./schema.ts";
import { type FieldError, validateDashboard } from "./validate.ts";

/** Where a stored dashboard came from. */
export type DashboardSource = "user" | "provisioned" | "builtin";

/** One stored dashboard with its bookkeeping. */
export interface StoredDashboard {
  readonly dashboard: Dashboard;
  readonly source: DashboardSource;
  /** Ms since the epoch of the last write. */
  readonly updatedAt: number;
}

/** A row of the dashboard list. */
export interface DashboardSummary {
  readonly id: string;
  readonly title: string;
  readonly tags: readonly string[];
  readonly source: DashboardSource;
  readonly panels: number;
  readonly updatedAt: number;
}

/** The document is invalid; `errors` name each field. */
export class DashboardValidationError extends Error {
  constructor(readonly errors: readonly FieldError[]) {
    super(`Invalid dashboard: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
    this.name = "DashboardValidationError";
  }
}

/** No dashboard with that id. */
export class DashboardNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`Dashboard not found: ${id}`);
    this.name = "DashboardNotFoundError";
  }
}

/** The id exists already, or the stored version moved on since the client read it. */
export class DashboardConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DashboardConflictError";
  }
}

const PREFIX = "dashboards";
const CHUNKS = "dashboard_chunks";
/** Bytes per chunk value: under Deno KV's 64 KiB per value. */
const CHUNK_BYTES = 60_000;
/**
 * Largest compressed document: an atomic write carries at most 800 KiB of
 * keys and values in Deno KV, and the head and keys need some of it.
 */
const MAX_COMPRESSED = 780 * 1024;

/**
 * What `["dashboards", id]` holds: the bookkeeping and list fields, and how
 * many gzip chunks of the JSON document sit under `["dashboard_chunks", id, i]`.
 * Older versions stored `{dashboard, source, updatedAt}` here directly; they
 * are still read (and rewritten in this layout on the next save).
 */
interface DashboardHead {
  readonly source: DashboardSource;
  readonly updatedAt: number;
  readonly title: string;
  readonly tags: readonly string[];
  readonly panels: number;
  readonly version: number;
  readonly chunks: number;
  readonly bytes: number;
}

type HeadValue = DashboardHead | StoredDashboard;

/**
 * node:zlib, loaded when a dashboard is first read or written: it pulls in
 * much of Deno's Node compatibility layer, which start-up does not need.
 */
function zlib(): Promise<typeof import("node:zlib")> {
  return import("node:zlib");
}

function isLegacy(v: HeadValue): v is StoredDashboard {
  return "dashboard" in v;
}

/** The document's panels, counting the panels inside rows. */
function panelCount(d: Dashboard): number {
  return d.panels.reduce((n, p) => n + 1 + (p.panels?.length ?? 0), 0);
}

/** CRUD for dashboards over a Deno KV handle (owned by the caller). */
export class DashboardStore {
  constructor(readonly kv: Deno.Kv, private readonly now: () => number = Date.now) {}

  /** Every dashboard, sorted by title. */
  async list(): Promise<DashboardSummary[]> {
    const out: DashboardSummary[] = [];
    for await (const e of this.kv.list<HeadValue>({ prefix: [PREFIX] })) {
      const v = e.value;
      const id = String(e.key[1]);
      out.push(
        isLegacy(v)
          ? {
            id,
            title: v.dashboard.title,
            tags: v.dashboard.tags,
            source: v.source,
            panels: panelCount(v.dashboard),
            updatedAt: v.updatedAt,
          }
          : {
            id,
            title: v.title,
            tags: v.tags,
            source: v.source,
            panels: v.panels,
            updatedAt: v.updatedAt,
          },
      );
    }
    return out.sort((a, b) => a.title.localeCompare(b.title) || a.id.localeCompare(b.id));
  }

  /** One dashboard with its bookkeeping, or undefined. */
  async getStored(id: string): Promise<StoredDashboard | undefined> {
    const e = await this.kv.get<HeadValue>([PREFIX, id]);
    return e.value ? await this.#load(id, e.value) : undefined;
  }

  async #load(id: string, v: HeadValue): Promise<StoredDashboard> {
    if (isLegacy(v)) return v;
    const keys = Array.from({ length: v.chunks }, (_, i) => [CHUNKS, id, i]);
    const parts: Uint8Array[] = [];
    // getMany reads at most 10 keys at a time.
    for (let i = 0; i < keys.length; i += 10) {
      for (const e of await this.kv.getMany<Uint8Array[]>(keys.slice(i, i + 10))) {
        if (!(e.value instanceof Uint8Array)) {
          throw new Error(`BUG: dashboard ${id} is missing chunk ${String(e.key[2])}`);
        }
        parts.push(e.value);
      }
    }
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    const { gunzipSync } = await zlib();
    const dashboard = JSON.parse(new TextDecoder().decode(gunzipSync(all))) as Dashboard;
    return { dashboard, source: v.source, updatedAt: v.updatedAt };
  }

  /** One dashboard; throws {@linkcode DashboardNotFoundError}. */
  async get(id: string): Promise<Dashboard> {
    const s = await this.getStored(id);
    if (!s) throw new DashboardNotFoundError(id);
    return s.dashboard;
  }

  /** Stores a new dashboard; throws on invalid input or an existing id. */
  async create(input: unknown, source: DashboardSource = "user"): Promise<Dashboard> {
    const d = this.#validate(input);
    const dashboard = { ...d, version: 1 };
    const ok = await this.#write(dashboard, source, { key: [PREFIX, d.id], versionstamp: null });
    if (!ok) throw new DashboardConflictError(`Dashboard ${d.id} exists already`);
    return dashboard;
  }

  /**
   * Replaces dashboard `id`. When the input carries a non-zero `version`, it
   * must equal the stored one (a stale editor gets a conflict instead of
   * overwriting someone else's save). Creates the dashboard if absent.
   */
  async put(id: string, input: unknown, source: DashboardSource = "user"): Promise<Dashboard> {
    const d = this.#validate(input);
    if (d.id !== id) {
      throw new DashboardValidationError([{
        path: "id",
        message: `must equal the URL id "${id}"`,
      }]);
    }
    const cur = await this.kv.get<HeadValue>([PREFIX, id]);
    const curVersion = cur.value
      ? (isLegacy(cur.value) ? cur.value.dashboard.version : cur.value.version)
      : 0;
    if (cur.value && d.version !== 0 && d.version !== curVersion) {
      throw new DashboardConflictError(
        `Dashboard ${id} was changed by someone else (version ${curVersion}, yours ${d.version}); reload it`,
      );
    }
    const dashboard = { ...d, version: curVersion + 1 };
    const oldChunks = cur.value && !isLegacy(cur.value) ? cur.value.chunks : 0;
    const ok = await this.#write(dashboard, source, cur, oldChunks);
    if (!ok) throw new DashboardConflictError(`Dashboard ${id} changed during the save; retry`);
    return dashboard;
  }

  /**
   * Writes head and chunks in one atomic operation guarded by `check`;
   * chunks beyond the new count (left by a larger earlier version) are
   * deleted in the same operation. Returns false when the check failed.
   */
  async #write(
    d: Dashboard,
    source: DashboardSource,
    check: Deno.AtomicCheck,
    oldChunks = 0,
  ): Promise<boolean> {
    const { gzipSync } = await zlib();
    const packed = gzipSync(new TextEncoder().encode(JSON.stringify(d)), { level: 6 });
    if (packed.length > MAX_COMPRESSED) {
      throw new DashboardValidationError([{
        path: "(root)",
        message:
          `dashboard is too large to store: ${packed.length} bytes compressed, at most ${MAX_COMPRESSED}`,
      }]);
    }
    const chunks = Math.max(1, Math.ceil(packed.length / CHUNK_BYTES));
    const head: DashboardHead = {
      source,
      updatedAt: this.now(),
      title: d.title,
      tags: d.tags,
      panels: panelCount(d),
      version: d.version,
      chunks,
      bytes: packed.length,
    };
    const op = this.kv.atomic().check(check).set([PREFIX, d.id], head);
    for (let i = 0; i < chunks; i++) {
      op.set([CHUNKS, d.id, i], packed.slice(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
    }
    for (let i = chunks; i < oldChunks; i++) op.delete([CHUNKS, d.id, i]);
    return (await op.commit()).ok;
  }

  /** Deletes dashboard `id`; throws {@linkcode DashboardNotFoundError}. */
  async delete(id: string): Promise<void> {
    const cur = await this.kv.get<HeadValue>([PREFIX, id]);
    if (cur.versionstamp === null || !cur.value) throw new DashboardNotFoundError(id);
    const op = this.kv.atomic().check(cur).delete([PREFIX, id]);
    const n = isLegacy(cur.value) ? 0 : cur.value.chunks;
    for (let i = 0; i < n; i++) op.delete([CHUNKS, id, i]);
    if (!(await op.commit()).ok) {
      throw new DashboardConflictError(`Dashboard ${id} changed during the delete; retry`);
    }
  }

  #validate(input: unknown): Dashboard {
    const r = validateDashboard(input);
    if (!r.ok) throw new DashboardValidationError(r.errors);
    return r.dashboard;
  }
}
