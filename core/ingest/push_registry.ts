/**
 * The Pushgateway's memory: the last pushed metrics of each group, kept in
 * Deno KV and exposed again every interval, as a Prometheus scraping a
 * Pushgateway would see them. A batch job that pushed once stays visible to
 * instant queries until its group is deleted, not just for the 5 m lookback.
 *
 * A group is the grouping labels of the path (`/metrics/job/<job>{/<l>/<v>}`).
 * `PUT` replaces the whole group, `POST` replaces the metric families it
 * carries, `DELETE` removes the group; series that leave a group get a
 * staleness marker at once. Each group also has `push_time_seconds` and
 * `push_failure_time_seconds` (0 until a push fails), as in the Pushgateway.
 *
 * Samples pushed with an explicit timestamp are stored once at that time and
 * not re-exposed (re-appending an old timestamp is a no-op or out of bounds).
 *
 * KV layout (`state.kv`):
 *
 * | key                                   | value                                     |
 * |---------------------------------------|-------------------------------------------|
 * | `["push", group]`                     | `{labels, pushTime, failureTime}`         |
 * | `["push", group, family, chunk]`      | `{meta?, series: [{name, pairs, v, t?}]}` |
 *
 * `group` is the JSON of the sorted grouping label pairs; a family's series
 * are split into chunks below Deno KV's 64 KiB value limit.
 *
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../logging/mod.ts";
import { type MetricMetadata, STALE_NAN } from "../model/mod.ts";
import { ParsedRows } from "./rows.ts";

/** One stored series: name, pushed label pairs (flat), value, explicit timestamp. */
interface StoredSeries {
  readonly name: string;
  readonly pairs: readonly string[];
  readonly v: number;
  readonly t?: number;
}

interface StoredFamily {
  readonly meta?: MetricMetadata;
  readonly series: readonly StoredSeries[];
}

interface Group {
  readonly labels: Readonly<Record<string, string>>;
  pushTime: number;
  failureTime: number;
  families: Map<string, StoredFamily>;
}

/** What the registry needs. */
export interface PushRegistryOptions {
  readonly kv: Deno.Kv;
  /** Appends rows through the ingest pipeline (protocol `pushgateway`). */
  readonly append: (rows: ParsedRows) => Promise<unknown>;
  readonly clock: Clock;
  /** How often the groups are exposed again, in ms (the self-scrape interval). */
  readonly intervalMs: () => number;
  readonly logger?: Logger;
}

const KV_PREFIX = "push";
/** Serialized size a KV chunk stays under (Deno KV allows 64 KiB per value). */
const CHUNK_BYTES = 48 * 1024;
/** Most mutations in one KV commit (Deno KV allows 1000). */
const MAX_MUTATIONS = 500;

const PUSH_TIME_HELP = "Last time a push to this group succeeded, in unix seconds.";
const FAILURE_TIME_HELP = "Last time a push to this group failed, in unix seconds (0: never).";

/** The durable push registry; see the module doc. */
export class PushRegistry {
  readonly #opts: PushRegistryOptions;
  readonly #groups = new Map<string, Group>();
  #timer: TimerId | undefined;
  #running = false;
  /** Pushes, deletes and exposures run one at a time, in arrival order. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(opts: PushRegistryOptions) {
    this.#opts = opts;
  }

  /** Loads the stored groups from KV. */
  async open(): Promise<void> {
    const chunks = new Map<string, Map<string, StoredSeries[]>>();
    const metas = new Map<string, Map<string, MetricMetadata | undefined>>();
    for await (const e of this.#opts.kv.list<unknown>({ prefix: [KV_PREFIX] })) {
      const gkey = String(e.key[1]);
      if (e.key.length === 2) {
        const g = e.value as {
          labels: Record<string, string>;
          pushTime: number;
          failureTime: number;
        };
        this.#groups.set(gkey, { ...g, families: new Map() });
      } else {
        const fam = String(e.key[2]);
        const v = e.value as StoredFamily;
        const byFam = chunks.get(gkey) ?? new Map<string, StoredSeries[]>();
        chunks.set(gkey, byFam);
        byFam.set(fam, [...(byFam.get(fam) ?? []), ...v.series]);
        if (v.meta) {
          const m = metas.get(gkey) ?? new Map();
          metas.set(gkey, m);
          m.set(fam, v.meta);
        }
      }
    }
    for (const [gkey, byFam] of chunks) {
      const g = this.#groups.get(gkey);
      if (!g) continue;
      for (const [fam, series] of byFam) {
        const meta = metas.get(gkey)?.get(fam);
        g.families.set(fam, meta ? { meta, series } : { series });
      }
    }
  }

