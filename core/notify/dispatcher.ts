/**
 * The dispatcher, modelled on Alertmanager's: an alert store by fingerprint,
 * aggregation groups per route and `group_by` labels, and per-group timers
 * (`group_wait` before the first flush, then every `group_interval`). A flush
 * decides per receiver channel, against the notification log (nflog), whether
 * something new must be said (a new firing alert, a resolution when
 * `send_resolved`, or `repeat_interval` elapsed) and, if so, enqueues a job in
 * the same KV transaction that updates the nflog.
 *
 * Silenced and inhibited alerts keep their state but are left out; they are
 * also dropped from the nflog's firing set, so when the silence ends a still
 * firing alert is new again and notifies. Alerts marked `flapping` are damped:
 * they are shown with the state last notified, and their changes alone never
 * trigger a notification.
 *
 * @module
 */
import { type AlertInstance, sha256Hex } from "../model/mod.ts";
import type { Logger } from "../logging/mod.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { NotifyConfig } from "./config.ts";
import type { RouteConfig } from "./config_route.ts";
import { inhibitedBy } from "./inhibit.ts";
import { KEYS } from "./kv_keys.ts";
import type { Notification, NotificationAlert } from "./notification.ts";
import type { DeliveryQueue, Job } from "./queue.ts";
import { groupKey, groupLabels, matchRoutes } from "./route.ts";
import type { Silences } from "./silences.ts";
import { anyIntervalContains } from "./time_intervals.ts";

/** What was last notified for one group, receiver and channel. */
export interface NflogEntry {
  readonly firing: readonly string[];
  /**
   * Fingerprints the receiver was last told are firing and not yet told are
   * resolved. Unlike `firing`, a silence does not clear them, so a damped
   * (flapping) alert and its resolution still reach the receiver.
   */
  readonly notified?: readonly string[];
  readonly resolved: readonly string[];
  /** When the last notification was enqueued. */
  readonly sentAt: number;
  /** Notifications enqueued so far for this entry. */
  readonly seq: number;
  readonly createdAt: number;
}

interface StoredAlert {
  readonly alert: AlertInstance;
  readonly updatedAt: number;
}

interface Group {
  readonly key: string;
  readonly route: RouteConfig;
  readonly labels: Record<string, string>;
  readonly alerts: Map<string, StoredAlert>;
  timer?: TimerId;
  flushing?: Promise<void>;
}

/** An alert with its current delivery status, for the API. */
export interface AlertStatus {
  readonly alert: AlertInstance;
  readonly status: "firing" | "resolved";
  readonly silencedBy: readonly string[];
  readonly inhibitedBy: readonly string[];
  readonly receivers: readonly string[];
  /** When the alert was last put. */
  readonly updatedAt: number;
  /** When it ends: its own `endsAt`, else when it counts as resolved if not refreshed. */
  readonly endsAt: number;
}

const NFLOG_RETENTION_MS = 5 * 86_400_000;

/** The dispatcher; see the module doc. */
export class Dispatcher {
  readonly #alerts = new Map<string, StoredAlert>();
  readonly #groups = new Map<string, Group>();
  #config: NotifyConfig;
  #resolveTimeoutMs: number;
  #running = false;

  constructor(
    private readonly deps: {
      kv: Deno.Kv;
      clock: Clock;
      logger: Logger;
      queue: DeliveryQueue;
      silences: Silences;
      /** Perch's URL; relative generator URLs are made absolute against it. */
      externalURL: () => string;
      /** Firing alerts not updated for this long count as resolved. */
      resolveTimeoutMs: number;
    },
    config: NotifyConfig,
  ) {
    this.#config = config;
    this.#resolveTimeoutMs = deps.resolveTimeoutMs;
  }

  /** Changes how long a firing alert may go without a refresh (a config reload). */
  set resolveTimeoutMs(ms: number) {
    this.#resolveTimeoutMs = ms;
  }

  /** The current config. */
  get config(): NotifyConfig {
    return this.#config;
  }

