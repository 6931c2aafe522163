import assert from "node:assert/strict";
import { type LiveClient, LiveHub, type LiveQueryFn, type LiveSeries } from "./hub.ts";

class FakeClient implements LiveClient {
  msgs: Record<string, unknown>[] = [];
  buffered = 0;
  closed?: { code: number; reason: string };
  send(text: string) {
    this.msgs.push(JSON.parse(text));
  }
  bufferedAmount() {
    return this.buffered;
  }
  close(code: number, reason: string) {
    this.closed = { code, reason };
  }
  take() {
    const m = this.msgs;
    this.msgs = [];
    return m;
  }
}

/** A query that returns one point per step of `value(t)` for series `{s="a"}`. */
function fakeQuery(calls: string[], value = (t: number) => t / 1000): LiveQueryFn {
  return (expr, start, end, step) => {
    calls.push(expr);
    if (expr === "broken") return Promise.reject(new Error("boom"));
    const t: number[] = [], v: number[] = [];
    for (let x = start; x <= end; x += step) {
      t.push(x);
      v.push(value(x));
    }
    const s: LiveSeries = { labels: [{ name: "s", value: "a" }], t, v };
    return Promise.resolve([s]);
  };
}

const sub = (panelId: string, query: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: "subscribe", panelId, query, range: 10_000, step: 1000, ...extra });

Deno.test("LiveHub runs identical subscriptions once per tick and fans out", async () => {
  let now = 100_000;
  const calls: string[] = [];
  const hub = new LiveHub({ query: fakeQuery(calls), clock: { now: () => now } });
  const a = new FakeClient(), b = new FakeClient();
  hub.connect(a).handle(sub("p1", "up"));
  hub.connect(b).handle(sub("x", "up"));
  assert.equal(hub.groupCount, 1);
  await hub.tick();
  assert.deepEqual(calls, ["up"]);
  const [ra] = a.take(), [rb] = b.take();
  assert.equal(ra!.type, "result");
  assert.equal(ra!.panelId, "p1");
  assert.equal(rb!.panelId, "x");
  const series = (ra as { series: { values: [number, string][] }[] }).series;
  assert.equal(series[0]!.values.length, 11);
  assert.deepEqual(series[0]!.values[10], [100, "100"]);

  // Not due yet: nothing runs.
  now += 500;
  await hub.tick();
  assert.equal(calls.length, 1);

  // Two steps later: a delta with the two new points and the new window start.
  now += 1500;
  await hub.tick();
  assert.equal(calls.length, 2);
  const [d] = a.take();
  assert.equal(d!.type, "delta");
  assert.equal(d!.start, 92);
  assert.deepEqual((d as { series: { values: unknown }[] }).series[0]!.values, [[101, "101"], [
    102,
    "102",
  ]]);
  assert.equal(b.take()[0]!.type, "delta");
});

Deno.test("LiveHub sends the cached result at once to a late subscriber and resyncs periodically", async () => {
  let now = 50_000;
  const calls: string[] = [];
  const hub = new LiveHub({ query: fakeQuery(calls), clock: { now: () => now }, resyncEvery: 3 });
  const a = new FakeClient();
  hub.connect(a).handle(sub("p", "up"));
  await hub.tick();
  const late = new FakeClient();
  hub.connect(late).handle(sub("q", "up"));
  const [first] = late.take();
  assert.equal(first!.type, "result");
  a.take();
  now += 1000;
  await hub.tick(); // Run 2: delta.
  assert.equal(a.take()[0]!.type, "delta");
  now += 1000;
  await hub.tick(); // Run 3: a full resync.
  assert.equal(a.take()[0]!.type, "result");
});

Deno.test("LiveHub reports errors per panel while other panels keep updating", async () => {
  let now = 10_000;
  const calls: string[] = [];
  const hub = new LiveHub({ query: fakeQuery(calls), clock: { now: () => now } });
  const c = new FakeClient();
  const h = hub.connect(c);
  h.handle(sub("good", "up"));
  h.handle(sub("bad", "broken"));
  await hub.tick();
  const msgs = c.take();
  assert.deepEqual(msgs.map((m) => `${m.panelId}:${m.type}`).sort(), ["bad:error", "good:result"]);
  assert.equal(msgs.find((m) => m.panelId === "bad")!.error, "boom");
  now += 1000;
  await hub.tick();
  assert.deepEqual(c.take().map((m) => `${m.panelId}:${m.type}`).sort(), [
    "bad:error",
    "good:delta",
  ]);
});

