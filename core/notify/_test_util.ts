/** Test helpers: alerts, a fake fetch that records requests, a notifier on a fake clock. */
import { createHash } from "node:crypto";
import type { AlertInstance } from "../model/mod.ts";
import { silentLogger } from "../logging/mod.ts";
import { Registry } from "../selfmon/mod.ts";
import { FakeClock } from "./clock.ts";
import { type NotifyConfig, parseNotifyConfig, type RawNotifyConfig } from "./config.ts";
import { createNotifier, type Notifier, type NotifierOptions } from "./notifier.ts";

/** An alert with a fingerprint derived from its labels. */
export function alert(
  labels: Record<string, string>,
  opts: Partial<Omit<AlertInstance, "labels" | "fingerprint">> = {},
): AlertInstance {
  const fp = createHash("sha256").update(
    Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join("\n"),
  ).digest("hex").slice(0, 16);
  return {
    fingerprint: fp,
    labels,
    annotations: opts.annotations ?? {},
    startsAt: opts.startsAt ?? 0,
    endsAt: opts.endsAt ?? 0,
    generatorURL: opts.generatorURL ?? "http://perch/graph",
    value: opts.value,
    flapping: opts.flapping,
  };
}

/** Parses a config or throws with its errors. */
export function config(raw: RawNotifyConfig): NotifyConfig {
  const r = parseNotifyConfig(raw);
  if ("errors" in r) throw new Error(r.errors.join("\n"));
  return r.config;
}

/** A recorded request. */
export interface Recorded {
  readonly url: string;
  readonly headers: Headers;
  readonly body: unknown;
  readonly at: number;
}

/**
 * A fetch that records requests and answers with `statuses` in turn (then
 * 200), or with what `statuses(now)` says; status 0 is a refused connection.
 */
export function fakeFetch(
  clock: { now(): number },
  statuses: number[] | ((now: number) => number) = [],
) {
  const requests: Recorded[] = [];
  const answered: number[] = [];
  /** Clock time of every call, answered or not. */
  const calls: number[] = [];
  const f = (input: string | URL | Request, init?: RequestInit) => {
    const status = typeof statuses === "function" ? statuses(clock.now()) : statuses.shift() ?? 200;
    calls.push(clock.now());
    const text = String(init?.body ?? "");
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* Keep text. */ }
    answered.push(status);
    if (status === 200) {
      requests.push({
        url: String(input),
        headers: new Headers(init?.headers),
        body,
        at: clock.now(),
      });
    }
    if (status === 0) return Promise.reject(new TypeError("connection refused"));
    return Promise.resolve(new Response(status === 200 ? "ok" : "nope", { status }));
  };
  return { fetch: f as typeof fetch, requests, answered, calls, statuses };
}

/** A notifier on a fake clock with an in-memory KV. */
export async function setup(
  raw: RawNotifyConfig,
  opts: {
    statuses?: number[] | ((now: number) => number);
    kv?: Deno.Kv;
    clock?: FakeClock;
  } & Partial<NotifierOptions> = {},
): Promise<{
  notifier: Notifier;
  clock: FakeClock;
  kv: Deno.Kv;
  requests: Recorded[];
  answered: number[];
  calls: number[];
  registry: Registry;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const clock = opts.clock ?? new FakeClock(Date.UTC(2024, 0, 1));
  const kv = opts.kv ?? await Deno.openKv(":memory:");
  const ff = fakeFetch(clock, opts.statuses);
  const registry = new Registry();
  const notifier = createNotifier({
    kv,
    config: config(raw),
    logger: silentLogger(),
    registry,
    clock,
    externalURL: "http://perch.example:8080",
    fetch: ff.fetch,
    queue: { random: () => 0.5, ...opts.queue },
    maxSilenceDurationMs: opts.maxSilenceDurationMs,
    resolveTimeoutMs: opts.resolveTimeoutMs,
  });
  // Deliveries in flight (KV writes, then a retry timer) finish before the clock moves on.
  clock.settleWith(() => notifier.idle());
  await notifier.start();
  return {
    notifier,
    clock,
    kv,
    requests: ff.requests,
    answered: ff.answered,
    calls: ff.calls,
    registry,
    async [Symbol.asyncDispose]() {
      await notifier.stop();
      if (!opts.kv) kv.close();
    },
  };
}

/** A one-receiver webhook config. */
export function webhookConfig(
  route: Record<string, unknown> = {},
  channel: Record<string, unknown> = {},
): RawNotifyConfig {
  return {
    route: {
      receiver: "hook",
      group_by: ["alertname"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      ...route,
    },
    receivers: [{
      name: "hook",
      webhook_configs: [{ url: "http://hook.test/alerts", ...channel }],
    }],
  };
}
