/** Real sockets on 127.0.0.1: webhook, Slack and PagerDuty receivers, SMTP (plain and STARTTLS). */
import assert from "node:assert/strict";
import { makeTestCerts, startSmtpSink, waitFor } from "./_smtp_sink.ts";
import { parseNotifyConfig } from "../../core/notify/mod.ts";
import { alert, httpReceiver, realNotifier } from "./_util.ts";

const fast = { group_wait: "50ms", group_interval: "1h", repeat_interval: "4h" };

Deno.test("webhook receiver failing the first 3 requests gets each notification once, in order", async () => {
  const rx = httpReceiver(3);
  try {
    await using t = await realNotifier({
      route: { receiver: "hook", group_by: ["alertname"], ...fast },
      receivers: [{
        name: "hook",
        webhook_configs: [{ url: `${rx.url}/hook`, http_config: { bearer_token: "s3cret" } }],
      }],
    });
    for (const name of ["A", "B", "C"]) {
      await t.notifier.sink.put([alert({ alertname: name, instance: "h1" })], Date.now());
      await new Promise((r) => setTimeout(r, 80));
    }
    await waitFor(() => rx.accepted.length >= 3, 15_000, "3 deliveries");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.accepted.length, 3, "exactly one delivery per notification");
    assert.equal(rx.seen, 6);
    const order = rx.accepted.map((r) =>
      (r.body as { groupLabels: { alertname: string } }).groupLabels.alertname
    );
    assert.deepEqual(order, ["A", "B", "C"]);
    assert.equal(rx.accepted[0]!.headers.get("authorization"), "Bearer s3cret");
    const body = rx.accepted[0]!.body as Record<string, unknown>;
    assert.equal(body.version, "4");
    assert.equal(body.receiver, "hook");
    assert.equal(body.truncatedAlerts, 0);
    const log = await t.notifier.deliveryLog();
    assert.equal(log.find((e) => e.alerts[0]!.alertname === "A")!.attempts, 4);
  } finally {
    await rx.close();
  }
});

Deno.test("Slack receiver gets an incoming-webhook message in the documented shape", async () => {
  const rx = httpReceiver();
  try {
    await using t = await realNotifier({
      route: { receiver: "slack", ...fast },
      receivers: [{
        name: "slack",
        slack_configs: [{
          api_url: `${rx.url}/services/T000/B000/XXX`,
          channel: "#alerts",
          send_resolved: true,
          title: "{{ .CommonLabels.alertname }} is {{ .Status }}",
          text: "{{ range .Alerts }}{{ .Labels.instance }}: {{ .Annotations.summary }}\n{{ end }}",
          footer: "perch",
          link_names: true,
          short_fields: true,
          mrkdwn_in: ["text"],
          fields: [{ title: "Instance", value: "{{ .CommonLabels.instance }}" }],
          actions: [{
            type: "button",
            text: "Runbook for {{ .CommonLabels.alertname }}",
            url: "https://runbooks.test/{{ .CommonLabels.alertname }}",
            style: "primary",
          }],
        }],
      }],
    });
    const a = alert({ alertname: "HostDown", instance: "h1" }, {
      annotations: { summary: "no power" },
    });
    await t.notifier.sink.put([a], Date.now());
    await waitFor(() => rx.accepted.length === 1, 5000, "slack message");
    const msg = rx.accepted[0]!.body as {
      channel: string;
      attachments: {
        title: string;
        text: string;
        color: string;
        fallback: string;
        mrkdwn_in: string[];
      }[];
    };
    assert.equal(rx.accepted[0]!.path, "/services/T000/B000/XXX");
    assert.equal(msg.channel, "#alerts");
    assert.equal(msg.attachments.length, 1);
    assert.equal(msg.attachments[0]!.title, "HostDown is firing");
    assert.equal(msg.attachments[0]!.text, "h1: no power\n");
    assert.equal(msg.attachments[0]!.color, "danger");
    assert.ok(msg.attachments[0]!.fallback.length > 0);
    // Alertmanager's other Slack fields, rendered.
    const att = msg.attachments[0] as unknown as Record<string, unknown>;
    assert.equal(att.footer, "perch");
    assert.deepEqual(att.mrkdwn_in, ["text"]);
    assert.deepEqual(att.fields, [{ title: "Instance", value: "h1", short: true }]);
    assert.deepEqual(att.actions, [{
      type: "button",
      text: "Runbook for HostDown",
      url: "https://runbooks.test/HostDown",
      style: "primary",
    }]);
    assert.equal((msg as unknown as Record<string, unknown>).link_names, true);
  } finally {
    await rx.close();
  }
});

