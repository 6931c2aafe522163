/**
 * The durable delivery queue. Every notification is written to Deno KV as a
 * job before any delivery is tried; jobs are delivered per channel in the
 * order they were enqueued (a failing head job holds back the ones behind
 * it), retried with exponential backoff and jitter, and deleted in the same
 * atomic KV operation that writes their delivery-log entry. A restart reloads
 * pending jobs and carries on.
 *
 * Per channel there is a token-bucket rate limit (limited jobs wait) and a
 * circuit breaker (after `breakerThreshold` consecutive failures the channel
 * pauses for `breakerCooldownMs`; the next attempt is a probe).
 *
 * Delivery is at least once towards the receiver: a crash after the receiver
 * accepted a notification but before the KV commit re-sends it, with the same
 * `Idempotency-Key` header (the job id) so receivers can drop it. Every other
 * path delivers once.
 *
 * @module
 */
import type { Logger } from "../logging/mod.ts";
import type { Counter, Gauge, Histogram } from "../selfmon/mod.ts";
import type { ChannelSender, SendResult } from "./channels/channel.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { ChannelConfig, NotifyConfig } from "./config.ts";
import { KEYS } from "./kv_keys.ts";
import type { Notification } from "./notification.ts";
import { TokenBucket } from "./rate_limit.ts";

/** A queued notification for one channel of one receiver. */
export interface Job {
  /** The idempotency key: stable per (group, state change, receiver, channel). */
  readonly id: string;
  /** Enqueue order (ms time × 1000 + counter). */
  readonly seq: number;
  readonly receiver: string;
  /** Index into the receiver's channels. */
  readonly channelIndex: number;
  readonly channelType: ChannelConfig["type"];
  readonly notification: Notification;
  readonly createdAt: number;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError?: string;
}

/** One line of the delivery log. */
export interface DeliveryLogEntry {
  readonly id: string;
  /** When delivery finished (succeeded or was given up). */
  readonly time: number;
  readonly createdAt: number;
  readonly receiver: string;
  readonly channel: string;
  readonly channelIndex: number;
  readonly groupKey: string;
  /** The notification's status. */
  readonly state: "firing" | "resolved";
  readonly alerts: readonly { fingerprint: string; alertname: string; status: string }[];
  readonly success: boolean;
  readonly error?: string;
  readonly attempts: number;
}

/** Retry and breaker settings. */
export interface QueueOptions {
  /** @default 5 */
  readonly maxAttempts?: number;
  /** First retry delay; doubles per attempt. @default 40s (5 tries span ~10 min) */
  readonly initialBackoffMs?: number;
  /** @default 5m */
  readonly maxBackoffMs?: number;
  /** Random spread of each delay, ± this fraction. @default 0.2 */
  readonly jitter?: number;
  /** @default 5 */
  readonly breakerThreshold?: number;
  /** @default 2m */
  readonly breakerCooldownMs?: number;
  /** How long delivery-log entries are kept. @default 7 days */
  readonly logRetentionMs?: number;
  /** For deterministic jitter in tests. @default Math.random */
  readonly random?: () => number;
}

/** Metrics the queue updates. */
export interface QueueMetrics {
  readonly sent: Counter;
  readonly failed: Counter;
  readonly retried: Counter;
  readonly latency: Histogram;
  readonly queueLength?: Gauge;
}

interface Lane {
  readonly jobs: Job[];
  busy: boolean;
  failures: number;
  openUntil: number;
  bucket?: TokenBucket;
}

/** Exponential backoff with jitter for the n-th retry (n ≥ 1). */
export function backoffMs(
  attempt: number,
  initial: number,
  max: number,
  jitter: number,
  random: () => number,
): number {
  const base = Math.min(max, initial * 2 ** (attempt - 1));
  return Math.round(base * (1 + jitter * (2 * random() - 1)));
}

/** The durable queue; see the module doc. */
export class DeliveryQueue {
  readonly #kv: Deno.Kv;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #senders: Readonly<Record<ChannelConfig["type"], ChannelSender>>;
  readonly #fetch: typeof fetch;
  readonly #metrics: QueueMetrics;
  readonly #config: () => NotifyConfig;
  readonly #lanes = new Map<string, Lane>();
  readonly #o: Required<QueueOptions>;
  #timer: TimerId | undefined;
  #timerAt = Infinity;
  #running = false;
  #counter = 0;
  readonly #inflight = new Set<Promise<void>>();

