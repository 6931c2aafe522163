import assert from "node:assert/strict";
import {
  type DeliveryEntry,
  deliveryResult,
  isZeroTime,
  labelsKey,
  matchersFor,
  matcherText,
  silencedIndex,
  sortSilences,
} from "./alerts_model.ts";

Deno.test("matchersFor() silences exactly the alert's labels, alertname first", () => {
  const m = matchersFor({ room: "kitchen", alertname: "KitchenHot", severity: "warning" });
  assert.deepEqual(m.map(matcherText), [
    'alertname="KitchenHot"',
    'room="kitchen"',
    'severity="warning"',
  ]);
  assert.ok(m.every((x) => x.isEqual === true && x.isRegex === false));
});

Deno.test("matcherText() writes all four operators and escapes quotes", () => {
  assert.equal(matcherText({ name: "a", value: 'x"y', isRegex: false }), 'a="x\\"y"');
  assert.equal(matcherText({ name: "a", value: "x", isRegex: false, isEqual: false }), 'a!="x"');
  assert.equal(matcherText({ name: "a", value: "x.*", isRegex: true }), 'a=~"x.*"');
  assert.equal(matcherText({ name: "a", value: "x", isRegex: true, isEqual: false }), 'a!~"x"');
});

Deno.test("silencedIndex() finds an alert's silences whatever the label order", () => {
  const idx = silencedIndex([
    {
      labels: { b: "2", alertname: "A" },
      status: { state: "suppressed", silencedBy: ["s1"], inhibitedBy: [] },
    },
    { labels: { alertname: "B" }, status: { state: "active", silencedBy: [], inhibitedBy: [] } },
  ]);
  assert.deepEqual(idx.get(labelsKey({ alertname: "A", b: "2" })), ["s1"]);
  assert.equal(idx.get(labelsKey({ alertname: "B" })), undefined);
});

Deno.test("isZeroTime() treats Prometheus's year-1 time as never", () => {
  assert.ok(isZeroTime("0001-01-01T00:00:00Z"));
  assert.ok(isZeroTime(undefined));
  assert.ok(!isZeroTime("2024-05-01T10:00:00Z"));
});

Deno.test("sortSilences() lists active, then pending, then expired", () => {
  const s = (id: string, state: string, endsAt: string) => ({
    id,
    matchers: [],
    startsAt: "2024-01-01T00:00:00Z",
    endsAt,
    createdBy: "x",
    comment: "",
    status: { state },
  });
  const out = sortSilences([
    s("e", "expired", "2024-01-02T00:00:00Z"),
    s("a1", "active", "2024-01-03T00:00:00Z"),
    s("p", "pending", "2024-01-05T00:00:00Z"),
    s("a2", "active", "2024-01-04T00:00:00Z"),
  ]);
  assert.deepEqual(out.map((x) => x.id), ["a2", "a1", "p", "e"]);
});

Deno.test("deliveryResult() tells sent, retried, failed and pending deliveries apart", () => {
  const base: DeliveryEntry = {
    id: "1",
    time: "2024-01-01T00:00:00Z",
    receiver: "hook",
    channel: "webhook",
    groupKey: "{}:{}",
    state: "firing",
    alerts: [],
    success: true,
    pending: false,
    attempts: 1,
  };
  assert.deepEqual(deliveryResult(base), { kind: "sent", text: "sent" });
  assert.equal(deliveryResult({ ...base, attempts: 3 }).text, "sent after 3 tries");
  const failed = deliveryResult({ ...base, success: false, attempts: 5, error: "HTTP 500" });
  assert.equal(failed.kind, "failed");
  assert.match(failed.text, /5 tries: HTTP 500/);
  const pending = deliveryResult({ ...base, success: null, pending: true, attempts: 2 });
  assert.equal(pending.kind, "pending");
  assert.match(pending.text, /attempt 2/);
  const superseded = deliveryResult({
    ...base,
    success: false,
    outcome: "superseded",
    attempts: 9,
  });
  assert.equal(superseded.kind, "superseded");
  assert.match(superseded.text, /replaced by a newer notification for the group after 9 tries/);
  const expired = deliveryResult({
    ...base,
    success: false,
    outcome: "expired",
    attempts: 1400,
    error: "expired: not delivered within 1d",
  });
  assert.equal(expired.kind, "failed");
  assert.match(expired.text, /^gave up after 1400 tries: expired: not delivered/);
});
