import assert from "node:assert/strict";
import { ConfigError } from "./config/mod.ts";
import { changedPaths, type Checked, type Component, Lifecycle } from "./lifecycle.ts";
import { Logger } from "./logging/mod.ts";

interface Cfg {
  readonly a: number;
  readonly b: { readonly x: number; readonly y: string };
}

const base: Cfg = { a: 1, b: { x: 1, y: "one" } };

function setup(config: Cfg = base) {
  const lines: Record<string, unknown>[] = [];
  const log = new Logger({ sink: (l) => lines.push(JSON.parse(l)) });
  const outcomes: boolean[] = [];
  const lc = new Lifecycle<Cfg>({ log, config, onReload: (o) => outcomes.push(o.ok) });
  return { lc, lines, outcomes };
}

/** A component whose section is `b.x`, refused when negative; records what happens to it. */
function recorder(name: string, events: string[], restartOnly?: string[]): Component<Cfg, number> {
  return {
    name,
    ...(restartOnly ? { restartOnly } : {}),
    section(c: Cfg): Checked<number> {
      return c.b.x < 0
        ? { ok: false, errors: [`b.x: ${name} needs a value of at least 0`] }
        : { ok: true, value: c.b.x };
    },
    start(x) {
      events.push(`${name} start ${x}`);
      return Promise.resolve();
    },
    stop() {
      events.push(`${name} stop`);
      return Promise.resolve();
    },
    apply(x) {
      events.push(`${name} apply ${x}`);
    },
  };
}

const load = (c: Cfg) => () => Promise.resolve({ ok: true as const, value: c });

Deno.test("Lifecycle starts in order, applies reloads in order, stops in reverse", async () => {
  const events: string[] = [];
  const { lc, outcomes } = setup();
  await lc.startAll([recorder("one", events), recorder("two", events)]);
  const r = await lc.reload(load({ ...base, b: { x: 5, y: "one" } }));
  assert.deepEqual(r, { ok: true, restart: [] });
  assert.equal(lc.config.b.x, 5);
  assert.equal(await lc.stopAll(1000), true);
  assert.deepEqual(events, [
    "one start 1",
    "two start 1",
    "one apply 5",
    "two apply 5",
    "two stop",
    "one stop",
  ]);
  assert.deepEqual(outcomes, [true]);
});

Deno.test("Lifecycle refuses a start config any component rejects, before anything starts", async () => {
  const events: string[] = [];
  const { lc } = setup({ a: 1, b: { x: -1, y: "" } });
  const refusing: Component<Cfg, Cfg> = {
    name: "a",
    section: (c) =>
      c.a === 1 ? { ok: false, errors: ["a: must not be 1"] } : { ok: true, value: c },
    start: () => Promise.resolve(void events.push("a start")),
    stop: () => Promise.resolve(),
  };
  const e = await lc.startAll([recorder("one", events), refusing]).catch((e) => e);
  assert.ok(e instanceof ConfigError);
  // Every problem of every component at once.
  assert.deepEqual(e.errors, ["b.x: one needs a value of at least 0", "a: must not be 1"]);
  assert.deepEqual(events, []);
});

Deno.test("Lifecycle reload is all-or-nothing: one component's refusal keeps the old config everywhere", async () => {
  const events: string[] = [];
  const { lc, lines, outcomes } = setup();
  await lc.startAll([recorder("one", events), recorder("two", events)]);
  const r = await lc.reload(load({ a: 2, b: { x: -3, y: "one" } }));
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.errors, [
    "b.x: one needs a value of at least 0",
    "b.x: two needs a value of at least 0",
  ]);
  assert.equal(lc.config.a, 1, "the old config stays in force");
  assert.deepEqual(events, ["one start 1", "two start 1"], "no component applied anything");
  assert.ok(lines.some((l) => l.msg === "config reload rejected; keeping the previous config"));
  // A config that fails to load is rejected the same way.
  const failed = await lc.reload(() => Promise.reject(new Error("perch.yml: file not found")));
  assert.deepEqual(failed, { ok: false, errors: ["perch.yml: file not found"] });
  assert.deepEqual(outcomes, [false, false]);
  await lc.stopAll(1000);
});

Deno.test("Lifecycle reload of a load that finds nothing new checks, applies, counts and logs nothing", async () => {
  const events: string[] = [];
  const { lc, lines, outcomes } = setup();
  await lc.startAll([recorder("one", events)]);
  const before = lines.length;
  assert.equal(await lc.reload(() => Promise.resolve(undefined)), undefined);
  assert.deepEqual(events, ["one start 1"]);
  assert.deepEqual(outcomes, []);
  assert.deepEqual(lines.slice(before), []);
  await lc.stopAll(1000);
});

