/** SIGKILL mid-retry: a new process resumes and delivers exactly once. */
import assert from "node:assert/strict";
import { waitFor } from "./_smtp_sink.ts";

function spawnChild(kvPath: string, url: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      new URL("./_child.ts", import.meta.url).pathname,
      kvPath,
      url,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

Deno.test("Perch killed with SIGKILL mid-retry delivers after restart, exactly once", async () => {
  let failing = true;
  const accepted: { key: string | null; body: { groupLabels: Record<string, string> } }[] = [];
  const keys: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    keys.push(req.headers.get("Idempotency-Key"));
    if (failing) return new Response("down", { status: 503 });
    accepted.push({ key: req.headers.get("Idempotency-Key"), body });
    return new Response("ok");
  });
  const dir = await Deno.makeTempDir({ prefix: "perch-crash-" });
  const url = `http://127.0.0.1:${server.addr.port}/hook`;
  try {
    const first = spawnChild(`${dir}/notify.kv`, url);
    await waitFor(() => keys.length >= 2, 20_000, "two failed attempts");
    first.kill("SIGKILL");
    const st = await first.status;
    assert.equal(st.signal, "SIGKILL");
    const triedBefore = keys.length;
    failing = false;

    const second = spawnChild(`${dir}/notify.kv`, url);
    try {
      await waitFor(() => accepted.length >= 1, 20_000, "delivery after restart");
      // Give a duplicate every chance to show up.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      second.kill("SIGKILL");
      await second.status;
    }
    assert.equal(accepted.length, 1, "exactly one delivery");
    assert.equal(accepted[0]!.body.groupLabels.alertname, "Crash");
    assert.ok(triedBefore >= 2);
    assert.equal(new Set(keys).size, 1, "one idempotency key across retries and the restart");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
