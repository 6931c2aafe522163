/**
 * Test helpers: a fake clock, a recording sink and appender.
 *
 * @module
 */
import type { AlertInstance, AlertSink } from "../model/alert.ts";
import type { Labels } from "../model/labels.ts";
import type { Appender, AppendResult, SampleBatch } from "../model/storage.ts";
import type { Clock, TimerId } from "./clock.ts";

interface FakeTimer {
  readonly id: TimerId;
  readonly at: number;
  readonly fn: () => void | Promise<void>;
}

/** A manual clock: `advance(ms)` runs due timers in order, awaiting each callback. */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: FakeTimer[] = [];
  constructor(start = Date.UTC(2024, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void | Promise<void>, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(id: TimerId): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }
  /** Moves time forward by `ms`, running due timers (and awaiting the work they start). */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      let next: FakeTimer | undefined;
      for (const t of this.#timers) if (t.at <= target && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      if (next.at > this.#now) this.#now = next.at;
      await next.fn();
    }
    this.#now = target;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
}

/** A sink that records every put. */
export class RecordingSink implements AlertSink {
  readonly puts: { alerts: AlertInstance[]; now: number }[] = [];
  fail = false;
  put(alerts: readonly AlertInstance[], now: number): Promise<void> {
    if (this.fail) return Promise.reject(new Error("sink down"));
    this.puts.push({ alerts: [...alerts], now });
    return Promise.resolve();
  }
  /** Every alert put, flattened, as `alertname{...}:state@startsAt`. */
  get all(): AlertInstance[] {
    return this.puts.flatMap((p) => p.alerts);
  }
  /** Distinct (fingerprint, startsAt, state) keys, the notify idempotency key. */
  keys(): Set<string> {
    return new Set(
      this.all.map((a) => `${a.fingerprint}/${a.startsAt}/${a.endsAt > 0 ? "resolved" : "firing"}`),
    );
  }
}

/** An appender that writes into a callback (e.g. MemStore.add) and keeps every sample. */
export class CallbackAppender implements Appender {
  readonly samples: { labels: Labels; t: number; v: number }[] = [];
  constructor(readonly onSample?: (labels: Labels, t: number, v: number) => void) {}
  append(batch: SampleBatch): Promise<AppendResult> {
    for (let i = 0; i < batch.length; i++) {
      const labels = batch.series[batch.ref(i)]!;
      this.samples.push({ labels, t: batch.t(i), v: batch.v(i) });
      this.onSample?.(labels, batch.t(i), batch.v(i));
    }
    return Promise.resolve({ accepted: batch.length, rejected: [] });
  }
  setMetadata(): Promise<void> {
    return Promise.resolve();
  }
}
