/**
 * The browser side of `/ws` (see core/live/PROTOCOL.md): one WebSocket per
 * page, subscriptions replayed after a reconnect, reconnects with
 * exponential backoff and jitter, and the connection state as a signal.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { MatrixSeries } from "./api.ts";

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

/**
 * Applies a delta to a series list: drops points before `start` (seconds),
 * appends or replaces the delta's points, and removes series left empty.
 * Returns a new list; the input is not changed.
 */
export function applyDelta(
  current: readonly MatrixSeries[],
  delta: { start: number; series: readonly MatrixSeries[] },
): MatrixSeries[] {
  const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
  const byKey = new Map<string, MatrixSeries>();
  for (const s of current) {
    const i = s.values.findIndex(([t]) => t >= delta.start);
    byKey.set(key(s.metric), { metric: s.metric, values: i < 0 ? [] : s.values.slice(i) });
  }
  for (const d of delta.series) {
    const k = key(d.metric);
    const cur = byKey.get(k);
    if (!cur) {
      byKey.set(k, { metric: d.metric, values: d.values.filter(([t]) => t >= delta.start) });
      continue;
    }
    const values = cur.values;
    for (const p of d.values) {
      if (p[0] < delta.start) continue;
      const last = values[values.length - 1];
      if (!last || p[0] > last[0]) values.push(p);
      else {
        const j = values.findIndex(([t]) => t >= p[0]);
        if (values[j]![0] === p[0]) values[j] = p;
        else values.splice(j, 0, p);
      }
    }
  }
  return [...byKey.values()].filter((s) => s.values.length > 0);
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