Deno.test("a template that fails to render falls back to plain text", async () => {
  // Unknown functions are caught earlier, when the config is parsed.
  const bad = parseNotifyConfig({
    route: { receiver: "s" },
    receivers: [{ name: "s", slack_configs: [{ api_url: "http://x/", text: "{{ nosuch . }}" }] }],
  });
  assert.ok("errors" in bad);
  assert.match(bad.errors[0]!, /^receivers\[0\]\.slack_configs\[0\]\.text: cannot parse template/);
  const rx2 = httpReceiver();
  try {
    await using t = await realNotifier({
      route: { receiver: "slack", ...fast },
      receivers: [{
        name: "slack",
        slack_configs: [{ api_url: `${rx2.url}/x`, text: '{{ template "nope" . }}' }],
      }],
    });
    await t.notifier.sink.put([alert({ alertname: "A", instance: "h9" })], Date.now());
    await waitFor(() => rx2.accepted.length === 1, 5000, "slack message");
    const text =
      (rx2.accepted[0]!.body as { attachments: { text: string }[] }).attachments[0]!.text;
    assert.match(text, /\[FIRING\] A/);
    assert.match(text, /instance=h9/);
  } finally {
    await rx2.close();
  }
});

Deno.test("PagerDuty receiver gets Events API v2 trigger then resolve with one dedup_key", async () => {
  const rx = httpReceiver();
  try {
    await using t = await realNotifier({
      route: {
        receiver: "pd",
        group_by: ["alertname"],
        group_wait: "50ms",
        group_interval: "200ms",
      },
      receivers: [{
        name: "pd",
        pagerduty_configs: [{
          routing_key: "R0UT1NGKEY00000000000000000000",
          url: `${rx.url}/v2/enqueue`,
          severity:
            '{{ if eq .CommonLabels.severity "critical" }}critical{{ else }}warning{{ end }}',
          links: [{ href: "https://runbooks.test/{{ .CommonLabels.alertname }}", text: "runbook" }],
          images: [{ src: "https://img.test/disk.png", alt: "disk" }],
        }],
      }],
    });
    const a = alert({ alertname: "DiskFull", severity: "critical", instance: "h1" });
    await t.notifier.sink.put([a], Date.now());
    await waitFor(() => rx.accepted.length === 1, 5000, "trigger");
    await t.notifier.sink.put([{ ...a, endsAt: Date.now() }], Date.now());
    await waitFor(() => rx.accepted.length === 2, 5000, "resolve");
    // deno-lint-ignore no-explicit-any
    const [trig, res] = rx.accepted.map((r) => r.body as Record<string, any>);
    assert.equal(trig!.routing_key, "R0UT1NGKEY00000000000000000000");
    assert.equal(trig!.event_action, "trigger");
    assert.match(trig!.dedup_key, /^[0-9a-f]{64}$/);
    assert.equal(trig!.payload.severity, "critical");
    assert.equal(typeof trig!.payload.summary, "string");
    assert.ok(trig!.payload.summary.length > 0 && trig!.payload.summary.length <= 1024);
    assert.equal(typeof trig!.payload.source, "string");
    assert.ok(!Number.isNaN(Date.parse(trig!.payload.timestamp)));
    assert.deepEqual(trig!.links, [{ href: "https://runbooks.test/DiskFull", text: "runbook" }]);
    assert.deepEqual(trig!.images, [{ src: "https://img.test/disk.png", alt: "disk", href: "" }]);
    assert.equal(res!.event_action, "resolve");
    assert.equal(res!.dedup_key, trig!.dedup_key);
  } finally {
    await rx.close();
  }
});

