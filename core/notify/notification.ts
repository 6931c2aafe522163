/**
 * One notification for one receiver: a snapshot of a group's alerts, and the
 * Alertmanager template data model built from it.
 *
 * @module
 */
import { type GoValue, notificationData } from "../template/mod.ts";
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

/** Builds Alertmanager's template data (`.Status`, `.Alerts`, `.CommonLabels`, ...) as Go values. */
export function templateData(n: Notification): GoValue {
  const base = n.externalURL.replace(/\/+$/, "");
  return notificationData({
    receiver: n.receiver,
    status: n.status,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
      extra: {
        Value: a.value ?? null,
        DashboardURL: `${base}/alerts?fingerprint=${a.fingerprint}`,
      },
    })),
    groupLabels: n.groupLabels,
    commonLabels: commonLabels(n),
    commonAnnotations: commonAnnotations(n),
    externalURL: n.externalURL,
    extra: { GroupKey: n.groupKey },
  });
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
