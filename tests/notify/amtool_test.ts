/**
 * Alertmanager compatibility with the real amtool (Debian's
 * prometheus-alertmanager): `config show` and `cluster show` read
 * `/api/v2/status`; `silence add` with a bad silence prints Perch's reason
 * (errors under /api/v2 are JSON strings, as Alertmanager sends them);
 * `alert add` without a start time stores an alert that starts now. Fails
 * when amtool is missing: these tests are the proof of the claim.
 */
import assert from "node:assert/strict";
import { spawnPerch, spawnWithConfig } from "../_perch.ts";
import { requireBinary } from "../_require.ts";

const AMTOOL = "/usr/bin/amtool";

async function amtool(url: string, ...args: string[]) {
  requireBinary(AMTOOL, "prometheus-alertmanager");
  const out = await new Deno.Command(AMTOOL, {
    args: [`--alertmanager.url=${url}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("amtool config show, cluster show, silence add (refused with the reason) and alert add against Perch", async () => {
  const p = await spawnWithConfig(
    `self_scrape: { enabled: false }
self_monitoring_rules: false
route:
  receiver: ops
  group_by: [alertname]
  group_wait: 0s
  routes:
    - matchers: ['severity="page"']
      receiver: pager
receivers:
  - name: ops
    webhook_configs:
      - url: http://127.0.0.1:9/hook
        http_config: { bearer_token: "hook-token-123" }
  - name: pager
    pagerduty_configs: [{ routing_key: "pd-key-456" }]
`,
  );
  try {
    // config show: the routing tree and receivers, secrets hidden.
    const config = await amtool(p.url, "config", "show");
    assert.equal(config.code, 0, config.stderr);
    assert.match(config.stdout, /receiver: ops/);
    assert.match(config.stdout, /matchers:\s*\n\s*- severity="page"/);
    assert.match(config.stdout, /bearer_token: <secret>/);
    assert.doesNotMatch(config.stdout, /hook-token-123|pd-key-456/);

    const cluster = await amtool(p.url, "cluster", "show");
    assert.equal(cluster.code, 0, cluster.stderr);
    assert.match(cluster.stdout, /Cluster Status:\s+disabled/);

    // A silence Perch refuses: amtool prints the reason, not a decoding error.
    const long = await amtool(
      p.url,
      "silence",
      "add",
      "alertname=Disk",
      "--duration=30d",
      "-c",
      "x",
    );
    assert.equal(long.code, 1);
    assert.match(long.stderr, /\[400\].*longer than the maximum/);
    assert.doesNotMatch(long.stderr, /cannot unmarshal/);
    const empty = await amtool(p.url, "silence", "add", "alertname=~.*", "-c", "x");
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /\[400\].*must not match the empty string/);
    const ok = await amtool(p.url, "silence", "add", "alertname=Disk", "-d", "1h", "-c", "fix");
    assert.equal(ok.code, 0, ok.stderr);
    const query = await amtool(p.url, "silence", "query", "-o", "json");
    const silences = JSON.parse(query.stdout) as { id: string; comment: string }[];
    assert.deepEqual(silences.map((s) => [s.id, s.comment]), [[ok.stdout.trim(), "fix"]]);
    // The query's matchers filter on the server, as Alertmanager does.
    const other = await amtool(p.url, "silence", "query", "alertname=Other", "-o", "json");
    assert.deepEqual(JSON.parse(other.stdout), []);

    // alert add sends Go's zero time as startsAt: the alert starts now, not in year 1.
    const before = Date.now();
    const add = await amtool(
      p.url,
      "alert",
      "add",
      "alertname=AmtoolTest",
      "severity=info",
      "--annotation=summary=from amtool",
    );
    assert.equal(add.code, 0, add.stderr);
    const alerts = await amtool(p.url, "alert", "query", "alertname=AmtoolTest", "-o", "json");
    assert.equal(alerts.code, 0, alerts.stderr);
    const list = JSON.parse(alerts.stdout) as {
      startsAt: string;
      annotations: Record<string, string>;
      receivers: { name: string }[];
    }[];
    assert.equal(list.length, 1, alerts.stdout);
    const startsAt = Date.parse(list[0]!.startsAt);
    assert.ok(startsAt >= before - 1000 && startsAt <= Date.now(), list[0]!.startsAt);
    assert.equal(list[0]!.annotations.summary, "from amtool");
    assert.deepEqual(list[0]!.receivers, [{ name: "ops" }]);

    // A bad alert: the reason, as a string.
    const bad = await fetch(`${p.url}/api/v2/alerts`, {
      method: "POST",
      body: JSON.stringify([{ labels: {} }]),
    });
    assert.equal(bad.status, 400);
    assert.equal(typeof await bad.json(), "string");
  } finally {
    await p.stop();
    await Deno.remove(p.dir, { recursive: true });
  }
});

/** An alertmanager.yml using every route field and a wide range of receiver fields of Alertmanager 0.25. */
const RICH_ALERTMANAGER_YML = `global:
  resolve_timeout: 5m
  smtp_from: alerts@example.com
  smtp_smarthost: mail.example.com:587
  smtp_hello: perch.example.com
  smtp_auth_username: alerts
  smtp_auth_password: mailpass
  smtp_require_tls: true
  slack_api_url: https://hooks.slack.com/services/T000/B000/XXXX
  pagerduty_url: https://events.pagerduty.com/v2/enqueue
  opsgenie_api_url: https://api.opsgenie.com/
  http_config:
    follow_redirects: true
templates:
  - templates/*.tmpl
route:
  receiver: ops
  group_by: [alertname, site]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 3h
  routes:
    - matchers: ['severity="critical"', 'team=~"db|infra"']
      receiver: pager
      continue: true
      group_by: ['...']
      active_time_intervals: [business]
    - match: { severity: warning }
      match_re: { site: "barn.*" }
      receiver: chat
      mute_time_intervals: [night]
      group_wait: 10s
      routes:
        - matchers: ['env!="prod"']
          receiver: blackhole
    - receiver: mail
      matchers: ['team="mail"']
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname, site]
  - source_match: { severity: critical }
    target_match_re: { severity: "info|warning" }
    equal: [site]
time_intervals:
  - name: business
    time_intervals:
      - times: [{ start_time: "08:00", end_time: "18:00" }]
        weekdays: ["monday:friday"]
        location: Europe/Berlin
mute_time_intervals:
  - name: night
    time_intervals:
      - times: [{ start_time: "22:00", end_time: "24:00" }]
        days_of_month: ["1:31"]
        months: ["january:december"]
        years: ["2024:2030"]
receivers:
  - name: ops
    webhook_configs:
      - url: http://10.0.0.5:9000/hook
        send_resolved: true
        max_alerts: 10
        http_config:
          basic_auth: { username: u, password: p }
          follow_redirects: false
          enable_http2: true
          tls_config: { insecure_skip_verify: false }
          proxy_url: http://proxy.example.com:3128
  - name: pager
    pagerduty_configs:
      - routing_key: pdkey
        send_resolved: true
        client: Perch
        client_url: "{{ .ExternalURL }}"
        description: '{{ template "pagerduty.default.description" . }}'
        severity: critical
        class: power
        component: mains
        group: barn
        details: { site: "{{ .CommonLabels.site }}" }
        images: [{ src: "https://example.com/i.png", alt: "graph", href: "https://example.com" }]
        links: [{ href: "https://example.com/runbook", text: "runbook" }]
  - name: chat
    slack_configs:
      - channel: "#alerts"
        username: perch
        color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
        title: '{{ template "site.title" . }}'
        title_link: "https://example.com"
        pretext: pre
        text: '{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}'
        fallback: fb
        footer: foot
        short_fields: true
        link_names: true
        mrkdwn_in: [text, pretext]
        callback_id: cb
        icon_emoji: ":bird:"
        image_url: https://example.com/i.png
        thumb_url: https://example.com/t.png
        fields:
          - { title: Site, value: "{{ .CommonLabels.site }}", short: true }
        actions:
          - type: button
            text: Runbook
            url: https://example.com/runbook
            style: primary
    opsgenie_configs:
      - api_key: ogkey
        message: '{{ .CommonLabels.alertname }}'
        priority: P2
        responders: [{ name: ops, type: team }]
  - name: mail
    email_configs:
      - to: ops@example.com
        send_resolved: true
        headers: { Subject: "[perch] {{ .CommonLabels.alertname }}" }
        tls_config: { server_name: mail.example.com }
  - name: blackhole
  - name: others
    telegram_configs: [{ bot_token: "123:abc", chat_id: 42, api_url: "https://api.telegram.org" }]
    discord_configs: [{ webhook_url: "https://discord.com/api/webhooks/1/x" }]
    pushover_configs: [{ user_key: uk, token: tk, priority: "2", retry: 1m, expire: 1h }]
    victorops_configs: [{ api_key: vk, routing_key: rk, api_url: "https://alert.victorops.com/integrations/generic/20131114/alert/" }]
    webex_configs: [{ room_id: r1, api_url: "https://webexapis.com/v1/messages", http_config: { authorization: { credentials: wx } } }]
    wechat_configs: [{ api_secret: ws, corp_id: c1, api_url: "https://qyapi.weixin.qq.com/cgi-bin/" }]
    sns_configs: [{ topic_arn: "arn:aws:sns:us-east-1:123:t", sigv4: { region: us-east-1 } }]
  - name: files
    webhook_configs:
      - url: http://10.0.0.6/hook
        http_config:
          authorization: { type: Bearer, credentials_file: token.txt }
    slack_configs:
      - api_url_file: slack.txt
`;

Deno.test("an alertmanager.yml that amtool check-config accepts loads in Perch as it is", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-amcfg-" });
  await Deno.writeTextFile(`${dir}/alertmanager.yml`, RICH_ALERTMANAGER_YML);
  await Deno.mkdir(`${dir}/templates`);
  // A template file as Alertmanager users write them (amtool parses it too).
  await Deno.writeTextFile(
    `${dir}/templates/site.tmpl`,
    '{{ define "site.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ end }}\n',
  );
  await Deno.writeTextFile(`${dir}/token.txt`, "file-token");
  await Deno.writeTextFile(`${dir}/slack.txt`, "https://hooks.slack.com/services/FILE\n");
  try {
    requireBinary(AMTOOL, "prometheus-alertmanager");
    const check = await new Deno.Command(AMTOOL, {
      args: ["check-config", `${dir}/alertmanager.yml`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(check.code, 0, dec.decode(check.stdout) + dec.decode(check.stderr));

    const p = await spawnPerch({
      args: [`--config=${dir}/alertmanager.yml`],
      dataDir: `${dir}/data`,
      env: { PERCH_SELF_SCRAPE__ENABLED: "false" },
    });
    try {
      // What Perch cannot do is said, not refused.
      await p.waitForLog((l) => l.includes("Perch cannot send to OpsGenie"));
      const show = await amtool(p.url, "config", "show");
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /group_wait: 0s/);
      assert.match(show.stdout, /smtp_smarthost: mail\.example\.com:587/);
      assert.match(show.stdout, /smtp_auth_password: <secret>/);
      assert.match(show.stdout, /name: night/);
      assert.doesNotMatch(show.stdout, /mailpass|pdkey|ogkey/);
      // global.resolve_timeout applies: an alert without endsAt resolves 5m after its last update.
      const add = await amtool(p.url, "alert", "add", "alertname=Timeout");
      assert.equal(add.code, 0, add.stderr);
      const [posted] = await (await fetch(`${p.url}/api/v2/alerts?filter=alertname%3DTimeout`))
        .json();
      assert.equal(Date.parse(posted.endsAt) - Date.parse(posted.updatedAt), 5 * 60_000);
      const receivers = await (await fetch(`${p.url}/api/v2/receivers`)).json();
      assert.deepEqual(
        receivers.map((r: { name: string }) => r.name),
        ["ops", "pager", "chat", "mail", "blackhole", "others", "files"],
      );
    } finally {
      await p.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
