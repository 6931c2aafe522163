import assert from "node:assert/strict";
import process from "node:process";
import { toLabels } from "../model/mod.ts";
import {
  type AlertTemplateData,
  checkAlertTemplate,
  expandAlertTemplate,
  parseAlertTemplate,
  renderAlertTemplate,
  renderWithQueries,
  TemplateParseError,
  TemplateQueries,
  TemplateRenderError,
  type TemplateSample,
} from "./mod.ts";
import { sprintf } from "./go_fmt.ts";

const data: AlertTemplateData = {
  labels: { instance: "web-1.example.com:9100", job: "node", severity: "critical" },
  value: 1234567,
  externalLabels: { site: "barn" },
  externalURL: "http://perch:9090/perch/",
  time: Date.UTC(2015, 5, 23, 13, 19, 44, 128),
};

function r(src: string, d: AlertTemplateData = data): string {
  return renderAlertTemplate(parseAlertTemplate(src), d);
}

function renderErr(src: string, d: AlertTemplateData = data): string {
  try {
    r(src, d);
  } catch (e) {
    assert.ok(e instanceof TemplateRenderError, `${src}: ${e}`);
    return e.message;
  }
  throw new Error(`${src} rendered without error`);
}

Deno.test("renderAlertTemplate() expands labels, value, external labels and URL", () => {
  assert.equal(r("{{ $labels.instance }} is down"), "web-1.example.com:9100 is down");
  assert.equal(r("{{ .Labels.job }}/{{ $externalLabels.site }}"), "node/barn");
  assert.equal(
    r("{{ $externalURL }}alerts {{ .ExternalURL }}"),
    "http://perch:9090/perch/alerts http://perch:9090/perch/",
  );
  assert.equal(r("v={{ $value }} {{ .Value }}"), "v=1.234567e+06 1.234567e+06");
  assert.equal(r("v={{ $value }}", { labels: {}, value: 95 }), "v=95");
  assert.equal(r("[{{ $labels.missing }}]"), "[]");
  assert.equal(r("{{ $.Labels.job }}"), "node");
});

Deno.test("renderAlertTemplate() runs humanize functions and pipelines like Prometheus", () => {
  assert.equal(r("{{ humanize $value }}"), "1.235M");
  assert.equal(r("{{ $value | humanize }}"), "1.235M");
  assert.equal(r("{{ 2048 | humanize1024 }}"), "2ki");
  assert.equal(r("{{ 0.1234 | humanizePercentage }}"), "12.34%");
  assert.equal(r("{{ 93784 | humanizeDuration }}"), "1d 2h 3m 4s");
  assert.equal(r("{{ 0.25 | humanizeDuration }}"), "250ms");
  assert.equal(r('{{ humanize "1234" }} {{ "0.5" | humanizePercentage }}'), "1.234k 50%");
  assert.equal(r('{{ printf "%.2f" $value }}'), "1234567.00");
  assert.equal(r('{{ $value | printf "%.1f" }}'), "1234567.0");
  assert.equal(r('{{ humanize (printf "%d" 1500) }}'), "1.5k");
});

Deno.test("renderAlertTemplate() handles if/else if/else/end, trim markers and comments", () => {
  const t =
    '{{ if eq $labels.severity "critical" }}PAGE{{ else if gt $value 10.0 }}big{{ else }}ok{{ end }}';
  assert.equal(r(t), "PAGE");
  assert.equal(r(t, { labels: { severity: "warn" }, value: 11 }), "big");
  assert.equal(r(t, { labels: { severity: "warn" }, value: 1 }), "ok");
  assert.equal(r('a  {{- " b " -}}  c'), "a b c");
  assert.equal(r("x{{/* note */}}y {{- /* trimmed */ -}} z"), "xyz");
  assert.equal(r('{{ "}}" }}'), "}}");
});

