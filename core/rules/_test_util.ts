/**
 * Test helpers: a fake clock, a recording sink and appender.
 *
 * @module
 */
import type {
  AlertInstance,
  AlertSink,
  Appender,
  AppendResult,
  Labels,
  SampleBatch,
} from "../model/mod.ts";

/** The shared fake clock (core/clock.ts). */
export { FakeClock } from "../clock.ts";

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
