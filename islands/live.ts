/**
 * The browser side of `/ws` (see core/live/PROTOCOL.md): one WebSocket per
 * page, subscriptions replayed after a reconnect, reconnects with
 * exponential backoff and jitter, and the connection state as a signal.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { ApiHistogram, MatrixSeries } from "./api.ts";

/** Connection states shown to the user. */
export type LiveState = "connecting" | "open" | "reconnecting" | "offline";

/** A server message about one subscription. */
export type LiveMessage =
  | { type: "result"; panelId: string; start: number; end: number; series: MatrixSeries[] }
  | { type: "delta"; panelId: string; start: number; end: number; series: MatrixSeries[] }
  | { type: "error"; panelId?: string; error: string };

/** What to subscribe to: a query over a sliding window. */
export interface LiveSubscription {
  readonly panelId: string;
  readonly query: string;
  /** Window length, ms. */
  readonly range: number;
  /** Step, ms. */
  readonly step: number;
  /** Minimum ms between updates (the refresh interval). */
  readonly every?: number;
}

/** Merges `[seconds, point]` pairs into an ascending list; a point at an existing time replaces it. */
function mergePoints<P extends [number, unknown]>(
  list: P[],
  add: readonly P[],
  start: number,
): void {
  for (const p of add) {
    if (p[0] < start) continue;
    const last = list[list.length - 1];
    if (!last || p[0] > last[0]) list.push(p);
    else {
      const j = list.findIndex(([t]) => t >= p[0]);
      if (list[j]![0] === p[0]) list[j] = p;
      else list.splice(j, 0, p);
    }
  }
}

/** The points of `list` at or after `start` (seconds). */
function from<P extends [number, unknown]>(list: readonly P[] | undefined, start: number): P[] {
  if (!list) return [];
  const i = list.findIndex(([t]) => t >= start);
  return i < 0 ? [] : list.slice(i);
}

/**
 * Applies a delta to a series list: drops points (floats and native
 * histograms) before `start` (seconds), appends or replaces the delta's
 * points, and removes series left empty. Returns a new list; the input is
 * not changed.
 */
export function applyDelta(
  current: readonly MatrixSeries[],
  delta: { start: number; series: readonly MatrixSeries[] },
): MatrixSeries[] {
  const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
  const byKey = new Map<
    string,
    {
      metric: Record<string, string>;
      values: [number, string][];
      histograms: [number, ApiHistogram][];
    }
  >();
  for (const s of current) {
    byKey.set(key(s.metric), {
      metric: s.metric,
      values: from(s.values, delta.start),
      histograms: from(s.histograms, delta.start),
    });
  }
  for (const d of delta.series) {
    const k = key(d.metric);
    let cur = byKey.get(k);
    if (!cur) byKey.set(k, cur = { metric: d.metric, values: [], histograms: [] });
    mergePoints(cur.values, d.values ?? [], delta.start);
    mergePoints(cur.histograms, d.histograms ?? [], delta.start);
  }
  const out: MatrixSeries[] = [];
  for (const s of byKey.values()) {
    if (s.histograms.length > 0) out.push(s);
    else if (s.values.length > 0) out.push({ metric: s.metric, values: s.values });
  }
  return out;
}

/** The page's live connection. */
export class LiveConnection {
  readonly state = signal<LiveState>("connecting");
  /** Seconds until the next reconnect attempt, while reconnecting. */
  readonly retryIn = signal(0);
  #ws: WebSocket | undefined;
  #subs = new Map<string, { sub: LiveSubscription; on: (m: LiveMessage) => void }>();
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(readonly url: string) {
    this.#connect();
  }

  #connect(): void {
    if (this.#closed) return;
    this.state.value = this.#attempt === 0 ? "connecting" : "reconnecting";
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.#retry();
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      this.#attempt = 0;
      this.state.value = "open";
      for (const { sub } of this.#subs.values()) this.#send({ type: "subscribe", ...sub });
    };
    ws.onmessage = (ev) => {
      let m: LiveMessage | { type: "pong" };
      try {
        m = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (m.type === "pong") return;
      if (m.type === "error" && !m.panelId) {
        for (const s of this.#subs.values()) s.on(m);
        return;
      }
      if ("panelId" in m && m.panelId) this.#subs.get(m.panelId)?.on(m);
    };
    ws.onclose = () => {
      if (this.#ws === ws) this.#retry();
    };
    ws.onerror = () => {
      // onclose follows.
    };
  }

  #retry(): void {
    if (this.#closed) return;
    this.state.value = "reconnecting";
    this.#attempt++;
    // Exponential backoff capped at 30 s, with full jitter over its upper half.
    const base = Math.min(30_000, 500 * 2 ** Math.min(this.#attempt, 6));
    const delay = base / 2 + Math.random() * base / 2;
    this.retryIn.value = Math.ceil(delay / 1000);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  #send(msg: unknown): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(msg));
  }

  /** Subscribes (replacing a subscription with the same id). */
  subscribe(sub: LiveSubscription, on: (m: LiveMessage) => void): void {
    this.#subs.set(sub.panelId, { sub, on });
    this.#send({ type: "subscribe", ...sub });
  }

  /** Ends one subscription. */
  unsubscribe(panelId: string): void {
    if (this.#subs.delete(panelId)) this.#send({ type: "unsubscribe", panelId });
  }

  /** Ids of the current subscriptions. */
  ids(): string[] {
    return [...this.#subs.keys()];
  }

  /** Closes for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#ws?.close();
    this.state.value = "offline";
  }
}

/** The `/ws` URL of this page's origin. */
export function liveUrl(): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}