  /** Starts exposing the groups every interval. */
  start(): void {
    this.#running = true;
    this.#schedule();
  }

  /** Stops the timer; waits for work in progress. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#chain.catch(() => {});
  }

  /** The groups, for status pages and tests: labels and push times. */
  groups(): { labels: Record<string, string>; pushTime: number; failureTime: number }[] {
    return [...this.#groups.values()].map((g) => ({
      labels: { ...g.labels },
      pushTime: g.pushTime,
      failureTime: g.failureTime,
    }));
  }

  /**
   * Records a successful push of `rows` (already appended by the caller) at
   * `now`: `replace` (PUT) drops every family not in the push, otherwise
   * (POST) only the pushed families change. Series that left the group get
   * a staleness marker. `now` is the time the parser gave samples without a
   * timestamp.
   */
  pushed(
    labels: Readonly<Record<string, string>>,
    rows: ParsedRows,
    now: number,
    replace: boolean,
  ): Promise<void> {
    return this.#serial(async () => {
      const gkey = groupKey(labels);
      const old = this.#groups.get(gkey);
      const fresh = familiesOf(rows, now);
      const families = replace || !old ? new Map<string, StoredFamily>() : new Map(old.families);
      for (const [fam, f] of fresh) families.set(fam, f);
      const g: Group = {
        labels: { ...labels },
        pushTime: now,
        failureTime: old?.failureTime ?? 0,
        families,
      };
      this.#groups.set(gkey, g);
      await this.#store(gkey, g, old);
      const gone = old ? removedSeries(old, g) : [];
      // The pushed samples were appended by the caller; add push times and ends.
      await this.#append(this.#rows([g], now, gone.map((s) => [g, s]), false));
    });
  }

  /**
   * Records a refused push (`push_failure_time_seconds`); the stored metrics
   * stay. `rows`, the refused push whose valid part the caller already
   * appended at `now`, is undone: the group's values are written again at
   * `now` (the last write wins) and series only the push had end there.
   */
  failed(labels: Readonly<Record<string, string>>, now: number, rows?: ParsedRows): Promise<void> {
    return this.#serial(async () => {
      const gkey = groupKey(labels);
      const g = this.#groups.get(gkey) ??
        { labels: { ...labels }, pushTime: 0, failureTime: 0, families: new Map() };
      g.failureTime = now;
      this.#groups.set(gkey, g);
      await this.#opts.kv.set([KV_PREFIX, gkey], groupMeta(g));
      const extra = rows ? removedSeries({ ...g, families: familiesOf(rows, now) }, g) : [];
      await this.#append(this.#rows([g], now, extra.map((x) => [g, x]), rows !== undefined));
    });
  }

  /** Deletes a group; its series (push times included) become stale at once. */
  delete(labels: Readonly<Record<string, string>>): Promise<void> {
    return this.#serial(() => this.#remove([groupKey(labels)]));
  }

  /** Deletes every group (the Pushgateway's admin wipe). */
  wipe(): Promise<void> {
    return this.#serial(() => this.#remove([...this.#groups.keys()]));
  }

  async #remove(keys: readonly string[]): Promise<void> {
    const now = this.#opts.clock.now();
    const stale: [Group, StoredSeries][] = [];
    for (const gkey of keys) {
      const g = this.#groups.get(gkey);
      if (!g) continue;
      this.#groups.delete(gkey);
      for (const f of g.families.values()) for (const s of f.series) stale.push([g, s]);
      stale.push([g, { name: "push_time_seconds", pairs: [], v: 0 }]);
      stale.push([g, { name: "push_failure_time_seconds", pairs: [], v: 0 }]);
      await this.#deleteKeys(gkey);
    }
    if (stale.length > 0) await this.#append(this.#rows([], now, stale));
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn);
    this.#chain = p.catch(() => {});
    return p;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = this.#opts.clock.setTimeout(() => this.#tick(), this.#opts.intervalMs());
  }

  async #tick(): Promise<void> {
    try {
      if (this.#groups.size > 0) {
        await this.#serial(() =>
          this.#append(this.#rows([...this.#groups.values()], this.#opts.clock.now(), []))
        );
      }
    } catch (e) {
      this.#opts.logger?.warn("pushed groups not exposed", { error: String(e) });
    } finally {
      this.#schedule();
    }
  }

  async #append(rows: ParsedRows): Promise<void> {
    if (rows.sampleCount > 0) await this.#opts.append(rows);
  }

  /** Rows exposing `groups` at `now` plus staleness markers for `stale`. */
  #rows(
    groups: readonly Group[],
    now: number,
    stale: readonly (readonly [Group, StoredSeries])[],
    metrics = true,
  ): ParsedRows {
    const rows = new ParsedRows();
    for (const g of groups) {
      for (const [fam, f] of metrics ? g.families : []) {
        if (f.meta) rows.metadata.set(fam, f.meta);
        for (const s of f.series) {
          if (s.t !== undefined) continue;
          rows.addSample(
            rows.addSeries(s.name, withGroup(s.pairs, g.labels), "", "push"),
            now,
            s.v,
          );
        }
      }
      const pairs = withGroup([], g.labels);
      rows.addSample(
        rows.addSeries("push_time_seconds", pairs, "", "push"),
        now,
        g.pushTime / 1000,
      );
      rows.addSample(
        rows.addSeries("push_failure_time_seconds", pairs, "", "push"),
        now,
        g.failureTime / 1000,
      );
    }
    if (groups.length > 0) {
      rows.metadata.set("push_time_seconds", { type: "gauge", help: PUSH_TIME_HELP, unit: "" });
      rows.metadata.set("push_failure_time_seconds", {
        type: "gauge",
        help: FAILURE_TIME_HELP,
        unit: "",
      });
    }
    for (const [g, s] of stale) {
      rows.addSample(
        rows.addSeries(s.name, withGroup(s.pairs, g.labels), "", "push"),
        now,
        STALE_NAN,
      );
    }
    return rows;
  }

  async #store(gkey: string, g: Group, old: Group | undefined): Promise<void> {
    const kv = this.#opts.kv;
    let op = kv.atomic();
    let n = 0;
    const add = async (f: (o: Deno.AtomicOperation) => Deno.AtomicOperation) => {
      op = f(op);
      if (++n >= MAX_MUTATIONS) {
        await commit(op);
        op = kv.atomic();
        n = 0;
      }
    };
    // Families that changed (all of them for a new group) are rewritten.
    const changed = [...g.families.keys()].filter((f) =>
      old?.families.get(f) !== g.families.get(f)
    );
    const dropped = old ? [...old.families.keys()].filter((f) => !g.families.has(f)) : [];
    for (const fam of [...changed, ...dropped]) {
      for await (const e of kv.list({ prefix: [KV_PREFIX, gkey, fam] })) {
        await add((o) => o.delete(e.key));
      }
    }
    for (const fam of changed) {
      const f = g.families.get(fam)!;
      for (const [i, chunk] of chunked(f.series).entries()) {
        const value: StoredFamily = i === 0 && f.meta
          ? { meta: f.meta, series: chunk }
          : { series: chunk };
        await add((o) => o.set([KV_PREFIX, gkey, fam, i], value));
      }
    }
    await add((o) => o.set([KV_PREFIX, gkey], groupMeta(g)));
    if (n > 0) await commit(op);
  }

  async #deleteKeys(gkey: string): Promise<void> {
    const kv = this.#opts.kv;
    let op = kv.atomic().delete([KV_PREFIX, gkey]);
    let n = 1;
    for await (const e of kv.list({ prefix: [KV_PREFIX, gkey] })) {
      op = op.delete(e.key);
      if (++n >= MAX_MUTATIONS) {
        await commit(op);
        op = kv.atomic();
        n = 0;
      }
    }
    if (n > 0) await commit(op);
  }
}

