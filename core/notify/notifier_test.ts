import assert from "node:assert/strict";
import { alert, setup, webhookConfig } from "./_test_util.ts";
import type { WebhookPayload } from "./channels/webhook.ts";

const MIN = 60_000;

Deno.test("50 alerts of one group give one grouped message after group_wait", async () => {
  await using t = await setup(webhookConfig());
  const now = t.clock.now();
  const alerts = Array.from(
    { length: 50 },
    (_, i) => alert({ alertname: "HostDown", instance: `h${i}` }, { startsAt: now }),
  );
  await t.notifier.sink.put(alerts, now);
  await t.clock.advance(29_000);
  assert.equal(t.requests.length, 0, "nothing before group_wait");
  await t.clock.advance(1_000);
  assert.equal(t.requests.length, 1);
  const p = t.requests[0]!.body as WebhookPayload;
  assert.equal(p.version, "4");
  assert.equal(p.alerts.length, 50);
  assert.equal(p.status, "firing");
  assert.deepEqual(p.groupLabels, { alertname: "HostDown" });
  assert.deepEqual(p.commonLabels, { alertname: "HostDown" });
  assert.equal(p.receiver, "hook");
  assert.equal(p.externalURL, "http://perch.example:8080");
  assert.equal(p.alerts[0]!.endsAt, "0001-01-01T00:00:00Z");
  assert.equal(p.alerts[0]!.startsAt, new Date(now).toISOString());
});

Deno.test("separate group_by values give separate messages", async () => {
  await using t = await setup(webhookConfig());
  const now = t.clock.now();
  await t.notifier.sink.put([
    alert({ alertname: "A", instance: "1" }),
    alert({ alertname: "B", instance: "1" }),
  ], now);
  await t.clock.advance(30_000);
  assert.equal(t.requests.length, 2);
});

Deno.test("an unchanged firing group repeats only after repeat_interval", async () => {
  await using t = await setup(webhookConfig({ repeat_interval: "1h" }));
  const a = alert({ alertname: "A" });
  await t.notifier.sink.put([a], t.clock.now());
  await t.clock.advance(30_000);
  assert.equal(t.requests.length, 1);
  // Rules keep calling put() while firing.
  for (let i = 0; i < 11; i++) {
    await t.clock.advance(5 * MIN);
    await t.notifier.sink.put([a], t.clock.now());
  }
  assert.equal(t.requests.length, 1, "no repeat within the hour");
  await t.clock.advance(5 * MIN);
  assert.equal(t.requests.length, 2, "repeated after an hour");
});

Deno.test("a new alert in a flushed group is sent at the next group_interval", async () => {
  await using t = await setup(webhookConfig());
  await t.notifier.sink.put([alert({ alertname: "A", instance: "1" })], t.clock.now());
  await t.clock.advance(30_000);
  await t.notifier.sink.put([alert({ alertname: "A", instance: "2" })], t.clock.now());
  await t.clock.advance(4 * MIN);
  assert.equal(t.requests.length, 1);
  await t.clock.advance(MIN);
  assert.equal(t.requests.length, 2);
  assert.equal((t.requests[1]!.body as WebhookPayload).alerts.length, 2);
});

Deno.test("a resolved alert is sent once as resolved, then dropped", async () => {
  await using t = await setup(webhookConfig());
  const start = t.clock.now();
  await t.notifier.sink.put([alert({ alertname: "A" }, { startsAt: start })], start);
  await t.clock.advance(30_000);
  const end = t.clock.now();
  await t.notifier.sink.put([alert({ alertname: "A" }, { startsAt: start, endsAt: end })], end);
  await t.clock.advance(5 * MIN);
  assert.equal(t.requests.length, 2);
  const p = t.requests[1]!.body as WebhookPayload;
  assert.equal(p.status, "resolved");
  assert.equal(p.alerts[0]!.endsAt, new Date(end).toISOString());
  await t.clock.advance(5 * 3600_000);
  assert.equal(t.requests.length, 2, "nothing after the resolution");
  assert.equal(t.notifier.alerts().length, 0);
});

Deno.test("send_resolved: false keeps resolutions quiet", async () => {
  await using t = await setup(webhookConfig({}, { send_resolved: false }));
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(30_000);
  await t.notifier.sink.put([alert({ alertname: "A" }, { endsAt: t.clock.now() })], t.clock.now());
  await t.clock.advance(10 * MIN);
  assert.equal(t.requests.length, 1);
});