Deno.test("LiveHub validates subscriptions and answers pings", () => {
  const hub = new LiveHub({ query: fakeQuery([]), clock: { now: () => 0 } });
  const c = new FakeClient();
  const h = hub.connect(c);
  h.handle(JSON.stringify({ type: "ping", id: 7 }));
  h.handle(sub("p", "up", { step: 10 }));
  h.handle(sub("p", "up", { range: 1e12 }));
  h.handle("not json");
  h.handle(JSON.stringify({ type: "dance" }));
  const m = c.take();
  assert.deepEqual(m[0], { type: "pong", id: 7 });
  assert.match(String(m[1]!.error), /step must be/);
  assert.match(String(m[2]!.error), /range must be/);
  assert.match(String(m[3]!.error), /JSON object/);
  assert.match(String(m[4]!.error), /unknown message type/);
  assert.equal(hub.groupCount, 0);
});

Deno.test("LiveHub drops a slow client instead of buffering", async () => {
  let slow = 0;
  const now = 10_000;
  const hub = new LiveHub({
    query: fakeQuery([]),
    clock: { now: () => now },
    maxBufferedBytes: 1000,
    onSlowClient: () => slow++,
  });
  const fast = new FakeClient(), lazy = new FakeClient();
  hub.connect(fast).handle(sub("p", "up"));
  hub.connect(lazy).handle(sub("p", "up"));
  lazy.buffered = 5000;
  await hub.tick();
  assert.equal(lazy.closed?.code, 1008);
  assert.equal(slow, 1);
  assert.equal(hub.clientCount, 1);
  assert.equal(fast.take()[0]!.type, "result");
});

Deno.test("LiveHub forgets a group when its last subscriber leaves", () => {
  const hub = new LiveHub({ query: fakeQuery([]), clock: { now: () => 0 } });
  const c = new FakeClient();
  const h = hub.connect(c);
  h.handle(sub("p", "up"));
  h.handle(sub("q", "rate(x[1m])"));
  assert.equal(hub.groupCount, 2);
  h.handle(JSON.stringify({ type: "unsubscribe", panelId: "p" }));
  assert.equal(hub.groupCount, 1);
  h.close();
  assert.equal(hub.groupCount, 0);
  assert.equal(hub.clientCount, 0);
});

Deno.test("LiveHub carries native histogram points in results and deltas", async () => {
  let now = 100_000;
  const query: LiveQueryFn = (_expr, start, end, step) => {
    const t: number[] = [], h: object[] = [];
    for (let x = start; x <= end; x += step) {
      t.push(x);
      h.push({ count: String(x / 1000), sum: "1", buckets: [[0, "1", "2", String(x / 1000)]] });
    }
    return Promise.resolve([{
      labels: [{ name: "s", value: "h" }],
      t: [],
      v: [],
      histograms: { t, h },
    }]);
  };
  const hub = new LiveHub({ query, clock: { now: () => now } });
  const c = new FakeClient();
  hub.connect(c).handle(sub("p", "rate(lat[1m])"));
  await hub.tick();
  type Wire = { values: unknown[]; histograms: [number, { count: string }][] };
  const [r] = c.take();
  const s = (r as { series: Wire[] }).series[0]!;
  assert.deepEqual(s.values, []);
  assert.equal(s.histograms.length, 11);
  assert.deepEqual(s.histograms[10], [100, {
    count: "100",
    sum: "1",
    buckets: [[0, "1", "2", "100"]],
  }]);
  now += 2000;
  await hub.tick();
  const [d] = c.take();
  assert.equal(d!.type, "delta");
  const ds = (d as { series: Wire[] }).series[0]!;
  assert.deepEqual(ds.histograms.map(([t, h]) => [t, h.count]), [[101, "101"], [102, "102"]]);
});

Deno.test("LiveHub writes values as the HTTP API does (exponent padding, -0, +Inf)", async () => {
  const calls: string[] = [];
  const values = [1e-7, -0, Infinity, 2.5e22];
  const query = fakeQuery(calls, (t) => values[(t / 1000) % values.length]!);
  const hub = new LiveHub({ query, clock: { now: () => 3000 } });
  const a = new FakeClient();
  hub.connect(a).handle(sub("p", "v", { range: 3000 }));
  await hub.tick();
  const [r] = a.take();
  const series = (r as { series: { values: [number, string][] }[] }).series;
  assert.deepEqual(series[0]!.values.map(([, v]) => v), ["1e-07", "-0", "+Inf", "2.5e+22"]);
});