Deno.test("Lifecycle reload reports restart-only settings and still applies the rest", async () => {
  const events: string[] = [];
  const { lc, lines } = setup();
  await lc.startAll([recorder("one", events, ["a", "b.*"])]);
  const r = await lc.reload(load({ a: 2, b: { x: 1, y: "two" } }));
  assert.deepEqual(r, { ok: true, restart: ["a", "b.y"] });
  assert.ok(lines.some((l) =>
    l.msg === "config changes that need a restart were not applied" &&
    JSON.stringify(l.fields) === '["a","b.y"]'
  ));
  assert.deepEqual(events, ["one start 1", "one apply 1"]);
  await lc.stopAll(1000);
});

Deno.test("Lifecycle finishes the reload in progress before stopping and refuses the rest", async () => {
  const events: string[] = [];
  const { lc } = setup();
  let release!: () => void;
  const slow: Component<Cfg, Cfg> = {
    name: "slow",
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(void events.push("slow stop")),
    async apply(c) {
      events.push(`apply ${c.a} begins`);
      if (c.a === 2) await new Promise<void>((r) => release = r);
      events.push(`apply ${c.a} ends`);
    },
  };
  await lc.startAll([slow]);
  const first = lc.reload(load({ ...base, a: 2 }));
  const second = lc.reload(load({ ...base, a: 3 }));
  await new Promise((r) => setTimeout(r, 10));
  const stopped = lc.stopAll(1000);
  const third = lc.reload(load({ ...base, a: 4 }));
  release();
  // The reload in progress finishes before anything stops; the queued ones
  // never run: components may be closed by then.
  assert.equal((await first).ok, true);
  const refused = { ok: false, errors: ["Perch is stopping; the config was not reloaded"] };
  assert.deepEqual(await second, refused);
  assert.equal(await stopped, true);
  assert.deepEqual(await third, refused);
  assert.deepEqual(events, ["apply 2 begins", "apply 2 ends", "slow stop"]);
});

Deno.test("Lifecycle stops what started when a later start fails", async () => {
  const events: string[] = [];
  const { lc } = setup();
  const broken: Component<Cfg> = {
    name: "broken",
    start: () => Promise.reject(new Error("port in use")),
    stop: () => Promise.resolve(),
  };
  await assert.rejects(lc.startAll([recorder("one", events), broken]), /port in use/);
  assert.deepEqual(events, ["one start 1", "one stop"]);
});

Deno.test("changedPaths() compares values by path; .* lists each changed key", () => {
  const after = { a: 1, b: { x: 2, y: "one" } };
  assert.deepEqual(changedPaths(base, after, ["a", "b.x", "b.*"]), ["b.x", "b.x"]);
  assert.deepEqual(changedPaths(base, base, ["a", "b.*", "missing.path"]), []);
});

Deno.test("Lifecycle runs after-start-up work once, in start order, past a failing one; stopAll waits for it and skips the rest", async () => {
  const events: string[] = [];
  const { lc, lines } = setup();
  let release!: () => void;
  const slow = new Promise<void>((r) => release = r);
  await lc.startAll([
    {
      ...recorder("one", events),
      afterReady() {
        events.push("one after");
        return Promise.reject(new Error("cannot"));
      },
    },
    recorder("two", events),
    {
      ...recorder("three", events),
      async afterReady() {
        events.push("three after");
        await slow;
        events.push("three after done");
      },
    },
  ]);
  assert.deepEqual(events, ["one start 1", "two start 1", "three start 1"]);
  const first = lc.runAfterReady();
  assert.equal(lc.runAfterReady(), first, "runs once");
  for (let i = 0; i < 100 && !events.includes("three after"); i++) {
    await new Promise((r) => setTimeout(r, 1));
  }
  const stopped = lc.stopAll(1000);
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(!events.includes("three stop"), "stop waits for the work in progress");
  release();
  assert.equal(await stopped, true);
  assert.deepEqual(events.slice(3), [
    "one after",
    "three after",
    "three after done",
    "three stop",
    "two stop",
    "one stop",
  ]);
  assert.ok(lines.some((l) => l.msg === "a component failed its work after start-up"));
  // Once stopping, work not begun is skipped.
  const again = setup();
  const skipped: string[] = [];
  await again.lc.startAll([{
    ...recorder("four", skipped),
    afterReady() {
      skipped.push("four after");
      return Promise.resolve();
    },
  }]);
  await again.lc.stopAll(1000);
  await again.lc.runAfterReady();
  assert.deepEqual(skipped, ["four start 1", "four stop"]);
});
