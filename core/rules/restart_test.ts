import assert from "node:assert/strict";
import { MemStore } from "../tsdb/mod_testing.ts";
import { harness, type HarnessOptions } from "./_harness.ts";

const M = 60_000;
const FILE = `
groups:
  - name: temps
    rules:
      - alert: HighTemp
        expr: temp > 90
        for: 2m
`;

/** Runs `steps` minutes pushing `v` for room a; returns the harness still open. */
async function runFor(o: HarnessOptions, steps: number, v: number) {
  const h = await harness(o);
  const res = await h.manager.start();
  assert.ok(res.ok, res.errors.join("\n"));
  for (let i = 0; i < steps; i++) {
    h.push("temp", { room: "a" }, v);
    await h.clock.advance(M);
  }
  return h;
}

async function withKv(fn: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(`${dir}/rules.kv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("restart while firing and delivered: state kept, no put at start, same startsAt after", async () => {
  await withKv(async (kvPath) => {
    const mem = new MemStore();
    const a = await runFor({ kvPath, mem, files: { "r.yml": FILE } }, 4, 95);
    const fired = a.sink.all.filter((x) => x.endsAt === 0);
    assert.ok(fired.length > 0);
    const end = a.clock.now();
    await a.close();

    const b = await harness({ kvPath, mem, files: { "r.yml": FILE }, clockStart: end });
    await b.manager.start();
    assert.equal(b.sink.puts.length, 0, "no put at start for an already delivered alert");
    assert.equal(b.manager.alerts()[0]!.state, "firing");
    for (let i = 0; i < 3; i++) {
      b.push("temp", { room: "a" }, 95);
      await b.clock.advance(M);
    }
    // Resends carry the same idempotency key (fingerprint, startsAt, firing).
    assert.ok(b.sink.all.length > 0);
    assert.deepEqual(b.sink.keys(), a.sink.keys());
    await b.close();
  });
});

Deno.test("restart after the transition was written but not delivered: exactly one put at start", async () => {
  await withKv(async (kvPath) => {
    const mem = new MemStore();
    const a = await harness({ kvPath, mem, files: { "r.yml": FILE } });
    await a.manager.start();
    a.sink.fail = true; // The hand-over never happens (as if killed right after the KV write).
    for (let i = 0; i < 3; i++) {
      a.push("temp", { room: "a" }, 95);
      await a.clock.advance(M);
    }
    assert.equal(a.manager.alerts()[0]!.state, "firing");
    assert.equal(a.sink.puts.length, 0);
    const end = a.clock.now();
    await a.close();

    const b = await harness({ kvPath, mem, files: { "r.yml": FILE }, clockStart: end });
    await b.manager.start();
    assert.equal(b.sink.puts.length, 1);
    const put = b.sink.puts[0]!.alerts;
    assert.equal(put.length, 1);
    assert.equal(put[0]!.endsAt, 0);
    await b.close();

    // A third start finds it delivered: nothing put.
    const c = await harness({ kvPath, mem, files: { "r.yml": FILE }, clockStart: end });
    await c.manager.start();
    assert.equal(c.sink.puts.length, 0);
    assert.deepEqual(c.manager.alerts().map((x) => x.firedAt), [put[0]!.startsAt]);
    await c.close();
  });
});

Deno.test("restart while pending: `for` counts from the original activeAt", async () => {
  await withKv(async (kvPath) => {
    const mem = new MemStore();
    const a = await runFor({ kvPath, mem, files: { "r.yml": FILE } }, 1, 95);
    const activeAt = a.manager.alerts()[0]!.activeAt;
    assert.equal(a.manager.alerts()[0]!.state, "pending");
    const end = a.clock.now();
    await a.close();
    const b = await harness({ kvPath, mem, files: { "r.yml": FILE }, clockStart: end });
    await b.manager.start();
    assert.equal(b.manager.alerts()[0]!.activeAt, activeAt);
    b.push("temp", { room: "a" }, 95);
    await b.clock.advance(M); // 1m after activeAt: still pending
    assert.equal(b.manager.alerts()[0]!.state, "pending");
    b.push("temp", { room: "a" }, 95);
    await b.clock.advance(M); // 2m after activeAt: fires
    assert.equal(b.manager.alerts()[0]!.state, "firing");
    assert.equal(b.manager.alerts()[0]!.firedAt - activeAt, 2 * M);
    await b.close();
  });
});

Deno.test("restart after resolving: delivered stays quiet, undelivered is put once", async () => {
  await withKv(async (kvPath) => {
    const mem = new MemStore();
    const a = await runFor({ kvPath, mem, files: { "r.yml": FILE } }, 3, 95);
    a.push("temp", { room: "a" }, 10);
    await a.clock.advance(M);
    assert.equal(a.sink.all.filter((x) => x.endsAt > 0).length, 1);
    const end = a.clock.now();
    await a.close();
    const b = await harness({ kvPath, mem, files: { "r.yml": FILE }, clockStart: end });
    await b.manager.start();
    assert.equal(b.sink.puts.length, 0);
    await b.close();
  });
  await withKv(async (kvPath) => {
    const mem = new MemStore();
    const a = await runFor({ kvPath, mem, files: { "r.yml": FILE } }, 3, 95);
    a.sink.fail = true;
    a.push("temp", { room: "a" }, 10);
    await a.clock.advance(M);
    const end = a.clock.now();
    await a.close();
    const b = await harness({ kvPath, mem, files: { "r.yml": FILE }, clockStart: end });
    await b.manager.start();
    assert.equal(b.sink.puts.length, 1);
    assert.ok(b.sink.puts[0]!.alerts[0]!.endsAt > 0);
    await b.close();
  });
});

Deno.test("restart with the rule removed: its firing alert is resolved and put once", async () => {
  await withKv(async (kvPath) => {
    const mem = new MemStore();
    const a = await runFor({ kvPath, mem, files: { "r.yml": FILE } }, 3, 95);
    const startsAt = a.sink.all[0]!.startsAt;
    const end = a.clock.now();
    await a.close();
    const b = await harness({ kvPath, mem, files: { "r.yml": "groups: []" }, clockStart: end + M });
    await b.manager.start();
    assert.equal(b.sink.puts.length, 1);
    const r = b.sink.puts[0]!.alerts[0]!;
    assert.equal(r.startsAt, startsAt);
    assert.equal(r.endsAt, end + M);
    await b.close();
    const c = await harness({ kvPath, mem, files: { "r.yml": "groups: []" }, clockStart: end + M });
    await c.manager.start();
    assert.equal(c.sink.puts.length, 0, "forgotten after hand-over");
    assert.equal((await Array.fromAsync(c.kv.list({ prefix: ["rules", "alert"] }))).length, 0);
    await c.close();
  });
});

Deno.test("restart with a broken rule file parks alert state instead of resolving it", async () => {
  await withKv(async (kvPath) => {
    const mem = new MemStore();
    const a = await runFor({ kvPath, mem, files: { "r.yml": FILE } }, 3, 95);
    const keys = a.sink.keys();
    const end = a.clock.now();
    await a.close();
    const files: Record<string, string> = { "r.yml": FILE.replace("temp > 90", "temp >") };
    const b = await harness({ kvPath, mem, files, clockStart: end });
    const res = await b.manager.start();
    assert.equal(res.ok, false);
    assert.equal(b.sink.puts.length, 0, "nothing resolved");
    assert.equal((await Array.fromAsync(b.kv.list({ prefix: ["rules", "alert"] }))).length, 1);
    files["r.yml"] = FILE;
    assert.ok((await b.manager.reload()).ok);
    assert.equal(b.manager.alerts()[0]!.state, "firing");
    b.push("temp", { room: "a" }, 95);
    await b.clock.advance(M);
    assert.deepEqual(b.sink.keys(), keys, "same alert, no new firing period");
    await b.close();
  });
});
