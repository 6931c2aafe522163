import assert from "node:assert/strict";
import { parseNotifyConfig, type RawNotifyConfig } from "./config.ts";
import { matchRoutes } from "./route.ts";

function errorsOf(raw: RawNotifyConfig): string[] {
  const r = parseNotifyConfig(raw);
  return "errors" in r ? r.errors : [];
}

const receivers = [{ name: "r", webhook_configs: [{ url: "http://x.test/" }] }];

Deno.test("parseNotifyConfig() names the path of each problem", () => {
  const f = (raw: RawNotifyConfig, want: string) => {
    const errs = errorsOf(raw);
    assert.ok(errs.some((e) => e.startsWith(want)), `want ${want}, got ${JSON.stringify(errs)}`);
  };
  f({
    route: { receiver: "r" },
    receivers: [receivers[0]!, { name: "b", webhook_configs: [{ url: "nope" }] }],
  }, "receivers[1].webhook_configs[0].url: must be a URL");
  f({ route: { receiver: "x" }, receivers }, 'route.receiver: unknown receiver "x"');
  f(
    { route: { receiver: "r", routes: [{ receiver: "q" }] }, receivers },
    'route.routes[0].receiver: unknown receiver "q"',
  );
  f(
    { route: { receiver: "r", routes: [{ matchers: ['severity=~"("'] }] }, receivers },
    'route.routes[0].matchers[0]: Cannot compile regex "("',
  );
  f(
    { route: { receiver: "r", group_wait: "soon" }, receivers },
    "route.group_wait: must be a duration such as 0s, 30s, 5m",
  );
  // As in Alertmanager, group_wait may be zero but group_interval may not.
  f(
    { route: { receiver: "r", group_wait: "0s", group_interval: "0s" }, receivers },
    "route.group_interval: must be a positive duration",
  );
  f(
    { route: { receiver: "r", mute_time_intervals: ["night"] }, receivers },
    'route.mute_time_intervals[0]: unknown time interval "night"',
  );
  f({
    route: { receiver: "r" },
    receivers: [{ name: "r", email_configs: [{ to: "a", from: "b", smarthost: "nohost" }] }],
  }, "receivers[0].email_configs[0].smarthost: must be host:port");
  f(
    { route: { receiver: "r" }, receivers: [{ name: "r", pagerduty_configs: [{}] }] },
    "receivers[0].pagerduty_configs[0].routing_key: required (or routing_key_file)",
  );
  f({ receivers }, "route: required when receivers are configured");
  f({ route: {}, receivers }, "route: required when receivers are configured");
  f(
    { route: { group_wait: "1s" } as never, receivers },
    "route.receiver: the root route must name",
  );
  // An empty root route without receivers (the config reference's placeholder) routes nothing.
  assert.deepEqual(errorsOf({ route: {}, receivers: [] }), []);
  f(
    { route: { receiver: "r" }, receivers: [...receivers, ...receivers] },
    'receivers[1].name: duplicate receiver "r"',
  );
  f(
    { route: { receiver: "r", group_by: ["a-b"] }, receivers },
    "route.group_by[0]: invalid label name",
  );
  f({ route: { receiver: "r", bogus: 1 } as never, receivers }, "route: unknown field bogus");
  f({
    route: { receiver: "r" },
    receivers,
    time_intervals: [{ name: "t", time_intervals: [{ weekdays: ["funday"] }] }],
  }, 'time_intervals[0].time_intervals[0].weekdays[0]: cannot parse "funday"');
  f({
    route: { receiver: "r" },
    receivers,
    time_intervals: [{ name: "t", time_intervals: [{ location: "Mars/Base" }] }],
  }, 'time_intervals[0].time_intervals[0].location: unknown time zone "Mars/Base"');
});

