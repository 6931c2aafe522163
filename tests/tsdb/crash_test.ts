import assert from "node:assert/strict";
import { newMatcher } from "../../core/model/mod.ts";
import { openDB } from "../../core/tsdb/mod.ts";
import { HOSTS, PER_SERIES, tsOf } from "./crash_child.ts";

const CHILD = new URL("./crash_child.ts", import.meta.url).pathname;

async function runAndKill(dir: string, start: number, killAfterMs: number): Promise<number[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CHILD, dir, String(start)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const acked: number[] = [];
  let text = "";
  const reader = child.stdout.getReader();
  const dec = new TextDecoder();
  let killed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const readLoop = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
      let nl;
      while ((nl = text.indexOf("\n")) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (line.startsWith("ack ")) acked.push(Number(line.slice(4)));
        // Start the kill clock at the first acknowledgement (after start-up and recovery).
        if (timer === undefined) {
          timer = setTimeout(() => {
            killed = true;
            child.kill("SIGKILL");
          }, killAfterMs);
        }
      }
    }
  })();
  const status = await child.status;
  await readLoop;
  if (timer !== undefined) clearTimeout(timer);
  assert.ok(killed, `child exited by itself with code ${status.code}`);
  return acked;
}

Deno.test("crash: SIGKILL at random points loses no acknowledged batch and leaves none half-written", async () => {
  const dir = await Deno.makeTempDir();
  const seed = Date.now() % 100_000;
  let rnd = seed;
  const random = () => (rnd = (rnd * 16807) % 2147483647) / 2147483647;
  const acked = new Set<number>();
  let next = 0;
  for (let round = 0; round < 5; round++) {
    const got = await runAndKill(dir, next, 150 + Math.floor(random() * 900));
    for (const id of got) acked.add(id);
    // Unacknowledged ids of this round may or may not be stored; new rounds start past them.
    next = (got.length ? got[got.length - 1] : next) + 1000;
    const db = await openDB({
      dir,
      blockRangeMs: 20_000,
      outOfOrderWindowMs: Infinity,
      futureToleranceMs: Infinity,
      backgroundIntervalMs: 0,
      useWorker: false,
    });
    const data = await db.select([newMatcher("=", "__name__", "crash")], {
      minT: -Infinity,
      maxT: Infinity,
    });
    const perId = new Map<number, number>();
    for (const s of data) {
      for (let i = 0; i < s.t.length; i++) {
        const id = s.v[i];
        const j = Math.round((s.t[i] - tsOf(id, 0)) / 10);
        assert.equal(s.t[i], tsOf(id, j), `sample at ${s.t[i]} belongs to batch ${id}`);
        perId.set(id, (perId.get(id) ?? 0) + 1);
      }
    }
    for (const id of acked) {
      assert.equal(
        perId.get(id),
        PER_SERIES * HOSTS.length,
        `acknowledged batch ${id} complete (seed ${seed})`,
      );
    }
    for (const [id, n] of perId) {
      assert.equal(n, PER_SERIES * HOSTS.length, `batch ${id} is not half-present (seed ${seed})`);
    }
    assert.notEqual(db.health().status, "unhealthy");
    if (round === 4) assert.ok((await db.stats()).blocks > 0, "blocks were flushed during the run");
    await db.close();
  }
  assert.ok(acked.size > 10, `enough batches acknowledged: ${acked.size}`);
  await Deno.remove(dir, { recursive: true });
});
