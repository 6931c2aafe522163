/**
 * Issue 13's outage check through real processes: a Perch child with three
 * firing alert rules notifies a webhook receiver (an HTTP server in this test)
 * that refuses every call. Perch is SIGKILLed while retrying, restarted on the
 * same data dir, and the receiver comes back: each notification arrives
 * exactly once, in the order it was raised. Retry timings are shortened by
 * config (`notifications.min_backoff` / `max_backoff`).
 */
import assert from "node:assert/strict";
import { hookRouteYaml, spawnPerch, spawnWithConfig } from "../_perch.ts";
import { waitFor } from "./_smtp_sink.ts";

interface Call {
  readonly key: string | null;
  readonly alertname: string;
  readonly accepted: boolean;
}

Deno.test("a receiver down across a SIGKILL of Perch gets every notification exactly once", async () => {
  let down = true;
  const calls: Call[] = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    calls.push({
      key: req.headers.get("Idempotency-Key"),
      alertname: body.groupLabels?.alertname ?? "",
      accepted: !down,
    });
    return down ? new Response("redeploying", { status: 503 }) : new Response("ok");
  });
  const dir = await Deno.makeTempDir({ prefix: "perch-outage-" });
  const rules = `groups:
  - name: outage
    interval: 1s
    rules:
      - alert: OutageA
        expr: vector(1)
      - alert: OutageB
        expr: vector(1)
        for: 2s
      - alert: OutageC
        expr: vector(1)
        for: 4s
`;
  const config = `global:
  evaluation_interval: 1s
self_monitoring_rules: false
self_scrape:
  enabled: false
rule_files: [rules.yml]
notifications:
  min_backoff: 100ms
  max_backoff: 400ms
${hookRouteYaml(`http://127.0.0.1:${receiver.addr.port}/hook`)}`;
  const pendingIn = async (url: string) => {
    const log = await (await fetch(`${url}/api/v1/notifications?receiver=hook`)).json();
    return (log.data as { pending: boolean; id: string }[]).filter((e) => e.pending);
  };
  try {
    const first = await spawnWithConfig(config, { dir, files: { "rules.yml": rules } });
    let queued: string[] = [];
    try {
      // All three notifications are queued; the first (the channel's head) is being retried.
      const deadline = Date.now() + 30_000;
      while (queued.length < 3 || calls.length < 3) {
        if (Date.now() > deadline) throw new Error(`not queued: ${JSON.stringify(calls)}`);
        await new Promise((r) => setTimeout(r, 200));
        queued = (await pendingIn(first.url)).map((e) => e.id);
      }
    } finally {
      assert.equal(await first.stop("SIGKILL"), 137);
    }
    const beforeRestart = calls.length;
    assert.equal(calls.filter((c) => c.accepted).length, 0);

    const second = await spawnPerch({ args: [`--config=${first.config}`], dataDir: first.dataDir });
    try {
      // The new process resumes the retries (the rules fire again, too) ...
      await waitFor(() => calls.length >= beforeRestart + 5, 30_000, "retries after restart");
      // ... and the receiver comes back.
      down = false;
      await waitFor(
        () => calls.filter((c) => c.accepted).length >= 3,
        30_000,
        "three deliveries",
      );
      // Give duplicates every chance: several evaluations and group intervals.
      await new Promise((r) => setTimeout(r, 4_000));
      const log = await (await fetch(`${second.url}/api/v1/notifications?receiver=hook`)).json();
      const entries = log.data as {
        outcome?: string;
        attempts: number;
        pending: boolean;
        groupKey: string;
      }[];
      assert.equal(entries.filter((e) => e.pending).length, 0, JSON.stringify(entries));
      assert.deepEqual(entries.map((e) => e.outcome), ["delivered", "delivered", "delivered"]);
      // The head of the channel was retried across the restart; the others waited behind it.
      const head = entries.find((e) => e.groupKey.includes("OutageA"))!;
      assert.ok(head.attempts > 5, JSON.stringify(entries));
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      assert.doesNotMatch(metrics, /perch_notifications_(failed|expired)_total\{[^}]*\} [1-9]/);
    } finally {
      await second.stop("SIGKILL");
    }

    const accepted = calls.filter((c) => c.accepted);
    assert.deepEqual(
      accepted.map((c) => c.alertname),
      ["OutageA", "OutageB", "OutageC"],
      "each notification once, in the order raised",
    );
    assert.equal(new Set(accepted.map((c) => c.key)).size, 3);
    // The keys delivered are the ones queued before the kill: no notification was re-made.
    assert.deepEqual(new Set(accepted.map((c) => c.key)), new Set(queued));
  } finally {
    await receiver.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
