import assert from "node:assert/strict";
import { TemplateError } from "../template/mod.ts";
import { compileTemplate } from "./template.ts";
import { type Notification, templateData } from "./notification.ts";

const n: Notification = {
  receiver: "ops",
  groupKey: "0:{}",
  groupLabels: { alertname: "HostDown" },
  status: "firing",
  externalURL: "http://perch:8080",
  alerts: [
    {
      fingerprint: "a",
      status: "firing",
      labels: { alertname: "HostDown", instance: "h1" },
      annotations: { summary: "<b>down</b>" },
      startsAt: 0,
      endsAt: 0,
      generatorURL: "",
      value: 3,
    },
    {
      fingerprint: "b",
      status: "resolved",
      labels: { alertname: "HostDown", instance: "h2" },
      annotations: {},
      startsAt: 0,
      endsAt: 1000,
      generatorURL: "",
    },
  ],
};

Deno.test("templates render Alertmanager's data model", () => {
  const f = (src: string, want: string, html = false) =>
    assert.equal(compileTemplate(src).render(templateData(n), { html }), want, src);
  f("{{ .Status }}", "firing");
  f("{{ .CommonLabels.alertname }}", "HostDown");
  f("{{ range .Alerts }}{{ .Labels.instance }};{{ end }}", "h1;h2;");
  f("{{ range .Alerts.Firing }}{{ .Labels.instance }}{{ end }}", "h1");
  f("{{ len .Alerts.Resolved }}", "1");
  f("{{ .Alerts.Firing | len }}", "1");
  f('{{ if eq .Status "firing" }}F{{ else }}R{{ end }}', "F");
  f('{{ if eq .Status "x" }}1{{ else if eq .Status "firing" }}2{{ end }}', "2");
  f("{{ range $i, $a := .Alerts }}{{ $i }}={{ $a.Labels.instance }} {{ end }}", "0=h1 1=h2 ");
  f("{{ with .CommonLabels.nope }}x{{ else }}none{{ end }}", "none");
  f("a  {{- .Status -}}  b", "afiringb");
  f("{{ .GroupLabels.SortedPairs | len }}", "1");
  f("{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }}{{ end }}", "alertname=HostDown");
  f('{{ printf "%.1f" (index .Alerts 0).Value }}', "3.0");
  f("{{ .CommonLabels.alertname | toUpper }}", "HOSTDOWN");
  f("{{ (index .Alerts 0).Annotations.summary }}", "&lt;b&gt;down&lt;/b&gt;", true);
  f("{{ (index .Alerts 0).Annotations.summary | safeHtml }}", "<b>down</b>", true);
  f('{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" .Status }}', "[firing]");
  f("{{/* comment */}}ok", "ok");
  f('{{ template "__subject" . }}', "[FIRING:1] HostDown");
});

Deno.test("compileTemplate() rejects broken templates with a reason", () => {
  const f = (src: string, re: RegExp) =>
    assert.throws(
      () => compileTemplate(src),
      (e) => e instanceof TemplateError && re.test(e.message),
    );
  f("{{ if .X }}", /missing \{\{end\}\}/);
  f("{{ end }}", /unexpected/);
  f("{{ nosuch .X }}", /function "nosuch" not defined/);
  f("{{ .X ", /unclosed action/);
});

Deno.test("rendering errors are TemplateErrors (the caller falls back to plain text)", () => {
  assert.throws(() => compileTemplate('{{ template "missing" . }}').render({}), TemplateError);
  assert.throws(() => compileTemplate("{{ $nope }}").render({}), TemplateError);
});
