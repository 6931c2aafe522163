import assert from "node:assert/strict";
import { LiveHub } from "../core/live/mod.ts";
import { wsRoutes } from "./ws.ts";

Deno.test("/ws subscribes over a real WebSocket and receives a result, then a delta", async () => {
  let now = 60_000;
  const hub = new LiveHub({
    clock: { now: () => now },
    query: (_e, start, end, step) => {
      const t: number[] = [], v: number[] = [];
      for (let x = start; x <= end; x += step) (t.push(x), v.push(1));
      return Promise.resolve([{ labels: [{ name: "__name__", value: "up" }], t, v }]);
    },
  });
  const app = wsRoutes({ hub });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/ws`);
  const got: Record<string, unknown>[] = [];
  let wake: () => void = () => {};
  ws.onmessage = (e) => (got.push(JSON.parse(e.data)), wake());
  const next = () =>
    got.length ? Promise.resolve(got.shift()!) : new Promise<Record<string, unknown>>((r) => {
      wake = () => r(got.shift()!);
    });
  await new Promise((r) => (ws.onopen = r));
  ws.send(
    JSON.stringify({ type: "subscribe", panelId: "1:0", query: "up", range: 5000, step: 1000 }),
  );
  ws.send(JSON.stringify({ type: "ping", id: 1 }));
  assert.deepEqual(await next(), { type: "pong", id: 1 });
  await hub.tick();
  const r = await next();
  assert.equal(r.type, "result");
  assert.equal((r.series as unknown[]).length, 1);
  now += 1000;
  await hub.tick();
  const d = await next();
  assert.equal(d.type, "delta");
  assert.deepEqual((d.series as { values: unknown }[])[0]!.values, [[61, "1"]]);
  ws.close();
  await new Promise((r) => (ws.onclose = r));
  // The hub forgets the client once the socket closes.
  for (let i = 0; i < 50 && hub.clientCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(hub.clientCount, 0);
  await server.shutdown();
});

Deno.test("/ws without an upgrade is refused with 426", async () => {
  const hub = new LiveHub({ clock: { now: () => 0 }, query: () => Promise.resolve([]) });
  const r = await wsRoutes({ hub }).request("/ws");
  assert.equal(r.status, 426);
});

Deno.test("/ws closes a connection that sends an oversized message", async () => {
  const hub = new LiveHub({ clock: { now: () => 0 }, query: () => Promise.resolve([]) });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    wsRoutes({ hub }).fetch,
  );
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/ws`);
  await new Promise((r) => (ws.onopen = r));
  const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
  ws.send(JSON.stringify({ type: "ping", pad: "x".repeat(200_000) }));
  const ev = await closed;
  assert.equal(ev.code, 1009);
  for (let i = 0; i < 50 && hub.clientCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(hub.clientCount, 0);
  await server.shutdown();
});
