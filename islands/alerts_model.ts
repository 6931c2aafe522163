/**
 * Browser-safe shapes and pure helpers of the Alerts page: the API bodies
 * of `/api/v1/alerts`, `/api/v1/rules`, `/api/v2/alerts`, `/api/v2/silences`
 * and `/api/v1/notifications`, and the small decisions the page makes on
 * them (silence matchers from an alert, silenced overlay, delivery result).
 *
 * @module
 */

/** An alert from `/api/v1/alerts` (Prometheus shape). */
export interface ApiAlert {
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly state: "pending" | "firing" | string;
  readonly activeAt?: string;
  readonly keepFiringSince?: string;
  readonly value?: string;
  readonly flapping?: boolean;
}

/** A rule from `/api/v1/rules`. */
export interface ApiRule {
  readonly name: string;
  readonly query: string;
  readonly type: "alerting" | "recording";
  readonly health: "ok" | "err" | "unknown" | string;
  readonly lastError?: string;
  readonly lastEvaluation?: string;
  readonly evaluationTime?: number;
  readonly state?: "inactive" | "pending" | "firing";
  /** `for`, seconds. */
  readonly duration?: number;
  readonly alerts?: readonly ApiAlert[];
  readonly labels?: Record<string, string>;
  /** Threshold rules created over the API carry their id. */
  readonly id?: string;
}

/** A rule group from `/api/v1/rules`. */
export interface ApiRuleGroup {
  readonly name: string;
  readonly file: string;
  /** Seconds. */
  readonly interval: number;
  readonly lastEvaluation?: string;
  readonly evaluationTime?: number;
  readonly rules: readonly ApiRule[];
}

/** An alert as the notifier holds it (`/api/v2/alerts`, Alertmanager shape). */
export interface NotifierAlert {
  readonly labels: Record<string, string>;
  readonly status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
}

/** A silence matcher (Alertmanager v2). */
export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual?: boolean;
}

/** A silence from `/api/v2/silences`. */
export interface ApiSilence {
  readonly id: string;
  readonly matchers: readonly Matcher[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
  readonly status: { state: "active" | "pending" | "expired" | string };
}

/** One row of `/api/v1/notifications`: a finished delivery, or a pending one. */
export interface DeliveryEntry {
  readonly id: string;
  /** When delivery finished (or, pending, when the job was queued). */
  readonly time: string;
  readonly receiver: string;
  readonly channel: string;
  readonly groupKey: string;
  /** The notification's status. */
  readonly state: "firing" | "resolved" | string;
  readonly alerts: readonly { fingerprint: string; alertname: string; status: string }[];
  /** `null` while pending. */
  readonly success: boolean | null;
  /** How a finished delivery ended (absent in older entries and pending ones). */
  readonly outcome?: "delivered" | "failed" | "superseded" | "expired" | string;
  readonly pending: boolean;
  readonly error?: string;
  readonly attempts: number;
  readonly nextAttemptAt?: string;
}

/** Prometheus writes never-evaluated times as year 1. */
export function isZeroTime(iso: string | undefined): boolean {
  if (!iso) return true;
  const t = Date.parse(iso);
  return !Number.isFinite(t) || t <= 0;
}

/** Equality matchers for every label of an alert (what "Silence" starts with). */
export function matchersFor(labels: Record<string, string>): Matcher[] {
  return Object.keys(labels).sort((a, b) => a === "alertname" ? -1 : b === "alertname" ? 1 : 0)
    .map((name) => ({ name, value: labels[name]!, isRegex: false, isEqual: true }));
}

/** A label set's key, independent of key order. */
export function labelsKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** Silence ids that mute each alert, by {@linkcode labelsKey}. */
export function silencedIndex(alerts: readonly NotifierAlert[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of alerts) {
    if (a.status.silencedBy.length > 0) out.set(labelsKey(a.labels), a.status.silencedBy);
  }
  return out;
}

/** How a silence's matcher reads (`name!~"value"`). */
export function matcherText(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual === false ? "!~" : "=~") : m.isEqual === false ? "!=" : "=";
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

/** Active silences first, then pending, then expired; newest end first inside each. */
export function sortSilences(list: readonly ApiSilence[]): ApiSilence[] {
  const rank = (s: ApiSilence) =>
    s.status.state === "active" ? 0 : s.status.state === "pending" ? 1 : 2;
  return [...list].sort((a, b) => rank(a) - rank(b) || Date.parse(b.endsAt) - Date.parse(a.endsAt));
}

/** The outcome of a delivery as a short word and a detail. */
export function deliveryResult(
  e: DeliveryEntry,
): { kind: "sent" | "failed" | "pending" | "superseded"; text: string } {
  if (e.pending || e.success === null) {
    const next = e.nextAttemptAt
      ? `, next try ${new Date(e.nextAttemptAt).toLocaleTimeString()}`
      : "";
    return {
      kind: "pending",
      text: `pending (attempt ${e.attempts}${next})${e.error ? `: ${e.error}` : ""}`,
    };
  }
  if (e.success) {
    return { kind: "sent", text: e.attempts > 1 ? `sent after ${e.attempts} tries` : "sent" };
  }
  if (e.outcome === "superseded") {
    const tries = e.attempts > 0 ? ` after ${e.attempts} tries` : "";
    return { kind: "superseded", text: `replaced by a newer notification for the group${tries}` };
  }
  return {
    kind: "failed",
    text: `gave up after ${e.attempts} tries${e.error ? `: ${e.error}` : ""}`,
  };
}
