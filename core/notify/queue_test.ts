import assert from "node:assert/strict";
import { alert, setup, webhookConfig } from "./_test_util.ts";
import { backoffMs } from "./queue.ts";
import { FakeClock } from "./clock.ts";

Deno.test("backoffMs grows ×1.5 per attempt from 1 s, caps at 1 min, and spreads by the jitter", () => {
  const mid = () => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 10, 11, 30].map((n) => backoffMs(n, 1000, 60_000, 0.2, mid)),
    [1000, 1500, 2250, 3375, 38_443, 57_665, 60_000],
  );
  assert.equal(backoffMs(1, 1000, 60_000, 0.2, () => 0), 800);
  assert.equal(backoffMs(1, 1000, 60_000, 0.2, () => 1), 1200);
  // The jitter never pushes a delay past the cap.
  assert.equal(backoffMs(30, 1000, 60_000, 0.2, () => 1), 60_000);
  assert.equal(backoffMs(30, 1000, 60_000, 0.2, () => 0), 48_000);
});

Deno.test("a webhook failing its first 3 calls is served within seconds, once", async () => {
  await using t = await setup(webhookConfig(), { statuses: [503, 500, 0] });
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(30_000);
  assert.deepEqual(t.answered, [503]);
  await t.clock.advance(1_000);
  assert.deepEqual(t.answered, [503, 500]);
  await t.clock.advance(1_500);
  assert.deepEqual(t.answered, [503, 500, 0]);
  assert.equal(t.notifier.pending().length, 1);
  await t.clock.advance(2_250);
  assert.deepEqual(t.answered, [503, 500, 0, 200]);
  assert.equal(t.requests.length, 1);
  assert.equal(t.notifier.pending().length, 0);
  const log = await t.notifier.deliveryLog();
  assert.equal(log.length, 1);
  assert.equal(log[0]!.success, true);
  assert.equal(log[0]!.outcome, "delivered");
  assert.equal(log[0]!.attempts, 4);
  assert.equal(log[0]!.receiver, "hook");
  assert.equal(log[0]!.channel, "webhook");
  assert.equal(log[0]!.alerts[0]!.alertname, "A");
  const metrics = t.registry.expose();
  assert.match(metrics, /perch_notifications_sent_total\{receiver="hook",channel="webhook"\} 1/);
  assert.match(metrics, /perch_notifications_retried_total\{receiver="hook",channel="webhook"\} 3/);
  assert.match(metrics, /perch_notification_queue_length 0/);
});

Deno.test("401 and 400 are not retried; 429 is", async () => {
  for (const [status, tries] of [[401, 1], [403, 1], [400, 1], [429, 2], [408, 2]] as const) {
    await using t = await setup(webhookConfig(), { statuses: [status] });
    await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
    await t.clock.advance(30_000 + 10 * 60_000);
    assert.equal(t.answered.length, tries, `status ${status}`);
    const log = await t.notifier.deliveryLog();
    assert.equal(log[0]!.success, tries === 2, `status ${status}`);
    assert.equal(log[0]!.outcome, tries === 2 ? "delivered" : "failed", `status ${status}`);
    if (tries === 1) assert.match(log[0]!.error!, new RegExp(`HTTP ${status}`));
  }
});

