import assert from "node:assert/strict";
import {
  notificationData,
  type NotificationRenderOptions,
  parseAlertTemplate,
  parseNotificationTemplate,
  renderAlertTemplate,
  renderNotificationTemplate,
  type Template,
  TemplateParseError,
  TemplateRenderError,
} from "./mod.ts";

const T0 = Date.UTC(2024, 2, 15, 8, 5, 9, 250); // Friday; Berlin is still on CET, New York on EDT.

const data = notificationData({
  receiver: "team-x",
  status: "firing",
  alerts: [
    {
      status: "firing",
      labels: { zone: "b", alertname: "DiskFull", instance: "h1", a: "1" },
      annotations: { summary: "disk <90%> & more" },
      startsAt: T0,
      endsAt: 0,
      generatorURL: "http://g/1",
      fingerprint: "f1",
      extra: { Value: 0.93 },
    },
    {
      status: "resolved",
      labels: { zone: "a", alertname: "DiskFull", instance: "h2", a: "1" },
      annotations: {},
      startsAt: T0 - 3_600_000,
      endsAt: T0,
      generatorURL: "",
      fingerprint: "f2",
      extra: { Value: null },
    },
  ],
  groupLabels: { alertname: "DiskFull" },
  commonLabels: { alertname: "DiskFull", a: "1", team: "ops" },
  commonAnnotations: {},
  externalURL: "http://perch:8080",
});

const NOW = T0 + 90 * 60_000;

function r(src: string, o: NotificationRenderOptions = {}): string {
  return renderNotificationTemplate(parseNotificationTemplate(src), data, { now: NOW, ...o });
}

function renderErr(src: string): string {
  try {
    r(src);
  } catch (e) {
    assert.ok(e instanceof TemplateRenderError, `${src}: ${e}`);
    return e.message;
  }
  throw new Error(`${src} rendered without error`);
}

