/**
 * A full disk, for real: the data dir is a small tmpfs this test mounts (it
 * needs root, as CI has). Pushes until the disk is full answer only 204 or
 * 507 with the reason, health says why, writes are accepted again as soon as
 * a filler file is deleted (no restart), and after a SIGKILL every
 * acknowledged sample is still served.
 */
import assert from "node:assert/strict";
import { newMatcher, SampleBatch, toLabels } from "../../core/model/mod.ts";
import { openDB } from "../../core/tsdb/mod.ts";
import { counterHistogram } from "../../core/tsdb/_histogram_test_util.ts";
import { type PerchProcess, spawnPerch } from "../_perch.ts";

const ALL = { minT: -Infinity, maxT: Infinity };

/** Writes `path` until the disk is full. */
async function fill(path: string): Promise<void> {
  const f = await Deno.open(path, { create: true, write: true });
  try {
    for (;;) await f.write(new Uint8Array(4096));
  } catch {
    /* full */
  } finally {
    f.close();
  }
}

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

Deno.test({
  name:
    "On a full disk a damaged histogram file is set aside whole, and index.kv is never taken for damaged",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "perch-full-hist-" });
    await run("mount", ["-t", "tmpfs", "-o", "size=1500k", "tmpfs", dir]);
    let kv: Deno.Kv | undefined;
    try {
      const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 7_200_000);
      const opts = {
        dir,
        now: () => T0 + 100 * 3_600_000,
        backgroundIntervalMs: 0,
        useWorker: false,
        downsampling: [],
      };
      let db = await openDB(opts);
      const b = new SampleBatch();
      const refs = ["a", "b", "c"].map((job) => b.addSeries(toLabels("lat", { job }), job));
      for (let i = 0; i < 100; i++) {
        for (const ref of refs) b.addHistogram(ref, T0 + i * 60_000, counterHistogram(i + ref));
      }
      await db.append(b);
      await db.flush();
      await db.close();
      const [file] = [...Deno.readDirSync(`${dir}/hist`)].map((e) => e.name);
      const bytes = await Deno.readFile(`${dir}/hist/${file}`);
      bytes[bytes.length >> 1]! ^= 0xff; // one series' chunk: the other two could be salvaged
      await Deno.writeFile(`${dir}/hist/${file}`, bytes);
      // Then the disk fills up: no room for the salvage's copy or rewrite.
      // index.kv is opened before the disk fills up (SQLite cannot open it on a disk
      // without a free byte; that start-up refuses with the reason instead).
      kv = await Deno.openKv(`${dir}/index.kv`);
      await fill(`${dir}/filler`);
      db = await openDB({ ...opts, kv });
      assert.deepEqual(await db.select([newMatcher("=", "__name__", "lat")], ALL), []);
      assert.ok(Deno.statSync(`${dir}/quarantine/hist/${file}`).isFile);
      const inc = db.incidents.list().find((i) => i.file === `hist/${file}`);
      assert.equal(inc?.kind, "block_quarantined");
      await db.close();
      kv.close();
      kv = undefined;
      // Without its SQLite side files, index.kv cannot even be opened on the full
      // disk: a refusal with the reason, not damage to set aside.
      for (const f of ["index.kv-wal", "index.kv-shm"]) {
        await Deno.remove(`${dir}/${f}`).catch(() => {});
      }
      await fill(`${dir}/filler2`);
      await assert.rejects(openDB(opts), /disk is full/);
      assert.ok(Deno.statSync(`${dir}/index.kv`).isFile);
      assert.deepEqual([...Deno.readDirSync(`${dir}/quarantine`)].map((e) => e.name), ["hist"]);
    } finally {
      kv?.close();
      // A failed open may leave a handle behind until the process ends: detach lazily.
      await run("umount", ["-l", dir]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