/** A small deterministic generator, so the jitter is exercised but reproducible. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

Deno.test("a webhook refusing for an hour gets every notification exactly once when it is back", async () => {
  const clock = new FakeClock();
  const back = clock.now() + 3_600_000;
  await using t = await setup(webhookConfig({ group_wait: "1s", repeat_interval: "24h" }), {
    clock,
    statuses: (now) => now < back ? (now % 2 === 0 ? 503 : 0) : 200,
    queue: { random: lcg(7) },
    resolveTimeoutMs: 48 * 3_600_000,
  });
  // Three groups start firing during the outage, at 0, 10 and 30 minutes.
  const names = ["A", "B", "C"];
  for (const [i, at] of [0, 10, 30].entries()) {
    await clock.advance(at * 60_000 - (clock.now() - (back - 3_600_000)));
    await t.notifier.sink.put([alert({ alertname: names[i]! })], clock.now());
  }
  await clock.advance(back - clock.now() - 1);
  assert.equal(t.requests.length, 0, "nothing accepted while down");
  assert.equal(t.notifier.pending().length, 3, "nothing abandoned while down");
  // The pace: first retry after about a second, then never more than a minute apart.
  const gaps = t.calls.slice(1).map((c, i) => c - t.calls[i]!);
  assert.ok(gaps[0]! >= 800 && gaps[0]! <= 2_000, `first retry after ${gaps[0]}ms`);
  assert.ok(Math.max(...gaps) <= 60_000, `longest gap ${Math.max(...gaps)}ms`);
  assert.ok(t.calls.length >= 60, `${t.calls.length} tries in the hour`);

  await clock.advance(60_000);
  const order = t.requests.map((r) =>
    (r.body as { groupLabels: Record<string, string> }).groupLabels.alertname
  );
  assert.deepEqual(order, names, "each once, in the order they were raised");
  // The rules keep re-sending the firing alerts: nothing is delivered twice.
  for (let i = 0; i < 10; i++) {
    await t.notifier.sink.put(names.map((n) => alert({ alertname: n })), clock.now());
    await clock.advance(60_000);
  }
  assert.equal(t.requests.length, 3);
  const ids = t.requests.map((r) => r.headers.get("Idempotency-Key"));
  assert.equal(new Set(ids).size, 3);
  const log = await t.notifier.deliveryLog();
  assert.deepEqual(log.map((e) => e.outcome).sort(), ["delivered", "delivered", "delivered"]);
  assert.equal(t.notifier.pending().length, 0);
});

Deno.test("a newer notification for the same group supersedes an undelivered one", async () => {
  const clock = new FakeClock();
  let down = true;
  await using t = await setup(
    webhookConfig({ group_by: ["team"], group_wait: "1s", group_interval: "1m" }, {
      send_resolved: true,
    }),
    { clock, statuses: () => down ? 503 : 200 },
  );
  const x = alert({ alertname: "X", team: "a" });
  const y = alert({ alertname: "Y", team: "a" });
  const z = alert({ alertname: "Z", team: "a" });
  // First notification: X and Y firing.
  await t.notifier.sink.put([x, y], clock.now());
  await clock.advance(1_000);
  // Second: Y resolved (and then dropped from the group).
  await t.notifier.sink.put([x, { ...y, endsAt: clock.now() }], clock.now());
  await clock.advance(60_000);
  // Third: Z joins; the group no longer holds Y.
  await t.notifier.sink.put([x, z], clock.now());
  await clock.advance(60_000);
  assert.equal(t.requests.length, 0);
  down = false;
  await clock.advance(60_000);

  assert.equal(t.requests.length, 1, "only the newest notification is sent");
  const body = t.requests[0]!.body as {
    status: string;
    alerts: { labels: Record<string, string>; status: string }[];
  };
  const got = body.alerts.map((a) => `${a.labels.alertname}:${a.status}`).sort();
  // Y's resolution lived only in the superseded notification: it is carried over.
  assert.deepEqual(got, ["X:firing", "Y:resolved", "Z:firing"]);
  assert.equal(body.status, "firing");
  const log = await t.notifier.deliveryLog();
  assert.deepEqual(log.map((e) => e.outcome).sort(), ["delivered", "superseded", "superseded"]);
  for (const e of log.filter((e) => e.outcome === "superseded")) {
    assert.match(e.error!, /superseded by newer notification/);
  }
  assert.match(
    t.registry.expose(),
    /perch_notifications_superseded_total\{receiver="hook",channel="webhook"\} 2/,
  );
});

Deno.test("a notification older than the maximum age is given up, logged and counted", async () => {
  await using t = await setup(webhookConfig({ repeat_interval: "24h" }), {
    statuses: () => 503,
    queue: { maxAgeMs: 2 * 3_600_000 },
    resolveTimeoutMs: 48 * 3_600_000,
  });
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(30_000 + 2 * 3_600_000 - 1_000);
  assert.equal(t.notifier.pending().length, 1, "still retried just before the maximum age");
  const tries = t.calls.length;
  await t.clock.advance(2_000);
  assert.equal(t.notifier.pending().length, 0);
  const log = await t.notifier.deliveryLog();
  assert.equal(log.length, 1);
  assert.equal(log[0]!.outcome, "expired");
  assert.equal(log[0]!.success, false);
  assert.match(log[0]!.error!, /expired: not delivered within 2h; last error: .*HTTP 503/);
  assert.equal(
    log[0]!.time - log[0]!.createdAt,
    2 * 3_600_000,
    "given up right at the maximum age",
  );
  const metrics = t.registry.expose();
  assert.match(metrics, /perch_notifications_expired_total\{receiver="hook",channel="webhook"\} 1/);
  await t.clock.advance(3_600_000);
  assert.ok(t.calls.length <= tries + 1, "no tries after giving up");
});

Deno.test("notifications to one channel are delivered in order behind a failing head", async () => {
  await using t = await setup(webhookConfig({ group_wait: "1s" }), { statuses: [500, 500] });
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(1_000);
  await t.notifier.sink.put([alert({ alertname: "B" })], t.clock.now());
  await t.notifier.sink.put([alert({ alertname: "C" })], t.clock.now());
  await t.clock.advance(10 * 60_000);
  const order = t.requests.map((r) =>
    (r.body as { groupLabels: Record<string, string> }).groupLabels.alertname
  );
  assert.deepEqual(order, ["A", "B", "C"]);
});

Deno.test("after repeated failures the whole channel backs off, never more than a minute", async () => {
  await using t = await setup(webhookConfig({ group_wait: "1s" }), {
    statuses: Array(20).fill(400),
    queue: { breakerThreshold: 3, breakerCooldownMs: 5 * 60_000 },
  });
  const names = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M"];
  await t.notifier.sink.put(names.map((n) => alert({ alertname: n })), t.clock.now());
  // A, B, C fail for good one after the other; the third failure opens the circuit.
  await t.clock.advance(1_000);
  assert.equal(t.answered.length, 3);
  // D waits the backoff of 3 failures (2.25 s), E that of 4 (3.375 s), …
  await t.clock.advance(2_000);
  assert.equal(t.answered.length, 3, "paused while open");
  await t.clock.advance(500);
  assert.equal(t.answered.length, 4, "D after 2.25 s");
  await t.clock.advance(3_375);
  assert.equal(t.answered.length, 5, "E after 3.375 s");
  // … growing to the cap: never more than a minute between two tries.
  await t.clock.advance(10 * 60_000);
  assert.equal(t.answered.length, names.length);
  const gaps = t.calls.slice(1).map((c, i) => c - t.calls[i]!);
  assert.ok(Math.max(...gaps) <= 60_000, `longest gap ${Math.max(...gaps)}ms`);
  assert.ok(Math.max(...gaps) > 30_000, "the pause grew");
});

Deno.test("pending deliveries resume after a restart, delivered once", async () => {
  const kv = await Deno.openKv(":memory:");
  const clock = new FakeClock();
  {
    await using t = await setup(webhookConfig(), { kv, clock, statuses: [500] });
    await t.notifier.sink.put([alert({ alertname: "A" })], clock.now());
    await clock.advance(30_000);
    assert.equal(t.answered.length, 1);
    assert.equal(t.requests.length, 0);
    assert.equal(t.notifier.pending().length, 1);
  }
  {
    await using t = await setup(webhookConfig(), { kv, clock });
    assert.equal(t.notifier.pending().length, 1);
    await clock.advance(60_000);
    assert.equal(t.requests.length, 1);
    // Rules re-send the still-firing alert after the restart: the nflog remembers it was sent.
    await t.notifier.sink.put([alert({ alertname: "A" })], clock.now());
    await clock.advance(10 * 60_000);
    assert.equal(t.requests.length, 1);
  }
  kv.close();
});

Deno.test("the idempotency key is stable across retries and sent as a header", async () => {
  await using t = await setup(webhookConfig(), { statuses: [500] });
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(30_000);
  const id = t.notifier.pending()[0]!.id;
  await t.clock.advance(60_000);
  assert.equal(t.requests[0]!.headers.get("Idempotency-Key"), id);
});

Deno.test("after a supersession and a restart, only the newest notification of the group is delivered, once", async () => {
  const kv = await Deno.openKv(":memory:");
  const clock = new FakeClock();
  let down = true;
  const route = { group_by: ["team"], group_wait: "1s", group_interval: "1m" };
  const x = alert({ alertname: "X", team: "a" });
  const y = alert({ alertname: "Y", team: "a" });
  {
    await using t = await setup(webhookConfig(route, { send_resolved: true }), {
      kv,
      clock,
      statuses: () => 503,
    });
    await t.notifier.sink.put([x, y], clock.now());
    await clock.advance(1_000);
    await t.notifier.sink.put([x, { ...y, endsAt: clock.now() }], clock.now());
    await clock.advance(60_000);
    await t.notifier.sink.put([x], clock.now());
    await clock.advance(60_000);
    // Two notifications were queued; the older one has been replaced by now.
    const pending = t.notifier.pending();
    assert.equal(pending.length, 1);
  }
  {
    await using t = await setup(webhookConfig(route, { send_resolved: true }), {
      kv,
      clock,
      statuses: () => down ? 503 : 200,
    });
    assert.equal(t.notifier.pending().length, 1, "the queue is read back from KV");
    down = false;
    await t.notifier.sink.put([x], clock.now());
    await clock.advance(5 * 60_000);
    assert.equal(t.requests.length, 1);
    const body = t.requests[0]!.body as {
      alerts: { labels: Record<string, string>; status: string }[];
    };
    assert.deepEqual(
      body.alerts.map((a) => `${a.labels.alertname}:${a.status}`).sort(),
      ["X:firing", "Y:resolved"],
    );
  }
  kv.close();
});