Deno.test("notification data has Alertmanager's methods: Firing, Resolved, SortedPairs, Remove, Names, Values, Join", () => {
  const cases: [string, string][] = [
    ["{{ .Alerts.Firing | len }}/{{ len .Alerts.Resolved }}/{{ len .Alerts }}", "1/1/2"],
    ["{{ range .Alerts.Resolved }}{{ .Labels.instance }}{{ end }}", "h2"],
    // alertname first, then the other names sorted.
    [
      "{{ range (index .Alerts 0).Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}",
      "alertname=DiskFull a=1 instance=h1 zone=b ",
    ],
    ['{{ .CommonLabels.Names | join "," }}', "alertname,a,team"],
    // A method at the end of a chain takes the command's arguments.
    ['{{ .CommonLabels.Values.Join "/" }}', "DiskFull/1/ops"],
    ['{{ (.CommonLabels.Remove (stringSlice "team" "a")).Names | join "," }}', "alertname"],
    [
      '{{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}',
      "1 ops",
    ],
    // KV and Pairs print through their String methods.
    [
      "{{ .CommonLabels }} | {{ .GroupLabels.SortedPairs }}",
      "alertname=DiskFull, a=1, team=ops | alertname=DiskFull",
    ],
    ["[{{ .CommonLabels.nope }}] {{ if not .CommonAnnotations }}none{{ end }}", "[] none"],
    ["{{ range $i, $a := .Alerts }}{{ $i }}:{{ $a.Status }} {{ end }}", "0:firing 1:resolved "],
    [
      "{{ (index .Alerts 0).Value }} {{ if (index .Alerts 1).Value }}x{{ else }}no value{{ end }}",
      "0.93 no value",
    ],
  ];
  for (const [src, want] of cases) assert.equal(r(src), want, src);
  assert.match(
    renderErr("{{ .CommonLabels.Values.Join }}"),
    /wrong number of args for Join: want 1 got 0/,
  );
  assert.match(renderErr("{{ .Status.Foo }}"), /can't evaluate field Foo in type string/);
});

Deno.test("notification times print, format, convert zones and subtract as Go's time package does", () => {
  const cases: [string, string][] = [
    ["{{ (index .Alerts 0).StartsAt }}", "2024-03-15 08:05:09.25 +0000 UTC"],
    ["{{ (index .Alerts 0).EndsAt }}", "0001-01-01 00:00:00 +0000 UTC"],
    [
      '{{ (index .Alerts 0).StartsAt | date "Mon, 02 Jan 2006 15:04:05 MST" }}',
      "Fri, 15 Mar 2024 08:05:09 UTC",
    ],
    [
      '{{ (index .Alerts 0).StartsAt | date "2006-01-02T15:04:05.000Z07:00 (pm, day 002)" }}',
      "2024-03-15T08:05:09.250Z (am, day 075)",
    ],
    [
      '{{ (index .Alerts 0).StartsAt | tz "Europe/Berlin" | date "15:04 MST -07:00" }}',
      "09:05 CET +01:00",
    ],
    [
      '{{ (index .Alerts 0).StartsAt | tz "America/New_York" }}',
      "2024-03-15 04:05:09.25 -0400 EDT",
    ],
    ["{{ (index .Alerts 0).StartsAt | since }}", "1h30m0s"],
    ["{{ (index .Alerts 0).StartsAt | since | humanizeDuration }}", "1h 30m 0s"],
    ['{{ now | date "2006-01-02 15:04" }}', "2024-03-15 09:35"],
    ['{{ toDate "2006-01-02" "2024-02-29" | date "Jan _2, 2006" }}', "Feb 29, 2024"],
    ['{{ toDate "2006-01-02" "yesterday" | date "2006" }}', "0001"],
    [
      '{{ mustToDate "02/01/2006 15:04 -0700" "15/03/2024 10:00 +0200" }}',
      "2024-03-15 10:00:00 +0200 +0200",
    ],
  ];
  for (const [src, want] of cases) assert.equal(r(src), want, src);
  assert.match(
    renderErr('{{ mustToDate "2006-01-02" "yesterday" }}'),
    /error calling mustToDate: parsing time "yesterday" as "2006-01-02": cannot parse "yesterday" as "2006"/,
  );
  assert.match(
    renderErr('{{ now | tz "Mars/Base" }}'),
    /error calling tz: unknown time zone Mars\/Base/,
  );
  assert.match(
    renderErr('{{ date "2006" 1 }}'),
    /wrong type for value; expected time.Time; got int/,
  );
});

Deno.test("Alertmanager's string, URL, encoding and collection functions", () => {
  const cases: [string, string][] = [
    ['{{ title "hELLO wORLD" }} {{ toUpper "ab" }} {{ toLower "AB" }}', "Hello World AB ab"],
    ['[{{ trimSpace "\\t x y \\n" }}]', "[x y]"],
    [
      '{{ match "^Disk" .CommonLabels.alertname }} {{ reReplaceAll "(D)isk" "${1}esk $1esk" "Disk" }}',
      // `$1esk` names a group "1esk", which does not exist: empty, as in Go.
      "true Desk ",
    ],
    ['{{ urlUnescape "a%20b+c%2F" }} {{ .Receiver | urlquery }}', "a b c/ team-x"],
    ['{{ urlUnescape "%F0%9F%98%80+😀é" }}', "😀 😀é"],
    [
      '{{ base64encode "perch?>" }} {{ base64encode "perch?>" | base64decode }}',
      "cGVyY2g_Pg== perch?>",
    ],
    ['{{ stringSlice "a" "b" | join "+" }} {{ routeLabels "x" }}.', "a+b ."],
    ['{{ list 1 "a" 2.5 | toJson }} {{ append (list 1) 2 3 | len }}', '[1,"a",2.5] 3'],
    ['{{ dict "b" 1 "a" (list true) | toJson }} {{ (dict "k" "v").k }}', '{"a":[true],"b":1} v'],
    ['{{ "<a&b>" | toJson }}', '"\\u003ca\\u0026b\\u003e"'],
    ["{{ .GroupLabels | toJson }}", '{"alertname":"DiskFull"}'],
    ['{{ eq (safeHtml "a") "a" }} {{ len (safeUrl "abc") }}', "true 3"],
    // Perch's extension: humanize as Prometheus defines it.
    ["{{ 1234567 | humanize }} {{ humanize 0.00042 }}", "1.235M 420u"],
  ];
  for (const [src, want] of cases) assert.equal(r(src), want, src);
  assert.equal(
    r("{{ .Alerts.Firing | toJson }}"),
    '[{"status":"firing","labels":{"a":"1","alertname":"DiskFull","instance":"h1","zone":"b"},' +
      '"annotations":{"summary":"disk \\u003c90%\\u003e \\u0026 more"},' +
      '"startsAt":"2024-03-15T08:05:09.25Z","endsAt":"0001-01-01T00:00:00Z",' +
      '"generatorURL":"http://g/1","fingerprint":"f1","Value":0.93}]',
  );
  assert.match(renderErr('{{ urlUnescape "100%zz" }}'), /invalid URL escape "%zz"/);
  assert.match(renderErr('{{ base64decode "a$b=" }}'), /illegal base64 data at input byte 1/);
  assert.match(renderErr('{{ dict "a" }}'), /dict requires an even number of arguments/);
  assert.match(renderErr("{{ dict 1 2 }}"), /dict keys must be strings/);
  assert.match(renderErr('{{ join "," "ab" }}'), /expected \[\]string; got string/);
});

Deno.test("define, template and block share templates; a missing one fails the render", () => {
  assert.equal(r('{{ define "x" }}<{{ . }}>{{ end }}{{ template "x" .Status }}'), "<firing>");
  assert.equal(
    r('{{ block "y" . }}B:{{ .Receiver }}{{ end }}|{{ template "y" . }}'),
    "B:team-x|B:team-x",
  );
  const shared = parseNotificationTemplate('{{ define "who" }}{{ .Receiver }}{{ end }}').defs;
  const lookup = (name: string): Template | undefined => shared.get(name);
  assert.equal(r('to {{ template "who" . }}', { lookup }), "to team-x");
  // The template's own definitions come before the shared ones.
  assert.equal(r('{{ define "who" }}me{{ end }}{{ template "who" . }}', { lookup }), "me");
  assert.match(renderErr('{{ template "nope" . }}'), /no such template "nope"/);
  assert.match(
    renderErr('{{ define "loop" }}{{ template "loop" . }}{{ end }}{{ template "loop" . }}'),
    /exceeded maximum template depth/,
  );
  // A define sees only `$` (its argument), not the caller's variables.
  assert.throws(
    () => parseNotificationTemplate('{{ $v := 1 }}{{ define "d" }}{{ $v }}{{ end }}'),
    TemplateParseError,
  );
  // Prometheus's alert templates have no define.
  assert.throws(() => parseAlertTemplate('{{ define "d" }}{{ end }}'), TemplateParseError);
});

Deno.test("an HTML render escapes printed values but not safeHtml ones or the template's own text", () => {
  const src =
    '<p>{{ (index .Alerts 0).Annotations.summary }}</p>{{ "<br>" | safeHtml }}{{ safeUrl "a&b" }}';
  assert.equal(r(src, { html: true }), "<p>disk &lt;90%&gt; &amp; more</p><br>a&amp;b");
  assert.equal(r(src), "<p>disk <90%> & more</p><br>a&b");
});

Deno.test("both dialects share Go's functions and humanizeDuration, and differ where their projects do", () => {
  const alert = (src: string) =>
    renderAlertTemplate(parseAlertTemplate(src), { labels: {}, value: 0 });
  const note = (src: string) => r(src);
  for (
    const src of [
      '{{ humanizeDuration 90061 }} {{ humanizeDuration 0.0005 }} {{ humanizeDuration "61" }}',
      '{{ printf "%05.1f|%q|%v" 3.14159 "x" (slice "abc" 1) }}',
      '{{ toUpper "a" }} {{ reReplaceAll "a+" "b" "caat" }} {{ match "^x" "y" }} {{ len "héllo" }}',
      "{{ if and 1 (not 0) }}yes{{ end }} {{ eq 1 2 3 1 }} {{ lt 1.5 2.5 }}",
    ]
  ) assert.equal(alert(src), note(src), src);
  assert.equal(note("{{ humanizeDuration 90061 }}"), "1d 1h 1m 1s");
  // Prometheus's title keeps the rest of a word (cases.NoLower); Alertmanager's lowers it.
  assert.equal(alert('{{ title "hELLO" }}'), "HELLO");
  assert.equal(note('{{ title "hELLO" }}'), "Hello");
  // Each dialect has functions the other lacks.
  assert.throws(
    () => parseNotificationTemplate('{{ query "up" }}'),
    /function "query" not defined/,
  );
  assert.throws(() => parseAlertTemplate('{{ now | date "2006" }}'), /function "date" not defined/);
});