async function commit(op: Deno.AtomicOperation): Promise<void> {
  const r = await op.commit();
  if (!r.ok) throw new Error("BUG: push registry KV commit without checks failed");
}

function groupMeta(g: Group) {
  return { labels: g.labels, pushTime: g.pushTime, failureTime: g.failureTime };
}

/** The canonical key of a group: its label pairs sorted by name. */
function groupKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** Pushed pairs with the grouping labels set over them (the group wins, as in the route). */
function withGroup(pairs: readonly string[], labels: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (let k = 0; k < pairs.length; k += 2) {
    if (!Object.hasOwn(labels, pairs[k]!)) out.push(pairs[k]!, pairs[k + 1]!);
  }
  for (const k in labels) out.push(k, labels[k]!);
  return out;
}

const SUFFIXES = ["_bucket", "_sum", "_count", "_total", "_created", "_info", "_gcount", "_gsum"];

/**
 * The metric family of a series name: the name itself when it has metadata,
 * else the name without a histogram/summary/counter suffix when that has.
 */
function familyName(name: string, meta: ReadonlyMap<string, MetricMetadata>): string {
  if (meta.has(name)) return name;
  for (const s of SUFFIXES) {
    if (name.endsWith(s) && meta.has(name.slice(0, -s.length))) return name.slice(0, -s.length);
  }
  return name;
}