Deno.test("renderAlertTemplate() ranges over maps, ints and slices with else, break and continue", () => {
  assert.equal(
    r("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
    "instance=web-1.example.com:9100;job=node;severity=critical;",
  );
  assert.equal(
    r("{{ range .Labels }}[{{ . }}]{{ end }}"),
    "[web-1.example.com:9100][node][critical]",
  );
  assert.equal(r("{{ range $externalLabels }}x{{ end }}"), "x");
  assert.equal(r("{{ range .Labels }}x{{ else }}none{{ end }}", { labels: {}, value: 0 }), "none");
  assert.equal(r("{{ range 4 }}{{ . }}{{ end }}"), "0123");
  assert.equal(
    r("{{ range $i := 9 }}{{ if eq $i 4 }}{{ break }}{{ end }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $i }}{{ end }}"),
    "023",
  );
  assert.match(renderErr("{{ range $value }}x{{ end }}"), /range can't iterate over 1.234567e\+06/);
});

Deno.test("renderAlertTemplate() rebinds dot with with/else with/else", () => {
  const t =
    "{{ with $labels.team }}team {{ . }}{{ else with $labels.job }}job {{ . }}{{ else }}nobody{{ end }}";
  assert.equal(r(t), "job node");
  assert.equal(r(t, { labels: { team: "ops" }, value: 0 }), "team ops");
  assert.equal(r(t, { labels: {}, value: 0 }), "nobody");
  assert.equal(r("{{ with .Labels }}{{ .job }}{{ end }}"), "node");
});

Deno.test("renderAlertTemplate() declares, assigns and scopes variables", () => {
  assert.equal(r("{{ $x := 5 }}{{ $x }} {{ $x = 6 }}{{ $x }}"), "5 6");
  assert.equal(
    r('{{ $n := 0 }}{{ range $labels }}{{ $n = 1 }}{{ end }}{{ $n }} {{ $s := "a" }}{{ if true }}{{ $s := "b" }}{{ $s }}{{ end }}{{ $s }}'),
    "1 ba",
  );
  assert.equal(r('{{ $v := printf "%.0f" $value }}{{ $v }}'), "1234567");
  // A variable's scope ends at the `end` of its control structure.
  assert.throws(
    () => parseAlertTemplate("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}"),
    TemplateParseError,
  );
  assert.throws(() => parseAlertTemplate("{{ $z = 1 }}"), TemplateParseError);
});

Deno.test("renderAlertTemplate() compares with Go's typing: ints, floats and strings do not mix", () => {
  assert.equal(
    r("{{ gt $value 1000.0 }} {{ lt 1 2 }} {{ le 2 2 }} {{ ge 1 2 }} {{ ne 1 2 }}"),
    "true true true false true",
  );
  assert.equal(
    r('{{ eq $labels.job "db" "node" }} {{ eq "a" "b" }} {{ lt "a" "b" }}'),
    "true false true",
  );
  assert.match(
    renderErr("{{ gt $value 1 }}"),
    /error calling gt: incompatible types for comparison/,
  );
  assert.match(renderErr('{{ eq 1 "1" }}'), /incompatible types for comparison/);
  assert.match(renderErr("{{ lt true false }}"), /invalid type for comparison/);
  // and/or return an operand and stop at the first decisive one; not negates truth.
  assert.equal(
    r('{{ and 1 0 2 }} {{ or 0 "" "x" }} {{ not "" }} {{ or "x" (index $labels 5) }}'),
    "0 x true x",
  );
  assert.equal(
    r('{{ len $labels }} {{ len "ä" }} {{ index $labels "job" }} {{ index $labels "zz" }}.'),
    "3 2 node .",
  );
  assert.equal(r('{{ slice "abcdef" 1 3 }} {{ print 1 2 "a" "b" 3 }}'), "bc 1 2ab3");
});

Deno.test("printf follows Go's verbs, flags and error notes", () => {
  const cases: [string, string][] = [
    [
      '{{ printf "%s|%d|%f|%.2f|%g|%v|%q|%x" "a" 5 1.5 3.14159 1e21 2.5 "q\\n" 255 }}',
      'a|5|1.500000|3.14|1e+21|2.5|"q\\n"|ff',
    ],
    [
      '{{ printf "%5.1f|%-4s|%03d|%+d|%x|%X|%o|%b" 3.14159 "ab" 7 5 "hi" 255 8 5 }}',
      "  3.1|ab  |007|+5|6869|FF|10|101",
    ],
    [
      '{{ printf "%e|%E|%G|%t|%c|%U|%T|%T" 1234.5678 0.000123 1e-10 true 65 65 $labels 1 }}',
      "1.234568e+03|1.230000E-04|1E-10|true|A|U+0041|map[string]string|int",
    ],
    [
      '{{ printf "%08.3f|%-8.2e|%+.1g|%x" -3.14159 1234.5 0.05 1.0 }}',
      "-003.142|1.23e+03|+0.05|0x1p+00",
    ],
    ['{{ printf "%.4g" 12345.0 }} {{ printf "%.0f %.0f" 2.5 3.5 }}', "1.234e+04 2 4"],
    [
      '{{ printf "%d" 1.5 }} {{ printf "%s" 1 }} {{ printf "%f" "x" }}',
      "%!d(float64=1.5) %!s(int=1) %!f(string=x)",
    ],
    [
      '{{ printf "%d %d" 1 }}|{{ printf "x" 1 "a" }}|{{ printf "%!" }}',
      "1 %!d(MISSING)|x%!(EXTRA int=1, string=a)|%!!(MISSING)",
    ],
    [
      '{{ printf "%[2]s %[1]s" "a" "b" }} {{ printf "%*d" 4 7 }} {{ printf "%v" $labels.job }}',
      "b a    7 node",
    ],
  ];
  for (const [src, want] of cases) assert.equal(r(src), want, src);
  assert.equal(sprintf("%v %v %v", [NaN, Infinity, -Infinity]), "NaN +Inf -Inf");
});

Deno.test("Prometheus string, URL and time functions behave as in Prometheus", () => {
  const cases: [string, string][] = [
    [
      '{{ title "hello world-wide" }} {{ toUpper "ab" }} {{ toLower "AB" }}',
      "Hello World-Wide AB ab",
    ],
    ['{{ match "^web-\\\\d" $labels.instance }} {{ match "db" $labels.instance }}', "true false"],
    ['{{ reReplaceAll "(.*?):(\\\\d+)" "$2/$1" $labels.instance }}', "9100/web-1.example.com"],
    [
      '{{ reReplaceAll "a*" "-" "baaac" }} {{ reReplaceAll "(?P<h>[a-z]+)" "${h}_$1x$$" "ab" }}',
      "-b-c- ab_$",
    ],
    [
      '{{ $labels.instance | stripPort }} {{ stripPort "[::1]:9090" }} {{ stripPort "nohost" }}',
      "web-1.example.com ::1 nohost",
    ],
    [
      '{{ $labels.instance | stripDomain }} {{ stripDomain "10.0.0.1:80" }} {{ stripDomain "a.b" }}',
      "web-1:9100 10.0.0.1:80 a",
    ],
    [
      '{{ graphLink "up{job=\\"a\\"}" }} {{ tableLink "a b" }}',
      "/graph?g0.expr=up%7Bjob%3D%22a%22%7D&g0.tab=0 /graph?g0.expr=a+b&g0.tab=1",
    ],
    ["{{ externalURL }} {{ pathPrefix }}", "http://perch:9090/perch/ /perch/"],
    ['{{ parseDuration "1h30m" }} {{ parseDuration "250ms" }}', "5400 0.25"],
    [
      "{{ now }} {{ now | humanizeTimestamp }}",
      "1.435065584128e+09 2015-06-23 13:19:44.128 +0000 UTC",
    ],
    [
      "{{ toTime 1435065584.128 }} {{ humanizeTimestamp 0 }}",
      "2015-06-23 13:19:44.128 +0000 UTC 1970-01-01 00:00:00 +0000 UTC",
    ],
    [
      '{{ (args 1 "a").arg1 }} {{ (args 1).arg0 }} {{ safeHtml "<b>" }} {{ html "<b>" }} {{ urlquery "a b&" }}',
      "a 1 <b> &lt;b&gt; a+b%26",
    ],
  ];
  for (const [src, want] of cases) assert.equal(r(src), want, src);
  assert.match(renderErr('{{ parseDuration "soon" }}'), /not a valid duration string/);
  assert.match(renderErr('{{ toTime "NaN" }}'), /error calling toTime: value is NaN or Inf/);
  assert.match(renderErr('{{ match "(" "x" }}'), /error calling match: error parsing regexp/);
  assert.match(
    renderErr("{{ toUpper $value }}"),
    /wrong type for value; expected string; got float64/,
  );
  assert.match(renderErr("{{ toUpper 1 }}"), /expected string; found 1/);
});

function sample(labels: Record<string, string>, value: number): TemplateSample {
  return { labels: toLabels(labels.__name__, labels), value };
}

const DB: Record<string, TemplateSample[]> = {
  up: [
    sample({ __name__: "up", instance: "b", __value__: "one" }, 1),
    sample({ __name__: "up", instance: "a" }, 0),
  ],
  "some_metric{job='x'}": [sample({ __name__: "some_metric", job: "x" }, 1234.5)],
  "disk{instance='a'}": [sample({ __name__: "disk", instance: "a" }, 0.5)],
  empty: [],
};

function queries(calls: string[] = []): TemplateQueries {
  return new TemplateQueries((q) => {
    calls.push(q);
    const res = DB[q];
    return res ? Promise.resolve(res) : Promise.reject(new Error(`parse error: unknown ${q}`));
  });
}

async function expandAll(srcs: string[], d: Omit<AlertTemplateData, "queries">, qs = queries()) {
  return await renderWithQueries(
    qs,
    () => srcs.map((s) => expandAlertTemplate(s, { ...d, queries: qs })),
  );
}

Deno.test("query results feed with, range, first, value, label, strvalue and sortByLabel", async () => {
  const calls: string[] = [];
  const out = await expandAll(
    [
      `{{ with query "some_metric{job='x'}" }}{{ . | first | value | humanize }}{{ end }}`,
      `{{ range query "up" }}{{ .Labels.instance }} {{ .Value }};{{ end }}`,
      `{{ range query "up" | sortByLabel "instance" }}{{ label "instance" . }}={{ value . }};{{ end }}`,
      `{{ with query "empty" }}x{{ else }}none{{ end }} {{ len (query "up") }}`,
      `{{ (query "up" | first).Labels.instance }}:{{ query "up" | first | strvalue }}`,
      `{{ range $i, $s := query "up" }}{{ $i }}{{ $s.Labels.__name__ }}{{ end }}`,
    ],
    { labels: {}, value: 0 },
    queries(calls),
  );
  assert.deepEqual(out.map((o) => o.text), [
    "1.234k",
    "b 1;a 0;",
    "a=0;b=1;",
    "none 2",
    "b:one",
    "0up1up",
  ]);
  assert.ok(out.every((o) => o.error === undefined));
  // Each distinct query ran once, however many templates used it.
  assert.deepEqual(calls.sort(), ["empty", "some_metric{job='x'}", "up"]);
});

Deno.test("queries built from labels or other query results are fetched in later rounds", async () => {
  const calls: string[] = [];
  const out = await expandAll(
    [
      `{{ with printf "disk{instance='%s'}" $labels.instance | query }}{{ . | first | value | humanizePercentage }}{{ end }}`,
      `{{ with query "up" | sortByLabel "instance" | first }}{{ with query (printf "disk{instance='%s'}" .Labels.instance) }}{{ (index . 0).Value }}{{ end }}{{ end }}`,
    ],
    { labels: { instance: "a" }, value: 0 },
    queries(calls),
  );
  assert.deepEqual(out.map((o) => o.text), ["50%", "0.5"]);
  assert.deepEqual(calls, ["disk{instance='a'}", "up"]);
});

Deno.test("a failing query or an empty first() falls back to the raw text with Go's message", async () => {
  const [bad, empty, none] = await expandAll([
    `{{ with query "nope(" }}x{{ end }}`,
    `{{ query "empty" | first | value }}`,
    `{{ query "up" }}`,
  ], { labels: {}, value: 0 });
  assert.equal(bad!.text, `{{ with query "nope(" }}x{{ end }} (template error: ${bad!.error})`);
  assert.match(bad!.error!, /executing at <query "nope\(">: error calling query: parse error/);
  assert.match(empty!.error!, /first\(\) called on vector with no elements/);
  assert.equal(none!.error, undefined);
  // Without a TemplateQueries (e.g. a caller that does not fetch), query is an error, not a hang.
  assert.match(
    expandAlertTemplate(`{{ query "up" }}`, { labels: {}, value: 0 }).error!,
    /not available/,
  );
});

Deno.test("renderWithQueries() stops after a bounded number of fetch rounds", async () => {
  let n = 0;
  const qs = new TemplateQueries(() => Promise.resolve([sample({ x: String(++n) }, 1)]));
  // Each round's result names the next query: never settles.
  const src =
    `{{ $q := "q0" }}{{ range 10 }}{{ $q = (query $q | first).Labels.x | printf "q%s" }}{{ end }}{{ $q }}`;
  const out = await renderWithQueries(
    qs,
    () => expandAlertTemplate(src, { labels: {}, value: 0, queries: qs }),
    3,
  );
  assert.match(out.error!, /nest too deep/);
  assert.equal(n, 3);
});

Deno.test("parseAlertTemplate() rejects bad syntax with a position", () => {
  const bad = [
    "{{ $labels.x ",
    "{{ nosuch $value }}",
    "{{ $undefined }}",
    "{{ if $value }}x",
    "{{ end }}",
    "{{ else }}",
    "{{ range $labels }}{{ else if true }}{{ end }}",
    "{{ break }}",
    '{{ "abc }}',
    "{{ $value | }}",
    "{{ }}",
    '{{ $value | "x" }}',
    "{{ 1x }}",
    '{{ define "x" }}{{ end }}',
    "{{ (1 }}",
    '{{ printf"%d" 1 }}',
    "{{/* open }}",
  ];
  for (const b of bad) {
    assert.throws(() => parseAlertTemplate(b), TemplateParseError, b);
    assert.ok(checkAlertTemplate(b)?.startsWith("Cannot parse template at char "), b);
  }
  assert.equal(checkAlertTemplate("{{ $value | humanize }}"), undefined);
  assert.equal(checkAlertTemplate("{{ range $i, $e := query `up` }}{{ $i }}{{ end }}"), undefined);
});

Deno.test("expandAlertTemplate() falls back to raw text with an error note on render failure", () => {
  const src = "load {{ humanize $labels.instance }}";
  const out = expandAlertTemplate(src, data);
  assert.match(
    out.error!,
    /^1:9: executing at <humanize \$labels\.instance>: error calling humanize: strconv\.ParseFloat: parsing "web-1\.example\.com:9100": invalid syntax$/,
  );
  assert.equal(out.text, `${src} (template error: ${out.error})`);
  assert.equal(expandAlertTemplate("plain", data).text, "plain");
});

Deno.test("a runaway template stops at the step budget instead of stalling evaluation", () => {
  // Process CPU time, not wall time: waiting for a busy machine's cores does not count.
  const cpu0 = process.cpuUsage();
  assert.match(renderErr("{{ range 1000000000 }}x{{ end }}"), /exceeded \d+ steps/);
  const cpu = process.cpuUsage(cpu0);
  assert.ok((cpu.user + cpu.system) / 1000 < 5000);
});