  constructor(opts: {
    kv: Deno.Kv;
    clock: Clock;
    logger: Logger;
    senders: Readonly<Record<ChannelConfig["type"], ChannelSender>>;
    fetch: typeof fetch;
    metrics: QueueMetrics;
    config: () => NotifyConfig;
    options?: QueueOptions;
  }) {
    this.#kv = opts.kv;
    this.#clock = opts.clock;
    this.#log = opts.logger;
    this.#senders = opts.senders;
    this.#fetch = opts.fetch;
    this.#metrics = opts.metrics;
    this.#config = opts.config;
    const o = opts.options ?? {};
    this.#o = {
      maxAttempts: o.maxAttempts ?? 5,
      initialBackoffMs: o.initialBackoffMs ?? 40_000,
      maxBackoffMs: o.maxBackoffMs ?? 300_000,
      jitter: o.jitter ?? 0.2,
      breakerThreshold: o.breakerThreshold ?? 5,
      breakerCooldownMs: o.breakerCooldownMs ?? 120_000,
      logRetentionMs: o.logRetentionMs ?? 7 * 86_400_000,
      random: o.random ?? Math.random,
    };
  }

  /** Loads pending jobs from KV and starts delivering. */
  async start(): Promise<void> {
    this.#lanes.clear();
    const jobs: Job[] = [];
    for await (const e of this.#kv.list<Job>({ prefix: KEYS.jobPrefix })) jobs.push(e.value);
    jobs.sort((a, b) => a.seq - b.seq);
    for (const j of jobs) this.#lane(j).jobs.push(j);
    this.#running = true;
    if (jobs.length > 0) this.#log.info("resuming notification delivery", { pending: jobs.length });
    this.#updateGauge();
    this.#schedule();
  }

  /** Stops scheduling and waits for attempts in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    await Promise.allSettled([...this.#inflight]);
  }

  /** A sequence number that orders jobs enqueued by this process after all earlier ones. */
  nextSeq(now: number): number {
    return now * 1000 + (this.#counter++ % 1000);
  }

  /**
   * Adds the enqueue of `job` to `op` (which the caller commits, together
   * with its own writes): the job is written only if its id was never
   * enqueued before. Call {@linkcode added} after a successful commit.
   */
  addToAtomic(op: Deno.AtomicOperation, job: Job): void {
    op.check({ key: KEYS.seen(job.id), versionstamp: null });
    op.set(KEYS.job(job.id), job);
    op.set(KEYS.seen(job.id), job.createdAt, { expireIn: this.#o.logRetentionMs });
  }

  /** Makes committed jobs visible to the delivery loop. */
  added(jobs: readonly Job[]): void {
    for (const j of jobs) this.#lane(j).jobs.push(j);
    this.#updateGauge();
    this.#schedule();
  }

  /** Jobs waiting for delivery, oldest first. */
  pending(): Job[] {
    return [...this.#lanes.values()].flatMap((l) => l.jobs).sort((a, b) => a.seq - b.seq);
  }

  /** Number of jobs waiting. */
  get length(): number {
    let n = 0;
    for (const l of this.#lanes.values()) n += l.jobs.length;
    return n;
  }

  /** Delivery-log entries, newest first. */
  async deliveryLog(opts: { limit?: number; receiver?: string } = {}): Promise<DeliveryLogEntry[]> {
    const out: DeliveryLogEntry[] = [];
    const limit = opts.limit ?? 100;
    for await (
      const e of this.#kv.list<DeliveryLogEntry>({ prefix: KEYS.logPrefix }, { reverse: true })
    ) {
      if (opts.receiver && e.value.receiver !== opts.receiver) continue;
      out.push(e.value);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Waits until no attempt is in flight (tests). */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  #lane(j: Job): Lane {
    const key = `${j.receiver}\u0000${j.channelIndex}`;
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { jobs: [], busy: false, failures: 0, openUntil: 0 };
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  #updateGauge(): void {
    this.#metrics.queueLength?.set(this.length);
  }

  #channel(j: Job): ChannelConfig | undefined {
    const c = this.#config().receivers.get(j.receiver)?.channels[j.channelIndex];
    return c && c.type === j.channelType ? c : undefined;
  }

  /** When a lane's head may be tried. */
  #readyAt(lane: Lane, now: number): number {
    const head = lane.jobs[0];
    if (!head || lane.busy) return Infinity;
    let t = Math.max(head.nextAttemptAt, lane.openUntil);
    const c = this.#channel(head);
    if (c?.rateLimit) {
      if (!lane.bucket || lane.bucket.limit !== c.rateLimit) {
        lane.bucket = new TokenBucket(c.rateLimit, now);
      }
      t = Math.max(t, lane.bucket.readyAt(Math.max(now, t)));
    } else lane.bucket = undefined;
    return t;
  }

  #schedule(): void {
    if (!this.#running) return;
    const now = this.#clock.now();
    let next = Infinity;
    for (const lane of this.#lanes.values()) {
      const t = this.#readyAt(lane, now);
      if (t <= now) {
        lane.bucket?.take(now);
        const p = this.#attempt(lane).finally(() => {
          this.#inflight.delete(p);
          this.#schedule();
        });
        this.#inflight.add(p);
      } else if (t < next) next = t;
    }
    if (next < this.#timerAt || (this.#timer === undefined && next < Infinity)) {
      if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
      this.#timerAt = next;
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        this.#schedule();
        return this.idle();
      }, next - now);
    }
  }

  async #attempt(lane: Lane): Promise<void> {
    lane.busy = true;
    try {
      const head = lane.jobs[0]!;
      const job: Job = { ...head, attempts: head.attempts + 1 };
      // Count the attempt durably first, so a crash loop cannot retry forever.
      await this.#kv.set(KEYS.job(job.id), job);
      lane.jobs[0] = job;
      const channel = this.#channel(job);
      let result: SendResult;
      if (!channel) {
        result = { ok: false, retry: false, error: "receiver or channel no longer configured" };
      } else {
        const sender = this.#senders[channel.type];
        try {
          result = await sender(job.notification, channel, {
            fetch: this.#fetch,
            logger: this.#log,
            idempotencyKey: job.id,
            now: this.#clock.now(),
          });
        } catch (e) {
          result = { ok: false, retry: true, error: `BUG: sender threw: ${String(e)}` };
        }
      }
      const now = this.#clock.now();
      if (result.ok) {
        lane.failures = 0;
        lane.openUntil = 0;
        await this.#finish(lane, job, now, true);
        return;
      }
      lane.failures++;
      if (lane.failures >= this.#o.breakerThreshold) {
        lane.openUntil = now + this.#o.breakerCooldownMs;
        this.#log.warn("notification channel circuit open", {
          receiver: job.receiver,
          channel: job.channelType,
          failures: lane.failures,
          until: new Date(lane.openUntil).toISOString(),
        });
      }
      if (result.retry && job.attempts < this.#o.maxAttempts) {
        const delay = Math.max(
          result.retryAfterMs ?? 0,
          backoffMs(
            job.attempts,
            this.#o.initialBackoffMs,
            this.#o.maxBackoffMs,
            this.#o.jitter,
            this.#o.random,
          ),
        );
        const next: Job = { ...job, nextAttemptAt: now + delay, lastError: result.error };
        await this.#kv.set(KEYS.job(job.id), next);
        lane.jobs[0] = next;
        this.#metrics.retried.labels(job.receiver, job.channelType).inc();
        this.#log.warn("notification failed, will retry", {
          receiver: job.receiver,
          channel: job.channelType,
          attempt: job.attempts,
          retry_in_ms: delay,
          error: result.error,
        });
        return;
      }
      this.#log.error("notification failed, giving up", {
        receiver: job.receiver,
        channel: job.channelType,
        attempts: job.attempts,
        error: result.error,
      });
      await this.#finish(lane, { ...job, lastError: result.error }, now, false);
    } finally {
      lane.busy = false;
    }
  }

  async #finish(lane: Lane, job: Job, now: number, success: boolean): Promise<void> {
    const entry: DeliveryLogEntry = {
      id: job.id,
      time: now,
      createdAt: job.createdAt,
      receiver: job.receiver,
      channel: job.channelType,
      channelIndex: job.channelIndex,
      groupKey: job.notification.groupKey,
      state: job.notification.status,
      alerts: job.notification.alerts.map((a) => ({
        fingerprint: a.fingerprint,
        alertname: a.labels.alertname ?? "",
        status: a.status,
      })),
      success,
      error: success ? undefined : job.lastError,
      attempts: job.attempts,
    };
    // Dequeue and log in one atomic step: a delivered job is never tried again.
    const res = await this.#kv.atomic()
      .delete(KEYS.job(job.id))
      .set(KEYS.log(now, job.id), entry, { expireIn: this.#o.logRetentionMs })
      .commit();
    if (!res.ok) throw new Error("BUG: unconditional KV commit failed");
    lane.jobs.shift();
    this.#updateGauge();
    const labels = [job.receiver, job.channelType] as const;
    if (success) {
      this.#metrics.sent.labels(...labels).inc();
      this.#metrics.latency.labels(job.channelType).observe((now - job.createdAt) / 1000);
    } else {
      this.#metrics.failed.labels(...labels).inc();
    }
  }
}
