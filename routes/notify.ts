/**
 * Notification routes: silences under `/api/v1/silences` (Perch's
 * `{status, data}` envelope) and `/api/v2/silences` (Alertmanager's shape,
 * so amtool and Grafana work), the delivery log at `/api/v1/notifications`,
 * Alertmanager-compatible `POST/GET /api/v2/alerts`, `/api/v2/status`
 * and `/api/v2/receivers`, and `GET /api/v1/receivers` with
 * `POST /api/v1/receivers/<name>/test` (a test notification sent at once). Errors under `/api/v2` are a JSON string, as
 * Alertmanager sends them (amtool prints it); `/api/v1` errors are Perch's
 * `{error, errors}` object.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import {
  type AlertInstance,
  checkLabelName,
  type Matcher,
  newMatcher,
  sha256Hex,
} from "../core/model/mod.ts";
import {
  type AlertStatus,
  type Notifier,
  parseMatcher,
  type Silence,
  SilenceNotFoundError,
  type SilenceState,
  SilenceValidationError,
} from "../core/notify/mod.ts";
import { jsonError } from "./errors.ts";
import { buildInfo } from "../core/version.ts";
import { ADMIN, READ, WRITE } from "./scope.ts";

/** What the notify routes need. */
export interface NotifyDeps {
  readonly notifier: Notifier;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * The Alertmanager part of the config as YAML, secrets hidden, for
   * `/api/v2/status` (`amtool config show`). @default ""
   */
  readonly alertmanagerConfig?: () => Promise<string>;
  /** Names of the configured receivers. @default none */
  readonly receivers?: () => readonly string[];
  /** When Perch started (`uptime` in `/api/v2/status`). @default when the routes were built */
  readonly startedAt?: Date;
}

/** An `/api/v2` error: a JSON string, as Alertmanager answers. */
function amError(c: Context, status: 400 | 404 | 500, message: string): Response {
  return c.json(message, status);
}

/**
 * Alertmanager's silence filter (`amtool silence query alertname=X`): each
 * filter matcher is tested against the value of the silence's matcher of the
 * same name; an empty-valued filter also accepts a silence without that name
 * (`=`, `=~`) or with it (`!=`, `!~`).
 */
function silenceMatchesFilter(s: Silence, filters: readonly Matcher[]): boolean {
  const values = new Map(s.matchers.map((m) => [m.name, m.value]));
  return filters.every((f) => {
    const negative = f.type === "!=" || f.type === "!~";
    if (f.value === "" && values.has(f.name) === negative) return true;
    return f.matches(values.get(f.name) ?? "");
  });
}

