import assert from "node:assert/strict";
import {
  checkTemplate,
  expandTemplate,
  parseTemplate,
  renderTemplate,
  sprintf,
  type TemplateData,
  TemplateParseError,
} from "./template.ts";
import { formatE, formatG, humanize, humanize1024, humanizeDuration } from "./_format.ts";

const data: TemplateData = {
  labels: { instance: "web-1:9100", job: "node", severity: "critical" },
  value: 1234567,
  externalLabels: { site: "barn" },
  externalURL: "http://perch:9090",
};

function r(src: string, d: TemplateData = data): string {
  return renderTemplate(parseTemplate(src), d);
}

Deno.test("renderTemplate() expands labels, value, external labels and URL", () => {
  assert.equal(r("{{ $labels.instance }} is down"), "web-1:9100 is down");
  assert.equal(r("{{ .Labels.job }}/{{ $externalLabels.site }}"), "node/barn");
  assert.equal(r("{{ $externalURL }}/alerts"), "http://perch:9090/alerts");
  assert.equal(r("v={{ $value }}"), "v=1.234567e+06");
  assert.equal(r("v={{ $value }}", { labels: {}, value: 95 }), "v=95");
  assert.equal(r("[{{ $labels.missing }}]"), "[]");
});

Deno.test("renderTemplate() runs humanize functions and pipelines like Prometheus", () => {
  assert.equal(r("{{ humanize $value }}"), "1.235M");
  assert.equal(r("{{ $value | humanize }}"), "1.235M");
  assert.equal(r("{{ 2048 | humanize1024 }}"), "2ki");
  assert.equal(r("{{ 0.1234 | humanizePercentage }}"), "12.34%");
  assert.equal(r("{{ 93784 | humanizeDuration }}"), "1d 2h 3m 4s");
  assert.equal(r("{{ 0.25 | humanizeDuration }}"), "250ms");
  assert.equal(r('{{ printf "%.2f" $value }}'), "1234567.00");
  assert.equal(r('{{ $value | printf "%.1f" }}'), "1234567.0");
  assert.equal(
    r('{{ $labels.job | toUpper }} {{ toLower "AB" }} {{ title "hello world" }}'),
    "NODE ab Hello World",
  );
  assert.equal(r('{{ humanize (printf "%d" 1500) }}'), "1.5k");
  assert.equal(r("{{ $labels.instance | stripPort }}"), "web-1");
});

Deno.test("renderTemplate() handles if/else if/else/end and trim markers", () => {
  const t =
    '{{ if eq $labels.severity "critical" }}PAGE{{ else if gt $value 10.0 }}big{{ else }}ok{{ end }}';
  assert.equal(r(t), "PAGE");
  assert.equal(r(t, { labels: { severity: "warn" }, value: 11 }), "big");
  assert.equal(r(t, { labels: { severity: "warn" }, value: 1 }), "ok");
  assert.equal(r('a  {{- " b " -}}  c'), "a b c");
  assert.equal(r("x{{/* note */}}y"), "xy");
});

Deno.test("parseTemplate() rejects bad syntax with a position", () => {
  const bad = [
    "{{ $labels.x ",
    "{{ nosuch $value }}",
    "{{ $undefined }}",
    "{{ if $value }}x",
    "{{ end }}",
    "{{ range $labels }}{{ end }}",
    '{{ "abc }}',
    "{{ $value | }}",
    "{{ }}",
  ];
  for (const b of bad) {
    assert.throws(() => parseTemplate(b), TemplateParseError, b);
    assert.ok(checkTemplate(b), b);
  }
  assert.equal(checkTemplate("{{ $value | humanize }}"), undefined);
});

Deno.test("expandTemplate() falls back to raw text with an error note on render failure", () => {
  const src = "load {{ humanize $labels.instance }}";
  const out = expandTemplate(src, data);
  assert.ok(out.error?.includes("cannot convert"));
  assert.ok(out.text.startsWith(src + " (template error: "));
  assert.equal(expandTemplate("plain", data).text, "plain");
});

Deno.test("Go number formatting matches fmt for %g, %e and humanize", () => {
  const g: [number, number, string][] = [
    [2.5, 4, "2.5"],
    [100, 4, "100"],
    [12346, 4, "1.235e+04"],
    [0.0001234, 4, "0.0001234"],
    [0.00001234, 4, "1.234e-05"],
    [1e6, -1, "1e+06"],
    [123456, -1, "123456"],
    [NaN, 4, "NaN"],
    [-Infinity, -1, "-Inf"],
    [0, 4, "0"],
  ];
  for (const [v, p, want] of g) assert.equal(formatG(v, p), want, `${v} %.${p}g`);
  assert.equal(formatE(1, -1), "1e+00");
  assert.equal(formatE(0.5, -1), "5e-01");
  assert.equal(formatE(123.25, -1), "1.2325e+02");
  assert.equal(humanize(0.0012), "1.2m");
  assert.equal(humanize(1000), "1k");
  assert.equal(humanize1024(1), "1");
  assert.equal(humanizeDuration(45.5), "45.5s");
  assert.equal(sprintf("%5.1f|%-4s|%03d|%q|%%", [3.14159, "ab", 7, "x"]), '  3.1|ab  |007|"x"|%');
});
