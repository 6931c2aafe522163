import assert from "node:assert/strict";

const CHILD = new URL("./_restart_child.ts", import.meta.url).pathname;
const START = Date.UTC(2024, 0, 1, 12);

function spawn(mode: "crash" | "run", kvPath: string, outPath: string, start: number) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, mode, kvPath, outPath, String(start)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads stdout until `marker` appears (bounded). */
async function waitFor(
  child: Deno.ChildProcess,
  marker: string,
  timeoutMs = 30_000,
): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const timer = setTimeout(() => reader.cancel(), timeoutMs);
  try {
    while (!seen.includes(marker)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`child exited before ${marker}; stdout: ${seen}`);
      seen += value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

async function lines(path: string): Promise<{ fp: string; startsAt: number; endsAt: number }[]> {
  try {
    return (await Deno.readTextFile(path)).trim().split("\n").filter(Boolean).map((l) =>
      JSON.parse(l)
    );
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

Deno.test({
  name:
    "killed with SIGKILL between the KV transition write and delivery: exactly one firing delivery after restart",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const kvPath = `${dir}/rules.kv`, outPath = `${dir}/deliveries.jsonl`;
    try {
      const a = spawn("crash", kvPath, outPath, START);
      await waitFor(a, "PUT_CALLED");
      a.kill("SIGKILL");
      const sa = await a.status;
      assert.equal(sa.signal, "SIGKILL");
      await a.stderr.cancel();
      assert.equal((await lines(outPath)).length, 0, "nothing delivered before the kill");

      const b = spawn("run", kvPath, outPath, START + 60_000);
      const ob = await b.output();
      assert.ok(ob.success, new TextDecoder().decode(ob.stderr));
      const after = await lines(outPath);
      const firing = after.filter((l) => l.endsAt === 0);
      assert.equal(firing.length, 1, JSON.stringify(after));

      // The alert started firing in the killed process: its startsAt is kept.
      const t0 = firing[0]!.startsAt;
      assert.ok(t0 >= START && t0 < START + 60_000, `startsAt ${t0}`);

      // A third start finds it delivered and delivers nothing new.
      const c = spawn("run", kvPath, outPath, START + 5 * 60_000);
      const oc = await c.output();
      assert.ok(oc.success, new TextDecoder().decode(oc.stderr));
      assert.equal((await lines(outPath)).length, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
