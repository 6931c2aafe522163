/**
 * The durable delivery queue. Every notification is written to Deno KV as a
 * job before any delivery is tried; jobs are delivered per channel in the
 * order they were enqueued (a failing head job holds back the ones behind
 * it) and deleted in the same atomic KV operation that writes their
 * delivery-log entry. A restart reloads pending jobs and carries on.
 *
 * A job whose delivery fails with a retryable error is never abandoned while
 * it is still true: it is retried at Alertmanager's pace (1 s, growing ×1.5
 * per try to at most 1 min, with jitter) until it is delivered, superseded by
 * a newer job for the same group on the same channel (the older one is
 * dropped and only the newest is sent, carrying the resolutions the older
 * one would have told), or older than `maxAgeMs` (then it is logged as
 * expired and counted). Errors a retry cannot fix (e.g. HTTP 400, 401) end
 * the job at once.
 *
 * Per channel there is a token-bucket rate limit (limited jobs wait) and a
 * circuit breaker: after `breakerThreshold` consecutive failures the whole
 * channel waits the backoff of its failure count (capped at
 * `breakerCooldownMs` and the longest backoff) before any job is tried, so a
 * new head job continues the pace. Both only delay: neither ever drops a job.
 *
 * Delivery is at least once towards the receiver: a crash after the receiver
 * accepted a notification but before the KV commit re-sends it, with the same
 * `Idempotency-Key` header (the job id) so receivers can drop it. Every other
 * path delivers once.
 *
 * @module
 */
import type { Logger } from "../logging/mod.ts";
import { formatDuration } from "../model/mod.ts";
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
  /**
   * How delivery ended: delivered; failed (an error a retry cannot fix);
   * superseded (a newer notification for the group replaced it); expired
   * (not delivered within the maximum age). Absent in entries written
   * before it existed: read `success`.
   */
  readonly outcome?: DeliveryOutcome;
  readonly error?: string;
  readonly attempts: number;
}

/** How a job left the queue. */
export type DeliveryOutcome = "delivered" | "failed" | "superseded" | "expired";

/** Retry and breaker settings. */
export interface QueueOptions {
  /** First retry delay; grows ×{@linkcode BACKOFF_FACTOR} per attempt. @default 1s */
  readonly initialBackoffMs?: number;
  /** Longest delay between two tries (also caps the jitter). @default 1m */
  readonly maxBackoffMs?: number;
  /** Random spread of each delay, ± this fraction. @default 0.2 */
  readonly jitter?: number;
  /**
   * A job not delivered this long after it was enqueued is given up:
   * logged, counted and written to the delivery log as expired. @default 24h
   */
  readonly maxAgeMs?: number;
  /** @default 5 */
  readonly breakerThreshold?: number;
  /** Longest pause of an open circuit; also capped at `maxBackoffMs`. @default 1m */
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
  /** Jobs dropped because a newer one for the same group replaced them. */
  readonly superseded?: Counter;
  /** Jobs given up after the maximum age. */
  readonly expired?: Counter;
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

/** Growth of the retry delay per attempt (Alertmanager's backoff multiplier). */
export const BACKOFF_FACTOR = 1.5;

/**
 * Exponential backoff with jitter for the n-th retry (n >= 1): `initial` ×
 * 1.5^n^-¹, spread by ± `jitter`, never above `max`.
 */
export function backoffMs(
  attempt: number,
  initial: number,
  max: number,
  jitter: number,
  random: () => number,
): number {
  const base = Math.min(max, initial * BACKOFF_FACTOR ** (attempt - 1));
  return Math.round(Math.min(max, base * (1 + jitter * (2 * random() - 1))));
}

/** Powers of two: the attempts whose failure is logged as a warning (the rest at debug). */
function loudAttempt(n: number): boolean {
  return (n & (n - 1)) === 0;
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
  #o: Required<QueueOptions>;
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
    this.#o = resolveOptions(opts.options ?? {});
  }

  /** Applies new retry settings (a config reload); pending jobs keep their next try time. */
  setOptions(options: QueueOptions): void {
    this.#o = resolveOptions(options);
    this.#schedule();
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
    op.set(KEYS.seen(job.id), job.createdAt, {
      expireIn: Math.max(this.#o.logRetentionMs, this.#o.maxAgeMs + 86_400_000),
    });
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

  /** The lane's token bucket for `head`'s channel, kept in step with the config. */
  #bucket(lane: Lane, head: Job, now: number): TokenBucket | undefined {
    const c = this.#channel(head);
    if (!c?.rateLimit) return lane.bucket = undefined;
    if (!lane.bucket || lane.bucket.limit !== c.rateLimit) {
      lane.bucket = new TokenBucket(c.rateLimit, now);
    }
    return lane.bucket;
  }

  /** When the head may be sent: its next try, the breaker and the rate limit. */
  #sendAt(lane: Lane, head: Job, now: number): number {
    const t = Math.max(head.nextAttemptAt, lane.openUntil);
    const bucket = this.#bucket(lane, head, now);
    return bucket ? Math.max(t, bucket.readyAt(Math.max(now, t))) : t;
  }

