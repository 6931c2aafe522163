/**
 * One notification for one receiver: a snapshot of a group's alerts, and the
 * Alertmanager template data model built from it.
 *
 * @module
 */
import { defineTemplate } from "./template.ts";

/** An alert as it is sent. Times in ms since the epoch; `endsAt` 0 while firing. */
export interface NotificationAlert {
  readonly fingerprint: string;
  readonly status: "firing" | "resolved";
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly generatorURL: string;
  readonly value?: number;
}

/** What a channel delivers; stored in the durable queue as is. */
export interface Notification {
  readonly receiver: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly status: "firing" | "resolved";
  readonly alerts: readonly NotificationAlert[];
  readonly externalURL: string;
  /**
   * How long the firing state stays true without another notification
   * (repeat_interval + group_interval); forwarding sets `endsAt` from it.
   */
  readonly validForMs?: number;
}

/** Go's zero time, which Alertmanager sends for "not ended". */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** RFC 3339 text of a time in ms, or Go's zero time for 0. */
export function rfc3339(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : ZERO_TIME;
}

/** Labels and common labels: sorted names with `SortedPairs`, `Names` and `Values`. */
function kv(obj: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = Object.keys(obj).sort();
  for (const k of keys) out[k] = obj[k];
  Object.defineProperties(out, {
    SortedPairs: { value: () => keys.map((k) => ({ Name: k, Value: obj[k] })) },
    Names: { value: () => keys },
    Values: { value: () => keys.map((k) => obj[k]) },
  });
  return out;
}

function common(
  alerts: readonly NotificationAlert[],
  pick: (a: NotificationAlert) => Readonly<Record<string, string>>,
): Record<string, string> {
  if (alerts.length === 0) return {};
  const out: Record<string, string> = { ...pick(alerts[0]!) };
  for (const a of alerts.slice(1)) {
    const m = pick(a);
    for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  }
  return out;
}

/** Labels every alert of the notification shares. */
export function commonLabels(n: Notification): Record<string, string> {
  return common(n.alerts, (a) => a.labels);
}

/** Annotations every alert of the notification shares. */
export function commonAnnotations(n: Notification): Record<string, string> {
  return common(n.alerts, (a) => a.annotations);
}

/** Builds Alertmanager's template data (`.Status`, `.Alerts`, `.CommonLabels`, …). */
export function templateData(n: Notification): Record<string, unknown> {
  const base = n.externalURL.replace(/\/+$/, "");
  const alerts = n.alerts.map((a) => ({
    Status: a.status,
    Labels: kv(a.labels),
    Annotations: kv(a.annotations),
    StartsAt: new Date(a.startsAt),
    EndsAt: a.endsAt > 0 ? new Date(a.endsAt) : new Date(-62135596800000),
    GeneratorURL: a.generatorURL,
    Fingerprint: a.fingerprint,
    Value: a.value,
    DashboardURL: `${base}/alerts?fingerprint=${a.fingerprint}`,
  }));
  const list = Object.assign([...alerts], {});
  Object.defineProperties(list, {
    Firing: { value: () => alerts.filter((a) => a.Status === "firing") },
    Resolved: { value: () => alerts.filter((a) => a.Status === "resolved") },
  });
  return {
    Receiver: n.receiver,
    Status: n.status,
    Alerts: list,
    GroupLabels: kv(n.groupLabels),
    CommonLabels: kv(commonLabels(n)),
    CommonAnnotations: kv(commonAnnotations(n)),
    ExternalURL: n.externalURL,
    GroupKey: n.groupKey,
  };
}

// Default templates, after Alertmanager's default.tmpl, so pasted configs that
// reference them keep working.
defineTemplate(
  "__subject",
  `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.Values | join " " }}{{ if not .GroupLabels }}{{ .CommonLabels.alertname }}{{ end }}`,
);
defineTemplate(
  "__alertmanagerURL",
  "{{ .ExternalURL }}/alerts?receiver={{ .Receiver | urlquery }}",
);
defineTemplate(
  "__text_alert_list",
  `{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}{{ if .Value }}Value: {{ .Value }}
{{ end }}Started: {{ .StartsAt }}
Source: {{ .GeneratorURL }}
Dashboard: {{ .DashboardURL }}
{{ end }}`,
);
defineTemplate("slack.default.title", `{{ template "__subject" . }}`);
defineTemplate("slack.default.titlelink", `{{ template "__alertmanagerURL" . }}`);
defineTemplate(
  "slack.default.text",
  `{{ range .Alerts }}{{ if .Annotations.summary }}*{{ .Annotations.summary }}*
{{ end }}{{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}
{{ end }}`,
);
defineTemplate("email.default.subject", `{{ template "__subject" . }}`);
defineTemplate(
  "email.default.text",
  `{{ if gt (len .Alerts.Firing) 0 }}[{{ .Alerts.Firing | len }}] Firing
{{ template "__text_alert_list" .Alerts.Firing }}{{ end }}{{ if gt (len .Alerts.Resolved) 0 }}[{{ .Alerts.Resolved | len }}] Resolved
{{ template "__text_alert_list" .Alerts.Resolved }}{{ end }}
View in Perch: {{ template "__alertmanagerURL" . }}
`,
);
defineTemplate(
  "email.default.html",
  `<!DOCTYPE html><html><body style="font-family:sans-serif">
<h2>{{ template "__subject" . }}</h2>
{{ range .Alerts }}<div style="border-left:4px solid {{ if eq .Status "firing" }}#d9534f{{ else }}#5cb85c{{ end }};padding:4px 8px;margin:8px 0">
<strong>{{ .Labels.alertname }}</strong> ({{ .Status }}){{ if .Annotations.summary }}: {{ .Annotations.summary }}{{ end }}<br>
{{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}<br>
{{ if .Annotations.description }}{{ .Annotations.description }}<br>{{ end }}Started {{ .StartsAt }} · <a href="{{ .DashboardURL }}">Dashboard</a> · <a href="{{ .GeneratorURL }}">Source</a>
</div>
{{ end }}<p><a href="{{ template "__alertmanagerURL" . }}">View in Perch</a></p>
</body></html>
`,
);
defineTemplate("pagerduty.default.description", `{{ template "__subject" . }}`);
defineTemplate(
  "pagerduty.default.instances",
  `{{ range . }}{{ .Labels.alertname }}{{ if .Annotations.summary }}: {{ .Annotations.summary }}{{ end }} ({{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }})
{{ end }}`,
);