/** Go's zero time, which amtool sends for "not set". */
function unsetTime(ms: number): boolean {
  return ms <= 0;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A silence in Alertmanager's v2 `gettableSilence` shape. */
function v2Silence(s: Silence & { state: SilenceState }) {
  return {
    id: s.id,
    status: { state: s.state },
    updatedAt: iso(s.updatedAt),
    matchers: s.matchers.map((m) => ({ ...m, isEqual: m.isEqual ?? true })),
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    createdBy: s.createdBy,
    comment: s.comment,
  };
}

function silenceError(c: Context, e: unknown, v2 = false): Response {
  if (v2 && (e instanceof SilenceValidationError || e instanceof SilenceNotFoundError)) {
    return amError(c, e instanceof SilenceNotFoundError ? 404 : 400, e.message);
  }
  if (e instanceof SilenceValidationError) {
    return jsonError(
      c,
      400,
      e.message,
      e.errors.map((x) => ({ field: x.field, message: x.message })),
    );
  }
  if (e instanceof SilenceNotFoundError) return jsonError(c, 404, e.message);
  throw e;
}

async function body(c: Context): Promise<Record<string, unknown> | undefined> {
  try {
    const b = await c.req.json();
    return b && typeof b === "object" && !Array.isArray(b) ? b : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the notify router. */
export function notifyRoutes(deps: NotifyDeps): Hono {
  const app = new Hono();
  const n = deps.notifier;
  const now = deps.now ?? Date.now;

  // Perch's API.
  app.get("/api/v1/silences", READ, (c) => {
    const data = n.silences.list().map(v2Silence);
    return c.json({ status: "success", data });
  });
  app.get("/api/v1/silences/:id", READ, (c) => {
    try {
      return c.json({
        status: "success",
        data: v2Silence(n.silences.get(c.req.param("id") ?? "")),
      });
    } catch (e) {
      return silenceError(c, e);
    }
  });
  app.post("/api/v1/silences", ADMIN, async (c) => {
    const b = await body(c);
    if (!b) return jsonError(c, 400, "Request body must be a JSON object");
    try {
      const s = await n.silences.upsert(b);
      return c.json({ status: "success", data: { silenceID: s.id } });
    } catch (e) {
      return silenceError(c, e);
    }
  });
  app.delete("/api/v1/silences/:id", ADMIN, async (c) => {
    try {
      await n.silences.expire(c.req.param("id") ?? "");
      return c.json({ status: "success" });
    } catch (e) {
      return silenceError(c, e);
    }
  });

  // Alertmanager's API v2.
  app.get("/api/v2/silences", READ, (c) => {
    const matchers: Matcher[] = [];
    for (const text of c.req.queries("filter") ?? []) {
      const m = parseMatcher(text);
      if (typeof m === "string") return amError(c, 400, `bad matcher format: ${text}: ${m}`);
      matchers.push(m);
    }
    const list = n.silences.list().filter((s) => silenceMatchesFilter(s, matchers));
    return c.json(list.map(v2Silence));
  });
  app.post("/api/v2/silences", ADMIN, async (c) => {
    const b = await body(c);
    if (!b) return amError(c, 400, "request body must be a JSON object (a postable silence)");
    try {
      const s = await n.silences.upsert(b);
      return c.json({ silenceID: s.id });
    } catch (e) {
      return silenceError(c, e, true);
    }
  });
  for (const path of ["/api/v2/silence/:id", "/api/v2/silences/:id"]) {
    app.get(path, READ, (c) => {
      try {
        return c.json(v2Silence(n.silences.get(c.req.param("id") ?? "")));
      } catch (e) {
        return silenceError(c, e, true);
      }
    });
    app.delete(path, ADMIN, async (c) => {
      try {
        await n.silences.expire(c.req.param("id") ?? "");
        return c.body(null, 200);
      } catch (e) {
        return silenceError(c, e, true);
      }
    });
  }

  // Alertmanager's status (`amtool config show`, `amtool cluster show`): Perch
  // runs no gossip cluster, so the cluster is "disabled" as in a lone Alertmanager.
  const startedAt = deps.startedAt ?? new Date();
  app.get("/api/v2/status", READ, async (c) =>
    c.json({
      cluster: { status: "disabled", peers: [] },
      config: { original: await deps.alertmanagerConfig?.() ?? "" },
      uptime: startedAt.toISOString(),
      versionInfo: buildInfo(),
    }));
  app.get(
    "/api/v2/receivers",
    READ,
    (c) => c.json((deps.receivers?.() ?? []).map((name) => ({ name }))),
  );

  // Perch's receivers list and the "send test notification" action (admin scope).
  app.get(
    "/api/v1/receivers",
    READ,
    (c) =>
      c.json({ status: "success", data: (deps.receivers?.() ?? []).map((name) => ({ name })) }),
  );
  app.post("/api/v1/receivers/:name/test", ADMIN, async (c) => {
    const name = c.req.param("name");
    const results = await n.testReceiver(name);
    if (!results) return jsonError(c, 404, `no receiver named "${name}"`);
    const ok = results.every((r) => r.ok);
    return c.json({ status: "success", data: { receiver: name, ok, channels: results } });
  });

  app.get("/api/v1/notifications", READ, async (c) => {
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      return jsonError(c, 400, "limit must be an integer from 1 to 10000", [
        { field: "limit", value: limitText, message: "must be an integer from 1 to 10000" },
      ]);
    }
    const receiver = c.req.query("receiver") || undefined;
    const log = await n.deliveryLog({ limit, receiver });
    const pending = n.pending().filter((j) => !receiver || j.receiver === receiver).map((j) => ({
      id: j.id,
      time: iso(j.createdAt),
      receiver: j.receiver,
      channel: j.channelType,
      groupKey: j.notification.groupKey,
      state: j.notification.status,
      alerts: j.notification.alerts.map((a) => ({
        fingerprint: a.fingerprint,
        alertname: a.labels.alertname ?? "",
        status: a.status,
      })),
      success: null,
      pending: true,
      error: j.lastError,
      attempts: j.attempts,
      nextAttemptAt: iso(j.nextAttemptAt),
    }));
    const done = log.map((e) => ({
      ...e,
      time: iso(e.time),
      createdAt: iso(e.createdAt),
      pending: false,
    }));
    return c.json({ status: "success", data: [...pending, ...done] });
  });

  // Alertmanager-compatible alert intake, so Prometheus, vmalert or amtool can send here.
  app.post("/api/v2/alerts", WRITE, async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return amError(c, 400, "request body must be a JSON array of alerts");
    }
    if (!Array.isArray(raw)) return amError(c, 400, "request body must be a JSON array of alerts");
    const t = now();
    const alerts: AlertInstance[] = [];
    const errors: string[] = [];
    raw.forEach((a, i) => {
      const labels = a?.labels;
      if (!labels || typeof labels !== "object" || Object.keys(labels).length === 0) {
        errors.push(`[${i}].labels: at least one label pair required`);
        return;
      }
      const bad = Object.keys(labels).map((k) => [k, checkLabelName(k, true)] as const)
        .find(([, problem]) => problem !== undefined);
      if (bad) {
        errors.push(`[${i}].labels.${bad[0]}: ${bad[1]}`);
        return;
      }
      const time = (v: unknown) => typeof v === "string" && v !== "" ? Date.parse(v) : 0;
      let startsAt = time(a.startsAt);
      let endsAt = time(a.endsAt);
      if (!Number.isFinite(startsAt) || !Number.isFinite(endsAt)) {
        errors.push(`[${i}]: startsAt and endsAt must be RFC 3339 times`);
        return;
      }
      // As Alertmanager: an unset (zero) start is now; an unset end leaves it firing.
      if (unsetTime(startsAt)) startsAt = unsetTime(endsAt) ? t : Math.min(t, endsAt);
      if (unsetTime(endsAt)) endsAt = 0;
      if (endsAt > 0 && endsAt < startsAt) {
        errors.push(`[${i}]: start time must be before end time`);
        return;
      }
      const keys = Object.keys(labels).sort();
      alerts.push({
        fingerprint: sha256Hex(keys.map((k) => `${k}=${labels[k]}\n`).join("")),
        labels: Object.fromEntries(keys.map((k) => [k, String(labels[k])])),
        annotations: a.annotations && typeof a.annotations === "object" ? a.annotations : {},
        startsAt,
        // A future endsAt is Prometheus's "valid until": still firing for now.
        endsAt: endsAt > t ? 0 : endsAt,
        generatorURL: typeof a.generatorURL === "string" ? a.generatorURL : "",
      });
    });
    if (errors.length > 0) return amError(c, 400, errors.join("; "));
    await n.sink.put(alerts, t);
    return c.body(null, 200);
  });

  // Alertmanager's filters: active/silenced/inhibited/unprocessed (default
  // true), filter (label matchers, all must match) and receiver (regex).
  /** Alertmanager's alert filters from the query, or an error response. */
  const alertFilter = (c: Context): ((s: AlertStatus) => boolean) | Response => {
    const flag = (name: string) => c.req.query(name) !== "false";
    const show = {
      active: flag("active"),
      silenced: flag("silenced"),
      inhibited: flag("inhibited"),
    };
    const matchers: Matcher[] = [];
    for (const text of c.req.queries("filter") ?? []) {
      const m = parseMatcher(text);
      if (typeof m === "string") return amError(c, 400, `bad matcher format: ${text}: ${m}`);
      matchers.push(m);
    }
    const receiverText = c.req.query("receiver");
    let receiver: Matcher | undefined;
    if (receiverText) {
      try {
        // RE2, fully anchored, as Alertmanager's Go regexp.
        receiver = newMatcher("=~", "receiver", receiverText);
      } catch (e) {
        return amError(c, 400, `failed to parse receiver param: ${(e as Error).message}`);
      }
    }
    return (s) => {
      // Alertmanager does not list alerts whose endsAt has passed.
      if (s.status === "resolved") return false;
      if (!matchers.every((m) => m.matches(s.alert.labels[m.name] ?? ""))) return false;
      if (receiver && !s.receivers.some((r) => receiver.matches(r))) return false;
      if (s.silencedBy.length > 0 && !show.silenced) return false;
      if (s.inhibitedBy.length > 0 && !show.inhibited) return false;
      if (s.silencedBy.length === 0 && s.inhibitedBy.length === 0 && !show.active) return false;
      return true;
    };
  };
  const gettableAlert = (s: AlertStatus) => ({
    fingerprint: s.alert.fingerprint,
    labels: s.alert.labels,
    annotations: s.alert.annotations,
    startsAt: iso(s.alert.startsAt),
    // As Alertmanager: when the alert resolves unless it is refreshed.
    endsAt: iso(s.endsAt),
    updatedAt: iso(s.updatedAt),
    generatorURL: s.alert.generatorURL,
    receivers: [...new Set(s.receivers)].map((name) => ({ name })),
    status: {
      state: s.silencedBy.length > 0 || s.inhibitedBy.length > 0 ? "suppressed" : "active",
      silencedBy: s.silencedBy,
      inhibitedBy: s.inhibitedBy,
    },
  });

  // Alertmanager's filters: active/silenced/inhibited (default true), filter
  // (label matchers, all must match) and receiver (regex).
  app.get("/api/v2/alerts", READ, (c) => {
    const keep = alertFilter(c);
    if (keep instanceof Response) return keep;
    return c.json(n.alerts().filter(keep).map(gettableAlert));
  });

  // Aggregation groups (Grafana's and karma's view), with the same filters;
  // the receiver filter applies to the group's receiver.
  app.get("/api/v2/alerts/groups", READ, (c) => {
    const keep = alertFilter(c);
    if (keep instanceof Response) return keep;
    const out = [];
    for (const g of n.alertGroups()) {
      const alerts = g.alerts.filter((s) => keep({ ...s, receivers: [g.receiver] }));
      if (alerts.length === 0) continue;
      out.push({
        labels: g.labels,
        receiver: { name: g.receiver },
        alerts: alerts.map(gettableAlert),
      });
    }
    return c.json(out);
  });

  return app;
}