  /** Starts group timers. */
  start(): void {
    this.#running = true;
    for (const g of this.#groups.values()) this.#arm(g, g.route.groupWait);
  }

  /** Stops timers and waits for flushes in progress. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const g of this.#groups.values()) {
      if (g.timer !== undefined) this.deps.clock.clearTimeout(g.timer);
      g.timer = undefined;
    }
    await Promise.allSettled([...this.#groups.values()].map((g) => g.flushing));
  }

  /** Swaps the config and regroups every alert; the nflog prevents repeats. */
  reload(config: NotifyConfig): void {
    for (const g of this.#groups.values()) {
      if (g.timer !== undefined) this.deps.clock.clearTimeout(g.timer);
    }
    this.#groups.clear();
    this.#config = config;
    const now = this.deps.clock.now();
    for (const s of this.#alerts.values()) this.#route(s, now);
  }

  /** Upserts alerts by fingerprint (the AlertSink contract). */
  put(alerts: readonly AlertInstance[], now: number): Promise<void> {
    for (const a of alerts) {
      const s: StoredAlert = { alert: a, updatedAt: now };
      this.#alerts.set(a.fingerprint, s);
      this.#route(s, now);
    }
    return Promise.resolve();
  }

  /** Every alert in the store with its status at `now`. */
  alerts(now: number): AlertStatus[] {
    const firing = this.#firing(now);
    const out: AlertStatus[] = [];
    for (const s of this.#alerts.values()) {
      const status = this.#status(s, now);
      const inh = status === "firing"
        ? inhibitedBy(this.#config.inhibitRules, s.alert, firing)
        : undefined;
      out.push({
        alert: s.alert,
        status,
        silencedBy: this.deps.silences.mutedBy(s.alert.labels, now),
        inhibitedBy: inh ? [inh] : [],
        receivers: this.#config.route
          ? matchRoutes(this.#config.route, s.alert.labels).map((r) => r.receiver)
          : [],
        updatedAt: s.updatedAt,
        endsAt: s.alert.endsAt > 0 ? s.alert.endsAt : s.updatedAt + this.#resolveTimeoutMs,
      });
    }
    return out;
  }

  /** The aggregation groups: labels, receiver and member fingerprints. */
  groups(): { labels: Record<string, string>; receiver: string; fingerprints: string[] }[] {
    return [...this.#groups.values()].map((g) => ({
      labels: g.labels,
      receiver: g.route.receiver,
      fingerprints: [...g.alerts.keys()],
    }));
  }

  /** Number of aggregation groups. */
  get groupCount(): number {
    return this.#groups.size;
  }

  /** Waits for flushes in progress (tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#groups.values()].map((g) => g.flushing));
  }

  #route(s: StoredAlert, _now: number): void {
    const root = this.#config.route;
    if (!root) return;
    for (const route of matchRoutes(root, s.alert.labels)) {
      const labels = groupLabels(route, s.alert.labels);
      const key = groupKey(route, labels);
      let g = this.#groups.get(key);
      if (!g) {
        g = { key, route, labels, alerts: new Map() };
        this.#groups.set(key, g);
        if (this.#running) this.#arm(g, route.groupWait);
      }
      g.alerts.set(s.alert.fingerprint, s);
    }
  }

  #arm(g: Group, delay: number): void {
    if (g.timer !== undefined) this.deps.clock.clearTimeout(g.timer);
    g.timer = this.deps.clock.setTimeout(() => {
      g.timer = undefined;
      const p = this.#flush(g).catch((e) => {
        this.deps.logger.error("notification flush failed", { group: g.key, error: e });
      }).finally(() => {
        if (g.flushing === p) g.flushing = undefined;
        if (this.#running && this.#groups.get(g.key) === g) {
          if (g.alerts.size === 0) this.#groups.delete(g.key);
          else this.#arm(g, g.route.groupInterval);
        }
      });
      g.flushing = p;
      return p;
    }, delay);
  }

  #status(s: StoredAlert, now: number): "firing" | "resolved" {
    const a = s.alert;
    if (a.endsAt > 0 && a.endsAt <= now) return "resolved";
    if (a.endsAt === 0 && now - s.updatedAt >= this.#resolveTimeoutMs) return "resolved";
    return "firing";
  }

  #firing(now: number): StoredAlert["alert"][] {
    const out: AlertInstance[] = [];
    for (const s of this.#alerts.values()) if (this.#status(s, now) === "firing") out.push(s.alert);
    return out;
  }

  async #flush(g: Group): Promise<void> {
    const now = this.deps.clock.now();
    const snapshot = [...g.alerts.values()];
    const route = g.route;
    const cfg = this.#config;
    const muteByTime = anyIntervalContains(
      route.muteTimeIntervals.flatMap((n) => cfg.timeIntervals.get(n) ?? []),
      now,
    ) ||
      (route.activeTimeIntervals.length > 0 &&
        !anyIntervalContains(
          route.activeTimeIntervals.flatMap((n) => cfg.timeIntervals.get(n) ?? []),
          now,
        ));
    const receiver = cfg.receivers.get(route.receiver);
    if (!muteByTime && receiver) {
      const firingAll = this.#firing(now);
      const view = snapshot.map((s) => {
        const status = this.#status(s, now);
        const muted = this.deps.silences.mutedBy(s.alert.labels, now).length > 0 ||
          (status === "firing" &&
            inhibitedBy(cfg.inhibitRules, s.alert, firingAll) !== undefined);
        return { s, status, muted };
      });
      const jobs: Job[] = [];
      for (let i = 0; i < receiver.channels.length; i++) {
        const job = await this.#flushChannel(g, receiver.name, i, view, now);
        if (job) jobs.push(job);
      }
      if (jobs.length > 0) this.deps.queue.added(jobs);
    }
    // Resolved alerts have been dealt with: drop them unless updated meanwhile.
    for (const s of snapshot) {
      if (this.#status(s, now) !== "resolved") continue;
      if (g.alerts.get(s.alert.fingerprint) === s) g.alerts.delete(s.alert.fingerprint);
      const fp = s.alert.fingerprint;
      if (this.#alerts.get(fp) === s && ![...this.#groups.values()].some((x) => x.alerts.has(fp))) {
        this.#alerts.delete(fp);
      }
    }
  }

  async #flushChannel(
    g: Group,
    receiverName: string,
    index: number,
    view: { s: StoredAlert; status: "firing" | "resolved"; muted: boolean }[],
    now: number,
  ): Promise<Job | undefined> {
    const channel = this.#config.receivers.get(receiverName)!.channels[index]!;
    const nfKey = KEYS.nflog(g.key, receiverName, index);
    const got = await this.deps.kv.get<NflogEntry>(nfKey);
    const entry = got.value;
    const prevFiring = new Set(entry?.firing ?? []);
    const notified = new Set(entry?.notified ?? entry?.firing ?? []);
    const firing: NotificationAlert[] = [];
    const resolved: NotificationAlert[] = [];
    const mutedFps = new Set<string>();
    for (const { s, status, muted } of view) {
      const fp = s.alert.fingerprint;
      if (muted) {
        mutedFps.add(fp);
        continue;
      }
      let st = status;
      if (s.alert.flapping) {
        // Damped: show the state last notified; a never-notified flapping alert waits.
        if (notified.has(fp)) st = "firing";
        else continue;
      }
      const na = toNotificationAlert(s.alert, st, now, this.deps.externalURL());
      (st === "firing" ? firing : resolved).push(na);
    }
    for (const fp of mutedFps) prevFiring.delete(fp);
    const firingSet = new Set(firing.map((a) => a.fingerprint));
    const newFiring = firing.some((a) => !prevFiring.has(a.fingerprint));
    const newlyResolved = resolved.some((a) => notified.has(a.fingerprint));
    const repeat = firing.length > 0 && entry !== null &&
      now - entry.sentAt >= g.route.repeatInterval;
    const send = newFiring || (channel.sendResolved && newlyResolved) || repeat;
    const sameSets = entry !== null && entry.firing.length === firingSet.size &&
      entry.firing.every((f) => firingSet.has(f));
    if (!send && (sameSets || (entry === null && firingSet.size === 0))) return undefined;

    // What the receiver believes after this round: only a sent notification changes it.
    const inView = new Set(view.map((x) => x.s.alert.fingerprint));
    const believed = new Set([...notified].filter((fp) => inView.has(fp)));
    if (send) {
      if (channel.sendResolved) { for (const a of resolved) believed.delete(a.fingerprint); }
      for (const fp of firingSet) believed.add(fp);
    }
    const next: NflogEntry = {
      firing: [...firingSet].sort(),
      notified: [...believed].sort(),
      resolved: resolved.map((a) => a.fingerprint).sort(),
      sentAt: send ? now : entry?.sentAt ?? 0,
      seq: (entry?.seq ?? 0) + (send ? 1 : 0),
      createdAt: entry?.createdAt ?? now,
    };
    const op = this.deps.kv.atomic().check(got).set(nfKey, next, {
      expireIn: Math.max(NFLOG_RETENTION_MS, 2 * g.route.repeatInterval),
    });
    let job: Job | undefined;
    if (send) {
      const alerts = channel.sendResolved ? [...firing, ...resolved] : firing;
      const notification: Notification = {
        receiver: receiverName,
        groupKey: g.key,
        groupLabels: g.labels,
        status: firing.length > 0 ? "firing" : "resolved",
        alerts,
        externalURL: this.deps.externalURL(),
        validForMs: g.route.repeatInterval + g.route.groupInterval,
      };
      const id = sha256Hex(
        [
          g.key,
          receiverName,
          index,
          next.createdAt,
          next.seq,
          next.firing.join(","),
          next.resolved.join(","),
        ]
          .join("\n"),
      ).slice(0, 32);
      job = {
        id,
        seq: this.deps.queue.nextSeq(now),
        receiver: receiverName,
        channelIndex: index,
        channelType: channel.type,
        notification,
        createdAt: now,
        attempts: 0,
        nextAttemptAt: now,
      };
      this.deps.queue.addToAtomic(op, job);
    }
    const res = await op.commit();
    if (!res.ok) {
      // Another flush (or process) got there first; its decision stands.
      this.deps.logger.debug("nflog changed during flush", {
        group: g.key,
        receiver: receiverName,
      });
      return undefined;
    }
    return job;
  }
}

function toNotificationAlert(
  a: AlertInstance,
  status: "firing" | "resolved",
  now: number,
  externalURL: string,
): NotificationAlert {
  return {
    fingerprint: a.fingerprint,
    status,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: status === "resolved" ? (a.endsAt > 0 ? a.endsAt : now) : 0,
    generatorURL: absoluteURL(a.generatorURL, externalURL),
    value: a.value,
  };
}

/**
 * `url` made absolute against `base` when it is a path (rules write
 * `/graph?...` links when no external URL is configured), as receivers and an
 * Alertmanager need a link they can follow.
 */
export function absoluteURL(url: string, base: string): string {
  if (!url.startsWith("/") || url.startsWith("//") || !/^https?:\/\//.test(base)) return url;
  return base.replace(/\/+$/, "") + url;
}