Deno.test("email over SMTP (plain, AUTH PLAIN): headers and multipart body", async () => {
  const sink = await startSmtpSink({ auth: { user: "perch", password: "pw" } });
  try {
    await using t = await realNotifier({
      route: { receiver: "mail", ...fast },
      receivers: [{
        name: "mail",
        email_configs: [{
          to: "ops@example.org, oncall@example.org",
          from: "Perch <perch@example.org>",
          smarthost: `127.0.0.1:${sink.port}`,
          require_tls: false,
          auth_username: "perch",
          auth_password: "pw",
          headers: { Subject: "{{ .CommonLabels.alertname }} on {{ .CommonLabels.instance }}" },
        }],
      }],
    });
    await t.notifier.sink.put([
      alert({ alertname: "HostDown", instance: "h1" }, {
        annotations: { summary: ".starts with a dot\nand ünïcode" },
      }),
    ], Date.now());
    await waitFor(() => sink.messages.length === 1, 5000, "mail");
    const m = sink.messages[0]!;
    assert.equal(m.from, "perch@example.org");
    assert.deepEqual(m.to, ["ops@example.org", "oncall@example.org"]);
    assert.equal(m.user, "perch");
    assert.equal(m.tls, false);
    const [head, ...rest] = m.data.split("\r\n\r\n");
    const headers = new Map(
      head!.split("\r\n").map((l) => {
        const i = l.indexOf(":");
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as const;
      }),
    );
    assert.equal(headers.get("subject"), "HostDown on h1");
    assert.equal(headers.get("from"), "Perch <perch@example.org>");
    assert.equal(headers.get("to"), "ops@example.org, oncall@example.org");
    assert.equal(headers.get("mime-version"), "1.0");
    assert.match(headers.get("message-id")!, /^<[0-9a-f]+@example\.org>$/);
    assert.ok(Math.abs(Date.parse(headers.get("date")!) - Date.now()) < 60_000);
    assert.match(headers.get("content-type")!, /^multipart\/alternative; boundary="/);
    const body = rest.join("\r\n\r\n");
    assert.match(body, /Content-Type: text\/plain; charset=UTF-8/);
    assert.match(body, /Content-Type: text\/html; charset=UTF-8/);
    const decoded = body.replace(/=\r\n/g, "").replace(
      /(=[0-9A-F]{2})+/g,
      (s) =>
        new TextDecoder().decode(new Uint8Array(s.slice(1).split("=").map((h) => parseInt(h, 16)))),
    );
    assert.match(decoded, /summary = \.starts with a dot/);
    assert.match(decoded, /ünïcode/);
    assert.match(decoded, /http:\/\/perch\.test:8080\/alerts\?fingerprint=/);
  } finally {
    await sink.close();
  }
});

/** The delivery log once it has an entry (or empty after 5 s). */
async function firstDeliveries<T>(read: () => Promise<T[]>): Promise<T[]> {
  const end = Date.now() + 5000;
  let log = await read();
  while (log.length === 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    log = await read();
  }
  return log;
}

Deno.test("email over SMTP with STARTTLS and a test CA; 4xx replies are retried", async () => {
  const which = await new Deno.Command("sh", { args: ["-c", "command -v openssl"], stdout: "null" })
    .output();
  assert.ok(which.success, "openssl is missing: apt install openssl (it makes the test CA)");
  const certs = await makeTestCerts();
  const sink = await startSmtpSink({
    tls: { key: certs.key, cert: certs.cert },
    auth: { user: "u", password: "p" },
    failData: { times: 1, code: 451 },
  });
  try {
    await using n = await realNotifier({
      route: { receiver: "mail", ...fast },
      receivers: [{
        name: "mail",
        email_configs: [{
          to: "ops@example.org",
          from: "perch@example.org",
          smarthost: `localhost:${sink.port}`,
          auth_username: "u",
          auth_password: "p",
          tls_config: { ca: certs.ca },
        }],
      }],
    });
    await n.notifier.sink.put([alert({ alertname: "TLSCheck" })], Date.now());
    await waitFor(() => sink.messages.length === 1, 10_000, "mail over TLS");
    const m = sink.messages[0]!;
    assert.equal(m.tls, true);
    assert.equal(m.user, "u");
    assert.match(m.data, /Subject: \[FIRING:1\] /);
    const transcript = sink.transcripts.flat().join("\n");
    assert.match(transcript, /C: STARTTLS/);
    // The delivery is logged after the send returns, which may be after the sink has the mail.
    const log = await firstDeliveries(() => n.notifier.deliveryLog());
    assert.equal(log[0]!.attempts, 2, "451 was retried once");
  } finally {
    await sink.close();
  }
});

Deno.test("email refuses to send without TLS when require_tls is set (not retried)", async () => {
  const sink = await startSmtpSink();
  try {
    await using n = await realNotifier({
      route: { receiver: "mail", ...fast },
      receivers: [{
        name: "mail",
        email_configs: [{ to: "a@b.c", from: "p@b.c", smarthost: `127.0.0.1:${sink.port}` }],
      }],
    });
    await n.notifier.sink.put([alert({ alertname: "X" })], Date.now());
    const log = await firstDeliveries(() => n.notifier.deliveryLog());
    assert.equal(log[0]!.success, false);
    assert.equal(log[0]!.attempts, 1);
    assert.match(log[0]!.error!, /STARTTLS/);
    assert.equal(sink.messages.length, 0);
  } finally {
    await sink.close();
  }
});

Deno.test("templates from the config's template files render in messages, overriding built-in ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "perch-tmpl-" });
  await Deno.writeTextFile(
    `${dir}/site.tmpl`,
    `{{ define "site.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} at {{ .CommonLabels.site }}{{ end }}
{{ define "slack.default.text" }}{{ range .Alerts }}{{ .Annotations.summary }} ({{ .Labels.site }}){{ end }}{{ end }}
`,
  );
  const rx = httpReceiver();
  try {
    await using t = await realNotifier({
      templates: [`${dir}/*.tmpl`],
      route: { receiver: "slack", ...fast },
      receivers: [{
        name: "slack",
        slack_configs: [{
          api_url: `${rx.url}/services/T/B/X`,
          title: '{{ template "site.title" . }}',
        }],
      }],
    });
    const a = alert({ alertname: "Flood", site: "cellar" }, {
      annotations: { summary: "water detected" },
    });
    await t.notifier.sink.put([a], Date.now());
    await waitFor(() => rx.accepted.length === 1, 5000, "slack message");
    const msg = rx.accepted[0]!.body as { attachments: { title: string; text: string }[] };
    assert.equal(msg.attachments[0]!.title, "[FIRING] Flood at cellar");
    assert.equal(msg.attachments[0]!.text, "water detected (cellar)");
  } finally {
    await rx.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a webhook over HTTPS with a private CA: refused without tls_config.ca_file, delivered with it", async () => {
  const certs = await makeTestCerts();
  const dir = await Deno.makeTempDir({ prefix: "perch-tls-" });
  await Deno.writeTextFile(`${dir}/ca.pem`, certs.ca);
  const got: unknown[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: certs.cert,
    key: certs.key,
    onListen() {},
    onError: () => new Response("tls error", { status: 500 }),
  }, async (req) => {
    got.push(await req.json());
    return new Response("ok");
  });
  const url = `https://localhost:${server.addr.port}/hook`;
  try {
    {
      await using t = await realNotifier({
        route: { receiver: "hook", ...fast },
        receivers: [{ name: "hook", webhook_configs: [{ url }] }],
      });
      await t.notifier.sink.put([alert({ alertname: "Tls" })], Date.now());
      await waitFor(() => t.notifier.pending()[0]?.lastError !== undefined, 5000, "a failed try");
      assert.match(t.notifier.pending()[0]!.lastError ?? "", /certificate|UnknownIssuer|invalid/i);
      assert.equal(got.length, 0);
    }
    await using t = await realNotifier({
      route: { receiver: "hook", ...fast },
      receivers: [{
        name: "hook",
        webhook_configs: [{ url, http_config: { tls_config: { ca_file: `${dir}/ca.pem` } } }],
      }],
    });
    await t.notifier.sink.put([alert({ alertname: "Tls" })], Date.now());
    await waitFor(() => got.length === 1, 5000, "delivery over TLS");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