  /**
   * When the lane needs its turn: to send its head, or earlier to drop a
   * head that a newer job of its group supersedes or that has expired.
   */
  #readyAt(lane: Lane, now: number): number {
    const head = lane.jobs[0];
    if (!head || lane.busy) return Infinity;
    if (this.#supersededAt(lane, 0) >= 0) return now;
    return Math.min(this.#sendAt(lane, head, now), head.createdAt + this.#o.maxAgeMs);
  }

  /** The index of the newest job of the same group after `i`, or -1. */
  #supersededAt(lane: Lane, i: number): number {
    const key = lane.jobs[i]!.notification.groupKey;
    for (let k = lane.jobs.length - 1; k > i; k--) {
      if (lane.jobs[k]!.notification.groupKey === key) return k;
    }
    return -1;
  }

  #schedule(): void {
    if (!this.#running) return;
    const now = this.#clock.now();
    let next = Infinity;
    for (const lane of this.#lanes.values()) {
      const t = this.#readyAt(lane, now);
      if (t <= now) {
        const p = this.#turn(lane).finally(() => {
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

  /** One turn of a lane: drop superseded and expired jobs, then try the head if it is due. */
  async #turn(lane: Lane): Promise<void> {
    lane.busy = true;
    try {
      await this.#dropStale(lane);
      const head = lane.jobs[0];
      if (!head) return;
      const now = this.#clock.now();
      if (this.#sendAt(lane, head, now) > now) return;
      lane.bucket?.take(now);
      await this.#attempt(lane, head);
    } finally {
      lane.busy = false;
    }
  }

  /**
   * Drops every job that a newer job of its group follows in the lane (the
   * newer one takes over the resolutions only the older one carried), and
   * every job older than the maximum age.
   */
  async #dropStale(lane: Lane): Promise<void> {
    for (let i = 0; i < lane.jobs.length;) {
      const k = this.#supersededAt(lane, i);
      if (k < 0) {
        i++;
        continue;
      }
      const old = lane.jobs[i]!;
      const newer = lane.jobs[k]!;
      const merged = carryResolutions(old, newer);
      const now = this.#clock.now();
      const op = this.#kv.atomic().delete(KEYS.job(old.id));
      op.set(
        KEYS.log(now, old.id),
        this.#entry(old, now, "superseded", `superseded by newer notification ${newer.id}`),
        { expireIn: this.#o.logRetentionMs },
      );
      if (merged !== newer) op.set(KEYS.job(newer.id), merged);
      await this.#commit(op);
      // Jobs are only appended meanwhile, so both indexes still hold.
      lane.jobs[k] = merged;
      lane.jobs.splice(i, 1);
      this.#updateGauge();
      this.#metrics.superseded?.labels(old.receiver, old.channelType).inc();
      this.#log.info("notification superseded by a newer one for its group", {
        receiver: old.receiver,
        channel: old.channelType,
        group: old.notification.groupKey,
        attempts: old.attempts,
      });
    }
    const now = this.#clock.now();
    for (const job of [...lane.jobs]) {
      if (now - job.createdAt < this.#o.maxAgeMs) continue;
      const error = `expired: not delivered within ${formatDuration(this.#o.maxAgeMs)}` +
        (job.lastError ? `; last error: ${job.lastError}` : "");
      this.#log.error("notification expired undelivered", {
        receiver: job.receiver,
        channel: job.channelType,
        group: job.notification.groupKey,
        attempts: job.attempts,
        error,
      });
      await this.#finish(lane, { ...job, lastError: error }, now, "expired");
    }
  }

