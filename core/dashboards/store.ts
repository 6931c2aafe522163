/**
 * Dashboards in Deno KV under `["dashboards", id]`, with create, read,
 * update (optimistic, by version) and delete.
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

/** CRUD for dashboards over a Deno KV handle (owned by the caller). */
export class DashboardStore {
  constructor(readonly kv: Deno.Kv, private readonly now: () => number = Date.now) {}

  /** Every dashboard, sorted by title. */
  async list(): Promise<DashboardSummary[]> {
    const out: DashboardSummary[] = [];
    for await (const e of this.kv.list<StoredDashboard>({ prefix: [PREFIX] })) {
      const d = e.value.dashboard;
      out.push({
        id: d.id,
        title: d.title,
        tags: d.tags,
        source: e.value.source,
        panels: d.panels.length,
        updatedAt: e.value.updatedAt,
      });
    }
    return out.sort((a, b) => a.title.localeCompare(b.title) || a.id.localeCompare(b.id));
  }

  /** One dashboard with its bookkeeping, or undefined. */
  async getStored(id: string): Promise<StoredDashboard | undefined> {
    const e = await this.kv.get<StoredDashboard>([PREFIX, id]);
    return e.value ?? undefined;
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
    const stored: StoredDashboard = {
      dashboard: { ...d, version: 1 },
      source,
      updatedAt: this.now(),
    };
    const r = await this.kv.atomic().check({ key: [PREFIX, d.id], versionstamp: null })
      .set([PREFIX, d.id], stored).commit();
    if (!r.ok) throw new DashboardConflictError(`Dashboard ${d.id} exists already`);
    return stored.dashboard;
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
    const cur = await this.kv.get<StoredDashboard>([PREFIX, id]);
    if (cur.value && d.version !== 0 && d.version !== cur.value.dashboard.version) {
      throw new DashboardConflictError(
        `Dashboard ${id} was changed by someone else (version ${cur.value.dashboard.version}, yours ${d.version}); reload it`,
      );
    }
    const stored: StoredDashboard = {
      dashboard: { ...d, version: (cur.value?.dashboard.version ?? 0) + 1 },
      source,
      updatedAt: this.now(),
    };
    const r = await this.kv.atomic().check(cur).set([PREFIX, id], stored).commit();
    if (!r.ok) throw new DashboardConflictError(`Dashboard ${id} changed during the save; retry`);
    return stored.dashboard;
  }

  /** Deletes dashboard `id`; throws {@linkcode DashboardNotFoundError}. */
  async delete(id: string): Promise<void> {
    const cur = await this.kv.get([PREFIX, id]);
    if (cur.versionstamp === null) throw new DashboardNotFoundError(id);
    await this.kv.delete([PREFIX, id]);
  }

  #validate(input: unknown): Dashboard {
    const r = validateDashboard(input);
    if (!r.ok) throw new DashboardValidationError(r.errors);
    return r.dashboard;
  }
}