/** The pushed rows grouped into families; samples at `now` have no explicit timestamp. */
function familiesOf(rows: ParsedRows, now: number): Map<string, StoredFamily> {
  const series = new Map<string, StoredSeries[]>();
  const seen = new Map<string, number>();
  for (let i = 0; i < rows.sampleCount; i++) {
    const j = rows.sampleSeries[i]!;
    const name = rows.seriesName[j]!;
    const pairs = [...rows.seriesLabels[j]!];
    const t = rows.sampleT[i]!;
    const s: StoredSeries = t === now
      ? { name, pairs, v: rows.sampleV[i]! }
      : { name, pairs, v: rows.sampleV[i]!, t };
    const fam = familyName(name, rows.metadata);
    const list = series.get(fam) ?? [];
    series.set(fam, list);
    // The last sample of a series in the push wins.
    const key = `${name}\u0000${pairs.join("\u0000")}`;
    const at = seen.get(key);
    if (at !== undefined) list[at] = s;
    else {
      seen.set(key, list.length);
      list.push(s);
    }
  }
  const out = new Map<string, StoredFamily>();
  for (const [fam, list] of series) {
    const meta = rows.metadata.get(fam);
    out.set(fam, meta ? { meta, series: list } : { series: list });
  }
  // A family announced with # TYPE but without samples is pushed empty (POST clears it).
  for (const [fam, meta] of rows.metadata) if (!out.has(fam)) out.set(fam, { meta, series: [] });
  return out;
}

/** Series of `old` that `next` no longer has. */
function removedSeries(old: Group, next: Group): StoredSeries[] {
  const keep = new Set<string>();
  for (const f of next.families.values()) {
    for (const s of f.series) keep.add(`${s.name}\u0000${s.pairs.join("\u0000")}`);
  }
  const out: StoredSeries[] = [];
  for (const f of old.families.values()) {
    for (const s of f.series) {
      if (s.t === undefined && !keep.has(`${s.name}\u0000${s.pairs.join("\u0000")}`)) out.push(s);
    }
  }
  return out;
}

/** Splits series into lists whose JSON stays under {@linkcode CHUNK_BYTES}. */
function chunked(series: readonly StoredSeries[]): StoredSeries[][] {
  const out: StoredSeries[][] = [[]];
  let size = 0;
  for (const s of series) {
    const n = JSON.stringify(s).length * 2;
    if (size + n > CHUNK_BYTES && out[out.length - 1]!.length > 0) {
      out.push([]);
      size = 0;
    }
    out[out.length - 1]!.push(s);
    size += n;
  }
  return out;
}