  async #attempt(lane: Lane, head: Job): Promise<void> {
    const job: Job = { ...head, attempts: head.attempts + 1 };
    // Count the attempt durably first: a crash loop shows in the attempts.
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
      if (lane.failures >= this.#o.breakerThreshold) {
        this.#log.info("notification channel recovered", {
          receiver: job.receiver,
          channel: job.channelType,
          failures: lane.failures,
        });
      }
      lane.failures = 0;
      lane.openUntil = 0;
      await this.#finish(lane, job, now, "delivered");
      return;
    }
    lane.failures++;
    if (lane.failures >= this.#o.breakerThreshold) {
      // The channel as a whole backs off like a job would after this many
      // failures: a new head (another group, a superseding notification)
      // continues the pace instead of restarting it.
      const pause = backoffMs(
        lane.failures,
        this.#o.initialBackoffMs,
        Math.min(this.#o.breakerCooldownMs, this.#o.maxBackoffMs),
        this.#o.jitter,
        this.#o.random,
      );
      lane.openUntil = now + pause;
      if (lane.failures === this.#o.breakerThreshold) {
        this.#log.warn("notification channel circuit open; retrying at most every cooldown", {
          receiver: job.receiver,
          channel: job.channelType,
          failures: lane.failures,
          until: new Date(lane.openUntil).toISOString(),
        });
      }
    }
    if (!result.retry) {
      this.#log.error("notification failed with an error a retry cannot fix", {
        receiver: job.receiver,
        channel: job.channelType,
        attempts: job.attempts,
        error: result.error,
      });
      await this.#finish(lane, { ...job, lastError: result.error }, now, "failed");
      return;
    }
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
    // Not later than the expiry, which then ends the job on time.
    const at = Math.min(now + delay, job.createdAt + this.#o.maxAgeMs);
    const next: Job = { ...job, nextAttemptAt: at, lastError: result.error };
    await this.#kv.set(KEYS.job(job.id), next);
    lane.jobs[0] = next;
    this.#metrics.retried.labels(job.receiver, job.channelType).inc();
    const fields = {
      receiver: job.receiver,
      channel: job.channelType,
      attempt: job.attempts,
      retry_in_ms: at - now,
      error: result.error,
    };
    // A receiver down for a day is tried ~1,500 times: warn on tries 1, 2, 4, 8, ...
    if (loudAttempt(job.attempts)) this.#log.warn("notification failed, will retry", fields);
    else this.#log.debug("notification failed, will retry", fields);
  }

  #entry(job: Job, now: number, outcome: DeliveryOutcome, error?: string): DeliveryLogEntry {
    const success = outcome === "delivered";
    return {
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
      outcome,
      error: success ? undefined : error ?? job.lastError,
      attempts: job.attempts,
    };
  }

  async #commit(op: Deno.AtomicOperation): Promise<void> {
    const res = await op.commit();
    if (!res.ok) throw new Error("BUG: unconditional KV commit failed");
  }

  /** Ends `job` (which is in `lane`): dequeue and log in one atomic step. */
  async #finish(lane: Lane, job: Job, now: number, outcome: DeliveryOutcome): Promise<void> {
    // A finished job is never tried again, also after a crash right here.
    await this.#commit(
      this.#kv.atomic()
        .delete(KEYS.job(job.id))
        .set(KEYS.log(now, job.id), this.#entry(job, now, outcome), {
          expireIn: this.#o.logRetentionMs,
        }),
    );
    const i = lane.jobs.findIndex((j) => j.id === job.id);
    if (i >= 0) lane.jobs.splice(i, 1);
    this.#updateGauge();
    const labels = [job.receiver, job.channelType] as const;
    if (outcome === "delivered") {
      this.#metrics.sent.labels(...labels).inc();
      this.#metrics.latency.labels(job.channelType).observe((now - job.createdAt) / 1000);
    } else if (outcome === "expired") {
      this.#metrics.expired?.labels(...labels).inc();
    } else {
      this.#metrics.failed.labels(...labels).inc();
    }
  }
}

function resolveOptions(o: QueueOptions): Required<QueueOptions> {
  return {
    initialBackoffMs: o.initialBackoffMs ?? 1_000,
    maxBackoffMs: o.maxBackoffMs ?? 60_000,
    jitter: o.jitter ?? 0.2,
    maxAgeMs: o.maxAgeMs ?? 86_400_000,
    breakerThreshold: o.breakerThreshold ?? 5,
    breakerCooldownMs: o.breakerCooldownMs ?? 60_000,
    logRetentionMs: o.logRetentionMs ?? 7 * 86_400_000,
    random: o.random ?? Math.random,
  };
}

/**
 * `newer` with the resolved alerts that only `old` carried: a receiver that
 * never got `old` still learns that those alerts resolved. Firing alerts of
 * `old` missing from `newer` are no longer firing and are left out.
 */
export function carryResolutions(old: Job, newer: Job): Job {
  const have = new Set(newer.notification.alerts.map((a) => a.fingerprint));
  const extra = old.notification.alerts.filter((a) =>
    a.status === "resolved" && !have.has(a.fingerprint)
  );
  if (extra.length === 0) return newer;
  return {
    ...newer,
    notification: { ...newer.notification, alerts: [...newer.notification.alerts, ...extra] },
  };
}
