/**
 * The live subscription hub behind `/ws` (protocol: PROTOCOL.md).
 *
 * Clients subscribe to a query over a sliding window. Identical
 * subscriptions (same query, range, step and update interval) form one
 * group that is evaluated once per due tick and fanned out to every
 * subscriber. A subscriber gets the full result first, then deltas (new
 * points, and the window start so old points drop), with a full resync every
 * `resyncEvery` evaluations. A failing query sends an error to its
 * subscribers only. A client whose send buffer exceeds `maxBufferedBytes` is
 * disconnected instead of buffering without bound.
 *
 * Time comes from a {@linkcode Clock}; tests call {@linkcode LiveHub.tick}
 * with fake time.
 *
 * @module
 */
import { jsonFloat, type Labels } from "../model/mod.ts";

/** A native histogram as the HTTP API writes it (`{count, sum, buckets}`, strings). */
export type LiveHistogram = object;

/** One series of a range query result (ms timestamps); native histograms apart. */
export interface LiveSeries {
  readonly labels: Labels;
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
  readonly histograms?: { readonly t: ArrayLike<number>; readonly h: readonly LiveHistogram[] };
}

/** Runs a range query; `start`, `end` and `step` in ms. Throws on failure. */
export type LiveQueryFn = (
  expr: string,
  start: number,
  end: number,
  step: number,
) => Promise<readonly LiveSeries[]>;

/** A clock: the hub reads time only through it. */
export interface Clock {
  now(): number;
}

/** The hub's view of a connected client (a WebSocket adapter). */
export interface LiveClient {
  /** Queues a text frame. */
  send(text: string): void;
  /** Bytes queued but not yet sent. */
  bufferedAmount(): number;
  /** Closes the connection with a code and reason. */
  close(code: number, reason: string): void;
}

/** Hub settings. */
export interface LiveHubOptions {
  readonly query: LiveQueryFn;
  readonly clock: Clock;
  /** Full result instead of a delta every N evaluations of a group. @default 60 */
  readonly resyncEvery?: number;
  /** A client with more queued bytes than this is dropped. @default 4 MiB */
  readonly maxBufferedBytes?: number;
  /** Smallest accepted step and update interval, ms. @default 1000 */
  readonly minStep?: number;
  /** Longest accepted window, ms. @default 31 days */
  readonly maxRange?: number;
  /** Most points per series a window may hold. @default 11000 */
  readonly maxPoints?: number;
  /** Most subscriptions per client. @default 1000 */
  readonly maxSubscriptionsPerClient?: number;
  /** Called when a client is dropped for being slow (for a counter). */
  readonly onSlowClient?: () => void;
}

/** A `[seconds, "value"]` point as the Prometheus API writes it. */
type Point = [number, string];

interface WireSeries {
  metric: Record<string, string>;
  values: Point[];
  /** `[seconds, histogram]` points, only for series with native histograms. */
  histograms?: [number, LiveHistogram][];
}

interface Group {
  readonly key: string;
  readonly query: string;
  readonly range: number;
  readonly step: number;
  readonly every: number;
  readonly subs: Map<Conn, string>; // Conn -> panelId.
  lastRun: number;
  runs: number;
  running: boolean;
  /** Last result: series key -> last timestamp (ms) sent. */
  last?: { start: number; end: number; series: WireSeries[]; lastT: Map<string, number> };
  /** Subscribers waiting for their first full result. */
  readonly fresh: Set<Conn>;
}

class Conn {
  readonly subs = new Map<string, Group>(); // panelId -> group.
  closed = false;
  constructor(readonly client: LiveClient) {}
}

function metricOf(labels: Labels): Record<string, string> {
  const m: Record<string, string> = {};
  for (const l of labels) m[l.name] = l.value;
  return m;
}