Deno.test("silences: a matching silence mutes; when it ends a still-firing alert notifies", async () => {
  await using t = await setup(webhookConfig());
  const s = await t.notifier.silences.upsert({
    matchers: ['alertname="A"', 'instance=~"h[0-9]+"'],
    endsAt: t.clock.now() + 20 * MIN,
    createdBy: "ops",
    comment: "maintenance",
  });
  assert.equal(t.notifier.silences.get(s.id).state, "active");
  const a = alert({ alertname: "A", instance: "h1" });
  const other = alert({ alertname: "A", instance: "db" });
  await t.notifier.sink.put([a, other], t.clock.now());
  await t.clock.advance(30_000);
  assert.equal(t.requests.length, 1);
  const sent = (t.requests[0]!.body as WebhookPayload).alerts.map((x) => x.labels.instance);
  assert.deepEqual(sent, ["db"], "the silenced alert is left out");
  assert.deepEqual(t.notifier.alerts().find((x) => x.alert === a)?.silencedBy, [s.id]);
  // Rules keep re-sending firing alerts every minute.
  for (let i = 0; i < 15; i++) {
    await t.clock.advance(MIN);
    await t.notifier.sink.put([a, other], t.clock.now());
  }
  assert.equal(t.requests.length, 1, "nothing while silenced");
  for (let i = 0; i < 10; i++) {
    await t.clock.advance(MIN);
    await t.notifier.sink.put([a, other], t.clock.now());
  }
  assert.equal(t.notifier.silences.get(s.id).state, "expired");
  assert.equal(t.requests.length, 2, "notifies after the silence ends");
  const after = (t.requests[1]!.body as WebhookPayload).alerts.map((x) => x.labels.instance);
  assert.deepEqual(after.sort(), ["db", "h1"]);
});

Deno.test("silences: expiring early via expire() unmutes at the next flush", async () => {
  await using t = await setup(webhookConfig());
  const s = await t.notifier.silences.upsert({
    matchers: [{ name: "alertname", value: "A", isRegex: false }],
    endsAt: new Date(t.clock.now() + 3600_000).toISOString(),
    createdBy: "ops",
  });
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(30_000);
  assert.equal(t.requests.length, 0);
  await t.notifier.silences.expire(s.id);
  await t.clock.advance(5 * MIN);
  assert.equal(t.requests.length, 1);
  assert.equal(t.notifier.silences.list()[0]!.state, "expired", "kept for audit");
});

Deno.test("inhibition: a firing critical alert mutes warnings with equal labels", async () => {
  await using t = await setup({
    ...webhookConfig({ group_by: ["alertname", "instance"] }),
    inhibit_rules: [{
      source_matchers: ['severity="critical"'],
      target_matchers: ['severity="warning"'],
      equal: ["instance"],
    }],
  });
  await t.notifier.sink.put([
    alert({ alertname: "HostDown", severity: "critical", instance: "h1" }),
    alert({ alertname: "DiskSlow", severity: "warning", instance: "h1" }),
    alert({ alertname: "DiskSlow", severity: "warning", instance: "h2" }),
  ], t.clock.now());
  await t.clock.advance(30_000);
  const got = t.requests.map((r) => {
    const a = (r.body as WebhookPayload).alerts[0]!;
    return `${a.labels.alertname}/${a.labels.instance}`;
  }).sort();
  assert.deepEqual(got, ["DiskSlow/h2", "HostDown/h1"]);
});

Deno.test("rate limit delays notifications beyond the burst, never drops them", async () => {
  await using t = await setup(
    webhookConfig({}, { rate_limit: { burst: 2, period: "1m" } }),
  );
  const names = ["A", "B", "C", "D", "E"];
  await t.notifier.sink.put(names.map((n) => alert({ alertname: n })), t.clock.now());
  await t.clock.advance(30_000);
  assert.equal(t.requests.length, 2, "burst of two");
  await t.clock.advance(30_000);
  assert.equal(t.requests.length, 3, "one more per 30s (2 per minute)");
  await t.clock.advance(60_000);
  assert.equal(t.requests.length, 5);
  const got = t.requests.map((r) => (r.body as WebhookPayload).groupLabels.alertname).sort();
  assert.deepEqual(got, names);
});

