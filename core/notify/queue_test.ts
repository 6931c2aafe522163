import assert from "node:assert/strict";
import { alert, setup, webhookConfig } from "./_test_util.ts";
import { backoffMs } from "./queue.ts";
import { FakeClock } from "./clock.ts";

Deno.test("backoffMs doubles per attempt, caps, and spreads by the jitter", () => {
  const mid = () => 0.5;
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, 40_000, 300_000, 0.2, mid)), [
    40_000,
    80_000,
    160_000,
    300_000,
    300_000,
    300_000,
  ]);
  assert.equal(backoffMs(1, 40_000, 300_000, 0.2, () => 0), 32_000);
  assert.equal(backoffMs(1, 40_000, 300_000, 0.2, () => 1), 48_000);
});

Deno.test("a failing receiver gets the notification once, after backoff", async () => {
  await using t = await setup(webhookConfig(), { statuses: [503, 500, 0] });
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  await t.clock.advance(30_000);
  assert.deepEqual(t.answered, [503]);
  await t.clock.advance(40_000);
  assert.deepEqual(t.answered, [503, 500]);
  await t.clock.advance(80_000);
  assert.deepEqual(t.answered, [503, 500, 0]);
  assert.equal(t.notifier.pending().length, 1);
  await t.clock.advance(160_000);
  assert.deepEqual(t.answered, [503, 500, 0, 200]);
  assert.equal(t.requests.length, 1);
  assert.equal(t.notifier.pending().length, 0);
  const log = await t.notifier.deliveryLog();
  assert.equal(log.length, 1);
  assert.equal(log[0]!.success, true);
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
    if (tries === 1) assert.match(log[0]!.error!, new RegExp(`HTTP ${status}`));
  }
});

Deno.test("after 5 failed tries over ~10 minutes the notification is kept as failed", async () => {
  await using t = await setup(webhookConfig(), {
    statuses: [500, 500, 500, 500, 500, 500],
    resolveTimeoutMs: 3600_000,
  });
  await t.notifier.sink.put([alert({ alertname: "A" })], t.clock.now());
  const t0 = t.clock.now() + 30_000;
  await t.clock.advance(30 * 60_000);
  assert.equal(t.answered.length, 5);
  const log = await t.notifier.deliveryLog();
  assert.equal(log.length, 1);
  assert.equal(log[0]!.success, false);
  assert.equal(log[0]!.attempts, 5);
  assert.match(log[0]!.error!, /HTTP 500/);
  const span = log[0]!.time - t0;
  assert.ok(span >= 9 * 60_000 && span <= 11 * 60_000, `span ${span}ms`);
  assert.match(
    t.registry.expose(),
    /perch_notifications_failed_total\{receiver="hook",channel="webhook"\} 1/,
  );
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

Deno.test("the circuit opens after repeated failures and pauses the channel", async () => {
  await using t = await setup(webhookConfig({ group_wait: "1s" }), {
    statuses: Array(20).fill(500),
    queue: {
      maxAttempts: 2,
      initialBackoffMs: 1000,
      breakerThreshold: 3,
      breakerCooldownMs: 5 * 60_000,
    },
  });
  await t.notifier.sink.put(["A", "B", "C"].map((n) => alert({ alertname: n })), t.clock.now());
  await t.clock.advance(1_000); // A: try 1
  assert.equal(t.answered.length, 1);
  // A: try 2 fails for good; B's first try is the third consecutive failure: circuit opens.
  await t.clock.advance(1_000);
  assert.equal(t.answered.length, 3);
  await t.clock.advance(4 * 60_000);
  assert.equal(t.answered.length, 3, "paused while open");
  await t.clock.advance(60_000);
  assert.equal(t.answered.length, 4, "a probe after the cooldown");
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