function keyOf(metric: Record<string, string>): string {
  return JSON.stringify(Object.entries(metric).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** A connected client's handle: feed it messages, close it when the socket closes. */
export interface LiveConnection {
  /** Handles one text frame from the client. */
  handle(text: string): void;
  /** Forgets the client (its subscriptions end). */
  close(): void;
}

/** The hub. */
export class LiveHub {
  readonly #o: Required<Omit<LiveHubOptions, "onSlowClient">> & { onSlowClient?: () => void };
  readonly #groups = new Map<string, Group>();
  readonly #conns = new Set<Conn>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(opts: LiveHubOptions) {
    this.#o = {
      resyncEvery: 60,
      maxBufferedBytes: 4 * 1024 * 1024,
      minStep: 1000,
      maxRange: 31 * 86_400_000,
      maxPoints: 11_000,
      maxSubscriptionsPerClient: 1000,
      ...opts,
    };
  }

  /** Number of distinct query groups (for tests and metrics). */
  get groupCount(): number {
    return this.#groups.size;
  }

  /** Number of connected clients. */
  get clientCount(): number {
    return this.#conns.size;
  }

  /** Registers a client. */
  connect(client: LiveClient): LiveConnection {
    const conn = new Conn(client);
    this.#conns.add(conn);
    return {
      handle: (text) => this.#handle(conn, text),
      close: () => this.#drop(conn),
    };
  }

  /** Starts evaluating every `tickMs` with real timers. */
  start(tickMs = 1000): void {
    this.stop();
    this.#timer = setInterval(() => void this.tick(), tickMs);
  }

  /** Stops the timer and forgets every client. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Closes every client (on shutdown). */
  closeAll(): void {
    this.stop();
    for (const c of [...this.#conns]) {
      c.client.close(1001, "server shutting down");
      this.#drop(c);
    }
  }

  /** Evaluates every due group once; resolves when all have sent. */
  async tick(): Promise<void> {
    const now = this.#o.clock.now();
    const due = [...this.#groups.values()].filter((g) =>
      !g.running && (g.fresh.size > 0 || now - g.lastRun >= g.every)
    );
    await Promise.all(due.map((g) => this.#run(g, now)));
  }

  #send(conn: Conn, msg: unknown): void {
    if (conn.closed) return;
    if (conn.client.bufferedAmount() > this.#o.maxBufferedBytes) {
      this.#o.onSlowClient?.();
      conn.client.close(1008, "client too slow: send buffer over limit");
      this.#drop(conn);
      return;
    }
    try {
      conn.client.send(JSON.stringify(msg));
    } catch {
      this.#drop(conn);
    }
  }

  #drop(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    for (const id of [...conn.subs.keys()]) this.#unsubscribe(conn, id);
    this.#conns.delete(conn);
  }

  #handle(conn: Conn, text: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text);
      if (typeof m !== "object" || m === null) throw new Error("not an object");
    } catch {
      this.#send(conn, { type: "error", error: "message must be a JSON object" });
      return;
    }
    switch (m.type) {
      case "ping":
        this.#send(conn, m.id === undefined ? { type: "pong" } : { type: "pong", id: m.id });
        return;
      case "unsubscribe":
        if (typeof m.panelId === "string") this.#unsubscribe(conn, m.panelId);
        return;
      case "subscribe":
        this.#subscribe(conn, m);
        return;
      default:
        this.#send(conn, {
          type: "error",
          error: `unknown message type ${JSON.stringify(m.type)}`,
        });
    }
  }

  #subscribe(conn: Conn, m: Record<string, unknown>): void {
    const panelId = m.panelId;
    if (typeof panelId !== "string" || panelId === "" || panelId.length > 200) {
      this.#send(conn, { type: "error", error: "subscribe: panelId must be a non-empty string" });
      return;
    }
    const bad = (field: string, why: string) =>
      this.#send(conn, { type: "error", panelId, error: `subscribe: ${field} ${why}` });
    const { query, range, step } = m;
    const every = m.every ?? step;
    if (typeof query !== "string" || query.trim() === "" || query.length > 10_000) {
      return bad("query", "must be a non-empty string");
    }
    if (typeof step !== "number" || !(step >= this.#o.minStep)) {
      return bad("step", `must be a number of ms \u2265 ${this.#o.minStep}`);
    }
    if (typeof range !== "number" || !(range >= step) || range > this.#o.maxRange) {
      return bad("range", `must be a number of ms between step and ${this.#o.maxRange}`);
    }
    if (range / step > this.#o.maxPoints) {
      return bad("step", `too small: over ${this.#o.maxPoints} points per series`);
    }
    if (typeof every !== "number" || !(every >= this.#o.minStep)) {
      return bad("every", `must be a number of ms \u2265 ${this.#o.minStep}`);
    }
    if (!conn.subs.has(panelId) && conn.subs.size >= this.#o.maxSubscriptionsPerClient) {
      return bad("panelId", `over the limit of ${this.#o.maxSubscriptionsPerClient} subscriptions`);
    }
    this.#unsubscribe(conn, panelId);
    const key = JSON.stringify([query, range, step, every]);
    let g = this.#groups.get(key);
    if (!g) {
      g = {
        key,
        query,
        range,
        step,
        every,
        subs: new Map(),
        lastRun: -Infinity,
        runs: 0,
        running: false,
        fresh: new Set(),
      };
      this.#groups.set(key, g);
    }
    g.subs.set(conn, panelId);
    conn.subs.set(panelId, g);
    if (g.last) {
      this.#send(conn, { type: "result", panelId, ...this.#full(g) });
    } else g.fresh.add(conn);
  }

  #unsubscribe(conn: Conn, panelId: string): void {
    const g = conn.subs.get(panelId);
    if (!g) return;
    conn.subs.delete(panelId);
    g.subs.delete(conn);
    g.fresh.delete(conn);
    if (g.subs.size === 0) this.#groups.delete(g.key);
  }

  #full(g: Group) {
    const l = g.last!;
    return { start: l.start / 1000, end: l.end / 1000, step: g.step / 1000, series: l.series };
  }

  async #run(g: Group, now: number): Promise<void> {
    g.running = true;
    // Align the window to the step so identical queries line up across ticks.
    const end = Math.floor(now / g.step) * g.step;
    const start = end - g.range;
    let result: readonly LiveSeries[];
    try {
      result = await this.#o.query(g.query, start, end, g.step);
    } catch (e) {
      g.running = false;
      g.lastRun = now;
      const error = e instanceof Error ? e.message : String(e);
      for (const [conn, panelId] of g.subs) this.#send(conn, { type: "error", panelId, error });
      g.fresh.clear();
      g.last = undefined;
      return;
    }
    g.running = false;
    g.lastRun = now;
    g.runs++;
    const prev = g.last;
    const series: WireSeries[] = [];
    const lastT = new Map<string, number>();
    const deltas: WireSeries[] = [];
    for (const s of result) {
      const metric = metricOf(s.labels);
      const k = keyOf(metric);
      const values: Point[] = new Array(s.t.length);
      for (let i = 0; i < s.t.length; i++) values[i] = [s.t[i]! / 1000, jsonFloat(s.v[i]!)];
      const hs = s.histograms;
      const histograms: [number, LiveHistogram][] | undefined = hs && hs.t.length > 0
        ? Array.from(hs.h, (h, i) => [hs.t[i]! / 1000, h])
        : undefined;
      series.push(histograms ? { metric, values, histograms } : { metric, values });
      let lt = s.t.length ? s.t[s.t.length - 1]! : -Infinity;
      if (hs && hs.t.length > 0) lt = Math.max(lt, hs.t[hs.t.length - 1]!);
      lastT.set(k, lt);
      if (prev) {
        const before = prev.lastT.get(k) ?? -Infinity;
        const fresh = values.filter(([t]) => t * 1000 > before);
        const freshH = histograms?.filter(([t]) => t * 1000 > before) ?? [];
        if (freshH.length) deltas.push({ metric, values: fresh, histograms: freshH });
        else if (fresh.length) deltas.push({ metric, values: fresh });
      }
    }
    g.last = { start, end, series, lastT };
    if (g.subs.size === 0) return;
    const resync = !prev || g.runs % this.#o.resyncEvery === 0;
    const full = { type: "result", ...this.#full(g) };
    for (const [conn, panelId] of g.subs) {
      if (resync || g.fresh.has(conn)) {
        this.#send(conn, { ...full, panelId });
      } else {
        this.#send(conn, {
          type: "delta",
          panelId,
          start: start / 1000,
          end: end / 1000,
          series: deltas,
        });
      }
    }
    g.fresh.clear();
  }
}
