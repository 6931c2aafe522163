import assert from "node:assert/strict";
import { alert, setup, webhookConfig } from "../core/notify/mod_testing.ts";
import { notifyRoutes } from "./notify.ts";

Deno.test("silences API: create, list, get, expire in both shapes", async () => {
  await using t = await setup(webhookConfig());
  const app = notifyRoutes({ notifier: t.notifier, now: () => t.clock.now() });
  const endsAt = new Date(t.clock.now() + 3600_000).toISOString();
  let res = await app.request("/api/v2/silences", {
    method: "POST",
    body: JSON.stringify({
      matchers: [{ name: "alertname", value: "A", isRegex: false, isEqual: true }],
      startsAt: new Date(t.clock.now()).toISOString(),
      endsAt,
      createdBy: "me",
      comment: "maintenance",
    }),
  });
  assert.equal(res.status, 200);
  const { silenceID } = await res.json();
  res = await app.request(`/api/v2/silence/${silenceID}`);
  const s = await res.json();
  assert.equal(s.status.state, "active");
  assert.equal(s.endsAt, endsAt);
  assert.deepEqual(s.matchers, [{ name: "alertname", value: "A", isRegex: false, isEqual: true }]);
  res = await app.request("/api/v1/silences");
  assert.equal((await res.json()).data.length, 1);
  res = await app.request(`/api/v1/silences/${silenceID}`, { method: "DELETE" });
  assert.equal(res.status, 200);
  res = await app.request(`/api/v1/silences/${silenceID}`);
  assert.equal((await res.json()).data.status.state, "expired");
  res = await app.request(`/api/v2/silence/nope`, { method: "DELETE" });
  assert.equal(res.status, 404);
});

Deno.test("silences API rejects silences without an end or longer than the maximum", async () => {
  await using t = await setup(webhookConfig());
  const app = notifyRoutes({ notifier: t.notifier, now: () => t.clock.now() });
  const post = (b: unknown) =>
    app.request("/api/v1/silences", { method: "POST", body: JSON.stringify(b) });
  let res = await post({ matchers: ['alertname="A"'], createdBy: "me" });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).errors[0].field, "endsAt");
  res = await post({
    matchers: ['alertname="A"'],
    createdBy: "me",
    endsAt: t.clock.now() + 8 * 86_400_000,
  });
  assert.equal(res.status, 400);
  assert.match((await res.json()).errors[0].message, /longer than the maximum/);
  res = await post({
    matchers: ['alertname=~".*"'],
    createdBy: "me",
    endsAt: t.clock.now() + 1000,
  });
  assert.equal(res.status, 400);
  assert.match((await res.json()).errors[0].message, /empty string/);
  res = await post({ matchers: ['alertname=~"("'], createdBy: "me", endsAt: t.clock.now() + 1000 });
  assert.equal((await res.json()).errors[0].field, "matchers[0]");
});

Deno.test("GET /api/v1/notifications lists deliveries and pending retries", async () => {
  await using t = await setup(webhookConfig(), { statuses: [503] });
  const app = notifyRoutes({ notifier: t.notifier, now: () => t.clock.now() });
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(30_000);
  let data = (await (await app.request("/api/v1/notifications")).json()).data;
  assert.equal(data.length, 1);
  assert.equal(data[0].pending, true);
  assert.equal(data[0].attempts, 1);
  assert.match(data[0].error, /HTTP 503/);
  await t.clock.advance(60_000);
  data = (await (await app.request("/api/v1/notifications?receiver=hook")).json()).data;
  assert.equal(data.length, 1);
  assert.equal(data[0].success, true);
  assert.equal(data[0].attempts, 2);
  assert.equal(data[0].receiver, "hook");
  assert.equal(data[0].channel, "webhook");
  assert.equal(data[0].state, "firing");
  assert.equal(data[0].alerts[0].alertname, "A");
  const bad = await app.request("/api/v1/notifications?limit=0");
  assert.equal(bad.status, 400);
});

Deno.test("POST /api/v2/alerts feeds the dispatcher like Alertmanager", async () => {
  await using t = await setup(webhookConfig());
  const app = notifyRoutes({ notifier: t.notifier, now: () => t.clock.now() });
  const res = await app.request("/api/v2/alerts", {
    method: "POST",
    body: JSON.stringify([{
      labels: { alertname: "Ext", job: "x" },
      annotations: { summary: "s" },
    }]),
  });
  assert.equal(res.status, 200);
  await t.clock.advance(30_000);
  assert.equal(t.requests.length, 1);
  const list = await (await app.request("/api/v2/alerts")).json();
  assert.equal(list[0].labels.alertname, "Ext");
  assert.equal(list[0].status.state, "active");
  const bad = await app.request("/api/v2/alerts", { method: "POST", body: "[{}]" });
  assert.equal(bad.status, 400);
  assert.equal(await bad.json(), "[0].labels: at least one label pair required");
});