Deno.test("parseNotifyConfig() accepts an Alertmanager routing section as pasted", () => {
  const r = parseNotifyConfig({
    route: {
      receiver: "team-X-mails",
      group_by: ["alertname", "cluster", "service"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "3h",
      routes: [
        {
          matchers: ['service=~"foo1|foo2|baz"'],
          receiver: "team-X-mails",
          routes: [{ matchers: ['severity="critical"'], receiver: "team-X-pager" }],
        },
        { match: { service: "files" }, receiver: "team-Y-mails", group_by: ["..."] },
      ],
    },
    inhibit_rules: [{
      source_matchers: ['severity="critical"'],
      target_matchers: ['severity="warning"'],
      equal: ["alertname", "cluster", "service"],
    }],
    receivers: [
      {
        name: "team-X-mails",
        email_configs: [{
          to: "team-X+alerts@example.org",
          from: "am@example.org",
          smarthost: "localhost:25",
        }],
      },
      { name: "team-X-pager", pagerduty_configs: [{ routing_key: "abc" }] },
      {
        name: "team-Y-mails",
        email_configs: [{
          to: "team-Y+alerts@example.org",
          from: "am@example.org",
          smarthost: "localhost:25",
        }],
      },
    ],
  });
  if ("errors" in r) throw new Error(r.errors.join("\n"));
  const route = r.config.route!;
  const recv = (labels: Record<string, string>) =>
    matchRoutes(route, labels).map((x) => x.receiver);
  assert.deepEqual(recv({ service: "foo1", severity: "critical" }), ["team-X-pager"]);
  assert.deepEqual(recv({ service: "foo2", severity: "warning" }), ["team-X-mails"]);
  assert.deepEqual(recv({ service: "files" }), ["team-Y-mails"]);
  assert.deepEqual(recv({ service: "other" }), ["team-X-mails"]);
  const pager = matchRoutes(route, { service: "baz", severity: "critical" })[0]!;
  assert.equal(pager.repeatInterval, 3 * 3600_000, "inherited from the root");
  assert.deepEqual(pager.groupBy, ["alertname", "cluster", "service"]);
  assert.equal(matchRoutes(route, { service: "files" })[0]!.groupBy, "all");
  assert.equal(r.config.receivers.get("team-X-mails")!.channels[0]!.sendResolved, false);
  assert.equal(r.config.receivers.get("team-X-pager")!.channels[0]!.sendResolved, true);
});

Deno.test("legacy match and match_re values are taken literally, control characters and regex escapes too", () => {
  const r = parseNotifyConfig({
    route: {
      receiver: "default",
      routes: [
        { match_re: { code: "\\d{3}" }, receiver: "codes" },
        { match: { note: "line\r\nbreak\t\\" }, receiver: "notes" },
      ],
    },
    receivers: [{ name: "default" }, { name: "codes" }, { name: "notes" }],
  });
  if ("errors" in r) throw new Error(r.errors.join("\n"));
  const recv = (labels: Record<string, string>) =>
    matchRoutes(r.config.route!, labels).map((x) => x.receiver);
  assert.deepEqual(recv({ code: "503" }), ["codes"]);
  assert.deepEqual(recv({ code: "ddd" }), ["default"]);
  assert.deepEqual(recv({ note: "line\r\nbreak\t\\" }), ["notes"]);
  assert.deepEqual(recv({ note: "line\\r\nbreak\t\\" }), ["default"]);
});

Deno.test("parseNotifyConfig() with nothing configured sends nothing", () => {
  const r = parseNotifyConfig({});
  assert.ok("config" in r);
  assert.equal(r.config.route, undefined);
});

Deno.test("parseNotifyConfig() applies Alertmanager's global defaults, reads *_file secrets, warns on what it ignores", () => {
  const files: Record<string, string> = {
    "/s/slack": "https://hooks.slack.test/F\n",
    "/s/pw": "pw",
    "/etc/alertmanager/a.tmpl": 'text outside {{ define "my.title" }}T {{ .Status }}{{ end }}',
  };
  const r = parseNotifyConfig({
    global: {
      smtp_from: "perch@example.com",
      smtp_smarthost: "mail.example.com:587",
      smtp_auth_username: "u",
      smtp_auth_password_file: "/s/pw",
      smtp_require_tls: false,
      pagerduty_url: "https://pd.test/v2/enqueue",
      http_config: { bearer_token: "global-token" },
      scrape_interval: 15000, // Perch's own global settings are not the notifier's business.
    },
    templates: ["/etc/alertmanager/*.tmpl"],
    route: { receiver: "r", group_wait: "0s", mute_time_intervals: ["night"] },
    mute_time_intervals: [{ name: "night", time_intervals: [{ weekdays: ["sunday"] }] }],
    receivers: [{
      name: "r",
      email_configs: [{ to: "ops@example.com" }],
      slack_configs: [{ api_url_file: "/s/slack", footer: "f" }],
      pagerduty_configs: [{ routing_key: "k" }, { service_key: "v1" }],
      webhook_configs: [{ url: "http://hook.test/", http_config: { oauth2: { client_id: "c" } } }],
      opsgenie_configs: [{ api_key: "x" }],
    }],
  }, { readFile: (f) => files[f] ?? "", listDir: () => ["a.tmpl", "notes.txt"] });
  if ("errors" in r) throw new Error(r.errors.join("\n"));
  const ch = r.config.receivers.get("r")!.channels;
  assert.deepEqual(ch.map((c) => c.type), ["webhook", "email", "slack", "pagerduty"]);
  const email = ch.find((c) => c.type === "email")!;
  assert.equal(email.type === "email" && email.from, "perch@example.com");
  assert.equal(email.type === "email" && email.smarthost, "mail.example.com:587");
  assert.equal(email.type === "email" && email.authPassword, "pw");
  assert.equal(email.type === "email" && email.requireTls, false);
  const slack = ch.find((c) => c.type === "slack")!;
  assert.equal(slack.type === "slack" && slack.apiUrl, "https://hooks.slack.test/F");
  assert.equal(slack.type === "slack" && slack.http.bearerToken, "global-token");
  const pd = ch.find((c) => c.type === "pagerduty")!;
  assert.equal(pd.type === "pagerduty" && pd.url, "https://pd.test/v2/enqueue");
  assert.equal(r.config.route!.groupWait, 0);
  assert.ok(r.config.timeIntervals.has("night"));
  const w = r.warnings.join("\n");
  assert.deepEqual([...r.config.templates!.keys()], ["my.title"]);
  assert.match(w, /pagerduty_configs\[1\]\.service_key: Events API v1 is not supported/);
  assert.match(w, /webhook_configs\[0\]\.http_config: oauth2 not supported/);
  assert.match(w, /opsgenie_configs: Perch cannot send to OpsGenie; this channel is ignored/);

  const missing = parseNotifyConfig({
    route: { receiver: "r" },
    receivers: [{
      name: "r",
      email_configs: [{ to: "a@b" }],
      slack_configs: [{}, {
        api_url: "https://hooks.slack.test/x",
        actions: [{ type: "button", text: "go" }],
      }],
    }],
  });
  assert.ok("errors" in missing);
  assert.deepEqual(missing.errors, [
    "receivers[0].email_configs[0].from: required (or global.smtp_from)",
    "receivers[0].email_configs[0].smarthost: required (or global.smtp_smarthost)",
    "receivers[0].slack_configs[0].api_url: required (or api_url_file, global.slack_api_url)",
    "receivers[0].slack_configs[1].actions[0]: needs url or name",
  ]);
  const unreadable = parseNotifyConfig({
    route: { receiver: "r" },
    receivers: [{ name: "r", webhook_configs: [{ url_file: "/nope" }] }],
  }, {
    readFile: () => {
      throw new Error("No such file");
    },
  });
  assert.ok("errors" in unreadable);
  assert.match(
    unreadable.errors[0]!,
    /webhook_configs\[0\]\.url_file: cannot read "\/nope": No such file/,
  );
});

Deno.test("parseNotifyConfig() names a template file that does not parse", () => {
  const r = parseNotifyConfig({
    templates: ["/t/*.tmpl"],
    route: { receiver: "r" },
    receivers,
  }, { readFile: () => '{{ define "x" }}{{ if }}', listDir: () => ["bad.tmpl"] });
  assert.ok("errors" in r);
  assert.match(r.errors[0]!, /^templates\[0\]: \/t\/bad\.tmpl: cannot parse template: /);
  const none = parseNotifyConfig({
    templates: ["/nowhere/*.tmpl"],
    route: { receiver: "r" },
    receivers,
  });
  assert.ok(!("errors" in none), "a glob that matches nothing is fine");
});
