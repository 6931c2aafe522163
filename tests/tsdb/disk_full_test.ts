/**
 * A full disk, for real: the data dir is a small tmpfs this test mounts (it
 * needs root, as CI has). Pushes until the disk is full answer only 204 or
 * 507 with the reason, health says why, writes are accepted again as soon as
 * a filler file is deleted (no restart), and after a SIGKILL every
 * acknowledged sample is still served.
 */
import assert from "node:assert/strict";
import { type PerchProcess, spawnPerch } from "../_perch.ts";

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (the test needs root to mount a tmpfs): ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

const T = Math.floor(Date.now() / 1000) * 1000 - 3_000_000;

/** One batch: 200 new series (long labels fill KV and WAL fast), one sample each. */
function batch(i: number, series = 200): string {
  const lines = [];
  for (let s = 0; s < series; s++) {
    lines.push(`full_metric{s="${s}",pad="${"x".repeat(40)}${i}"} ${i} ${T + i * 1000}`);
  }
  return lines.join("\n");
}

async function push(p: PerchProcess, body: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${p.url}/api/v1/import/prometheus`, { method: "POST", body });
  return { status: r.status, text: await r.text() };
}

async function served(p: PerchProcess): Promise<number> {
  const q = new URLSearchParams({
    "match[]": "full_metric",
    start: String(T / 1000 - 60),
    end: String(T / 1000 + 3600),
  });
  const r = await fetch(`${p.url}/api/v1/export?${q}`);
  let n = 0;
  for (const line of (await r.text()).split("\n")) if (line) n += JSON.parse(line).values.length;
  return n;
}

Deno.test({
  name: "A full disk answers only 507 with the reason and recovers without a restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "perch-full-" });
    await run("mount", ["-t", "tmpfs", "-o", "size=1500k", "tmpfs", dir]);
    let p: PerchProcess | undefined;
    try {
      await Deno.writeFile(`${dir}/filler`, new Uint8Array(400_000));
      p = await spawnPerch({ dataDir: dir });
      const codes = new Map<number, number>();
      let acknowledged = 0, i = 0, refusedInARow = 0;
      for (; i < 600 && refusedInARow < 20; i++) {
        const r = await push(p, batch(i));
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
        assert.ok(r.status === 204 || r.status === 507, `batch ${i}: ${r.status} ${r.text}`);
        if (r.status === 204) {
          acknowledged += 200;
          refusedInARow = 0;
        } else {
          assert.match(r.text, /disk is full/);
          refusedInARow++;
        }
      }
      assert.ok((codes.get(507) ?? 0) >= 20, `the disk filled up: ${JSON.stringify([...codes])}`);
      const h = await (await fetch(`${p.url}/health`)).json();
      assert.equal(h.checks.storage.status, "degraded");
      assert.match(h.checks.storage.message, /disk is full/);

      // A restart while the disk is still full: Perch starts, serves, and refuses writes with 507.
      await p.stop("SIGKILL");
      p = await spawnPerch({ dataDir: dir });
      assert.equal(await served(p), acknowledged);
      // A whole batch: a few small series could still fit in the slack of the WAL
      // segment's last page, which the restarted Perch appends to.
      const full = await push(p, batch(i++));
      assert.equal(full.status, 507, full.text);

      // Space is freed: the very next writes are accepted, no restart.
      await Deno.remove(`${dir}/filler`);
      for (let j = 0; j < 5; j++, i++) {
        const r = await push(p, batch(i, 20));
        assert.equal(r.status, 204, `after freeing space: ${r.text}`);
        acknowledged += 20;
      }
      const h2 = await (await fetch(`${p.url}/health`)).json();
      assert.equal(h2.checks.storage.status, "healthy", h2.checks.storage.message);
      assert.equal(await served(p), acknowledged);

      // Nothing acknowledged was harmed, across a SIGKILL too.
      await p.stop("SIGKILL");
      p = await spawnPerch({ dataDir: dir });
      assert.equal(await served(p), acknowledged);
      console.log(
        `disk full: ${
          JSON.stringify(Object.fromEntries(codes))
        }, ${acknowledged} samples acknowledged and served`,
      );
    } finally {
      await p?.stop("SIGKILL");
      await run("umount", [dir]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