Deno.test("flapping alerts are damped: their changes alone send nothing", async () => {
  await using t = await setup(webhookConfig({ group_interval: "1m" }));
  const start = t.clock.now();
  // Flapping from the start: held back.
  for (let i = 0; i < 10; i++) {
    const now = t.clock.now();
    const endsAt = i % 2 === 1 ? now : 0;
    await t.notifier.sink.put([
      alert({ alertname: "F" }, { startsAt: start, endsAt, flapping: true }),
    ], now);
    await t.clock.advance(MIN);
  }
  assert.equal(t.requests.length, 0, "a flapping alert never notified is held back");
  // It settles firing: notify once.
  await t.notifier.sink.put([alert({ alertname: "F" }, { startsAt: start })], t.clock.now());
  await t.clock.advance(MIN);
  assert.equal(t.requests.length, 1);
  // Flapping again while notified as firing: shown as firing, nothing new sent.
  for (let i = 0; i < 6; i++) {
    const now = t.clock.now();
    const endsAt = i % 2 === 0 ? now : 0;
    await t.notifier.sink.put([
      alert({ alertname: "F" }, { startsAt: start, endsAt, flapping: true }),
    ], now);
    await t.clock.advance(MIN);
  }
  assert.equal(t.requests.length, 1);
});

Deno.test("routing: child routes, continue, and inherited settings", async () => {
  await using t = await setup({
    route: {
      receiver: "default",
      group_by: ["alertname"],
      group_wait: "10s",
      routes: [
        { matchers: ['team="db"'], receiver: "db", continue: true },
        { match_re: { team: "db|web" }, receiver: "oncall", group_wait: "1m" },
      ],
    },
    receivers: [
      { name: "default", webhook_configs: [{ url: "http://default.test/" }] },
      { name: "db", webhook_configs: [{ url: "http://db.test/" }] },
      { name: "oncall", webhook_configs: [{ url: "http://oncall.test/" }] },
    ],
  });
  await t.notifier.sink.put([
    alert({ alertname: "X", team: "db" }),
    alert({ alertname: "Y", team: "web" }),
    alert({ alertname: "Z" }),
  ], t.clock.now());
  await t.clock.advance(10_000);
  const hosts = () => t.requests.map((r) => new URL(r.url).host).sort();
  assert.deepEqual(hosts(), ["db.test", "default.test"]);
  await t.clock.advance(50_000);
  assert.deepEqual(hosts(), ["db.test", "default.test", "oncall.test", "oncall.test"]);
});

Deno.test("mute_time_intervals hold notifications until the window ends", async () => {
  // The fake clock starts at 2024-01-01T00:00Z (a Monday).
  await using t = await setup({
    ...webhookConfig({ mute_time_intervals: ["night"], group_interval: "10m" }),
    time_intervals: [{
      name: "night",
      time_intervals: [{ times: [{ start_time: "00:00", end_time: "01:00" }] }],
    }],
  });
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(50 * MIN);
  assert.equal(t.requests.length, 0);
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(20 * MIN);
  assert.equal(t.requests.length, 1);
});

Deno.test("a reload regroups alerts without sending them again", async () => {
  await using t = await setup(webhookConfig());
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(30_000);
  assert.equal(t.requests.length, 1);
  const { config } = await import("./_test_util.ts");
  t.notifier.reload(config(webhookConfig({ group_wait: "5s" })));
  await t.clock.advance(10 * MIN);
  assert.equal(t.requests.length, 1);
});

Deno.test("a notified alert that flaps while silenced still gets its resolved notification", async () => {
  await using t = await setup(webhookConfig({ group_interval: "1m" }));
  const start = t.clock.now();
  const firing = () => alert({ alertname: "F" }, { startsAt: start });
  await t.notifier.sink.put([firing()], t.clock.now());
  await t.clock.advance(MIN);
  assert.equal(t.requests.length, 1, "notified as firing");
  // Silenced for a while, during which it starts flapping.
  const s = await t.notifier.silences.upsert({
    matchers: ['alertname="F"'],
    endsAt: t.clock.now() + 5 * MIN,
    createdBy: "ops",
  });
  for (let i = 0; i < 4; i++) {
    await t.notifier.sink.put([
      alert({ alertname: "F" }, { startsAt: start, flapping: true }),
    ], t.clock.now());
    await t.clock.advance(MIN);
  }
  await t.notifier.silences.expire(s.id);
  // Still flapping after the silence: damped, the receiver keeps "firing".
  await t.notifier.sink.put(
    [alert({ alertname: "F" }, { startsAt: start, flapping: true })],
    t.clock.now(),
  );
  await t.clock.advance(MIN);
  // It settles and resolves: the receiver must hear it.
  const end = t.clock.now();
  await t.notifier.sink.put([alert({ alertname: "F" }, { startsAt: start, endsAt: end })], end);
  await t.clock.advance(2 * MIN);
  const statuses = t.requests.map((r) => (r.body as WebhookPayload).status);
  assert.equal(statuses.at(-1), "resolved", `got ${statuses.join(",")}`);
});