Deno.test("POST /api/v2/alerts: Go's zero times mean now and still firing; errors are strings", async () => {
  await using t = await setup(webhookConfig({ group_wait: "0s" }), {
    resolveTimeoutMs: 5 * 60_000,
  });
  const app = notifyRoutes({ notifier: t.notifier, now: () => t.clock.now() });
  const zero = "0001-01-01T00:00:00.000Z";
  const post = (b: unknown) =>
    app.request("/api/v2/alerts", { method: "POST", body: JSON.stringify(b) });
  let res = await post([{ labels: { alertname: "Z" }, startsAt: zero, endsAt: zero }]);
  assert.equal(res.status, 200);
  let list = await (await app.request("/api/v2/alerts")).json();
  assert.equal(list[0].startsAt, new Date(t.clock.now()).toISOString());
  // Alertmanager's endsAt for an alert without one: when it resolves unless refreshed.
  assert.equal(list[0].endsAt, new Date(t.clock.now() + 5 * 60_000).toISOString());
  await t.clock.advance(1_000);
  assert.equal(t.requests.length, 1, "group_wait 0s notifies at once");
  // Not refreshed: it resolves after the resolve timeout, like any other alert.
  await t.clock.advance(5 * 60_000);
  list = await (await app.request("/api/v2/alerts")).json();
  assert.equal(list.length, 0);

  res = await post([{
    labels: { alertname: "Z" },
    startsAt: new Date(t.clock.now()).toISOString(),
    endsAt: new Date(t.clock.now() - 60_000).toISOString(),
  }]);
  assert.equal(res.status, 400);
  assert.equal(await res.json(), "[0]: start time must be before end time");
  res = await post([{ labels: { "bad-name": "x" } }]);
  assert.equal(res.status, 400);
  assert.match(await res.json(), /^\[0\]\.labels\.bad-name: label name must match/);
  res = await app.request("/api/v2/alerts?filter=" + encodeURIComponent("a=~("));
  assert.equal(res.status, 400);
  assert.match(await res.json(), /^bad matcher format: a=~\(/);
  res = await app.request("/api/v2/silence/nope");
  assert.equal(res.status, 404);
  assert.equal(await res.json(), "Silence nope not found");
});

Deno.test("GET /api/v2/alerts leaves out resolved alerts and honours Alertmanager's filters", async () => {
  await using t = await setup(webhookConfig());
  const app = notifyRoutes({ notifier: t.notifier, now: () => t.clock.now() });
  const now = t.clock.now();
  const post = (b: unknown) =>
    app.request("/api/v2/alerts", { method: "POST", body: JSON.stringify(b) });
  assert.equal(
    (await post([
      { labels: { alertname: "Loud", job: "a" } },
      { labels: { alertname: "Quiet", job: "b" } },
      {
        labels: { alertname: "Gone", job: "c" },
        startsAt: new Date(now - 120_000).toISOString(),
        endsAt: new Date(now - 60_000).toISOString(),
      },
    ])).status,
    200,
  );
  const silence = await app.request("/api/v2/silences", {
    method: "POST",
    body: JSON.stringify({
      matchers: [{ name: "alertname", value: "Quiet", isRegex: false, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3600_000).toISOString(),
      createdBy: "me",
      comment: "c",
    }),
  });
  assert.equal(silence.status, 200);
  const names = async (q: string) => {
    const res = await app.request(`/api/v2/alerts${q}`);
    assert.equal(res.status, 200, q);
    return (await res.json()).map((a: { labels: { alertname: string } }) => a.labels.alertname)
      .sort();
  };
  // Alertmanager drops alerts whose endsAt has passed.
  assert.deepEqual(await names(""), ["Loud", "Quiet"]);
  // amtool asks for silenced=false by default.
  assert.deepEqual(await names("?silenced=false"), ["Loud"]);
  assert.deepEqual(await names("?active=false"), ["Quiet"]);
  assert.deepEqual(await names(`?filter=${encodeURIComponent('job="a"')}`), ["Loud"]);
  assert.deepEqual(await names(`?filter=${encodeURIComponent("alertname=~Lo.*")}`), ["Loud"]);
  const bad = await app.request(`/api/v2/alerts?filter=${encodeURIComponent("no matcher")}`);
  assert.equal(bad.status, 400);
});

Deno.test("GET /api/v2/silences honours Alertmanager's filter; /api/v2/alerts/groups lists groups", async () => {
  await using t = await setup(webhookConfig({ group_by: ["alertname"] }));
  const app = notifyRoutes({ notifier: t.notifier, now: () => t.clock.now() });
  const endsAt = new Date(t.clock.now() + 3600_000).toISOString();
  const make = (matchers: string[]) =>
    app.request("/api/v2/silences", {
      method: "POST",
      body: JSON.stringify({ matchers, endsAt, createdBy: "me", comment: matchers.join(",") }),
    });
  await make(['alertname="Disk"', 'site="barn"']);
  await make(['alertname="Power"']);
  const query = async (...filters: string[]) => {
    const qs = filters.map((f) => `filter=${encodeURIComponent(f)}`).join("&");
    const list = await (await app.request(`/api/v2/silences?${qs}`)).json();
    return list.map((s: { comment: string }) => s.comment).sort();
  };
  assert.deepEqual(await query(), ['alertname="Disk",site="barn"', 'alertname="Power"']);
  assert.deepEqual(await query("alertname=Disk"), ['alertname="Disk",site="barn"']);
  assert.deepEqual(await query("alertname=~P.*"), ['alertname="Power"']);
  assert.deepEqual(await query('site!="barn"'), ['alertname="Power"']);
  assert.deepEqual(await query('site=""'), ['alertname="Power"']);

  await t.notifier.sink.put([
    alert({ alertname: "Disk", site: "barn" }),
    alert({ alertname: "Disk", site: "shed" }),
    alert({ alertname: "Load", site: "shed" }),
  ], t.clock.now());
  const groups = await (await app.request("/api/v2/alerts/groups")).json() as {
    labels: Record<string, string>;
    receiver: { name: string };
    alerts: { labels: Record<string, string>; status: { state: string } }[];
  }[];
  const byName = new Map(groups.map((g) => [g.labels.alertname, g]));
  assert.deepEqual([...byName.keys()].sort(), ["Disk", "Load"]);
  assert.equal(byName.get("Disk")!.receiver.name, "hook");
  assert.deepEqual(byName.get("Disk")!.alerts.map((a) => a.labels.site).sort(), ["barn", "shed"]);
  // The silenced alert is "suppressed"; silenced=false leaves it out.
  assert.equal(
    byName.get("Disk")!.alerts.find((a) => a.labels.site === "barn")!.status.state,
    "suppressed",
  );
  const active = await (await app.request("/api/v2/alerts/groups?silenced=false")).json();
  const disk = active.find((g: { labels: Record<string, string> }) =>
    g.labels.alertname === "Disk"
  );
  assert.equal(disk.alerts.length, 1);
  const none = await (await app.request("/api/v2/alerts/groups?receiver=nobody")).json();
  assert.deepEqual(none, []);
});

Deno.test("POST /api/v1/receivers/<name>/test sends a marked test alert at once and reports each channel", async () => {
  await using t = await setup(webhookConfig(), { statuses: [200, 400] });
  const app = notifyRoutes({ notifier: t.notifier, receivers: () => ["hook"] });
  assert.deepEqual((await (await app.request("/api/v1/receivers")).json()).data, [{
    name: "hook",
  }]);
  let res = await app.request("/api/v1/receivers/hook/test", { method: "POST" });
  assert.equal(res.status, 200);
  let data = (await res.json()).data;
  assert.deepEqual(data, {
    receiver: "hook",
    ok: true,
    channels: [{ channelIndex: 0, channel: "webhook", ok: true }],
  });
  // Sent right away (no group_wait on the fake clock), as a webhook v4 payload marked as a test.
  assert.equal(t.requests.length, 1);
  const body = t.requests[0]!.body as {
    receiver: string;
    status: string;
    alerts: { labels: Record<string, string> }[];
  };
  assert.equal(body.receiver, "hook");
  assert.equal(body.status, "firing");
  assert.equal(body.alerts[0]!.labels.alertname, "PerchTestNotification");
  assert.equal(body.alerts[0]!.labels.test, "true");
  // Not a delivery of a real alert: nothing queued, nothing in the delivery log.
  assert.equal(t.notifier.pending().length, 0);
  assert.equal((await t.notifier.deliveryLog()).length, 0);
  // A receiver that refuses: the error comes back to the caller.
  res = await app.request("/api/v1/receivers/hook/test", { method: "POST" });
  data = (await res.json()).data;
  assert.equal(data.ok, false);
  assert.match(data.channels[0].error, /400/);
  res = await app.request("/api/v1/receivers/nope/test", { method: "POST" });
  assert.equal(res.status, 404);
  assert.match((await res.json()).error, /no receiver named "nope"/);
});
