/**
 * rules/host.yml against what the host collector really writes: a Raspberry
 * Pi whose SoC runs hot, whose SD card is nearly full, whose memory is short
 * and whose clock never synchronised fires exactly the host alerts, and the
 * same Pi in good shape fires none.
 */
import assert from "node:assert/strict";
import { HostCollector, type StatFs, type TimexReading } from "../../core/hostmetrics/mod.ts";
import { parsePrometheusText } from "../../core/ingest/prometheus_text.ts";
import { toLabels } from "../../core/model/labels.ts";
import { harness } from "../../core/rules/_harness.ts";

const RULES = new URL("../../rules/host.yml", import.meta.url).pathname;
const PI = new URL("../../core/hostmetrics/testdata/rpi/", import.meta.url).pathname;
const M = 60_000;

/** A copy of the Pi fixture with some files rewritten. */
async function piRoot(overrides: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "perch-host-rules-" });
  const cp = await new Deno.Command("cp", { args: ["-a", `${PI}.`, root] }).output();
  assert.ok(cp.success);
  for (const [path, text] of Object.entries(overrides)) {
    await Deno.writeTextFile(`${root}/${path}`, text);
  }
  return root;
}

function timex(synced: boolean): TimexReading {
  return {
    state: synced ? 0 : 5,
    offset: 0,
    freq: 0,
    maxerror: synced ? 20_000 : 16_000_000,
    esterror: 0,
    status: synced ? 0x2001 : 0x40,
    constant: 7,
    tick: 10_000,
    ppsfreq: 0,
    jitter: 0,
    shift: 0,
    stabil: 0,
    jitcnt: 0,
    calcnt: 0,
    errcnt: 0,
    stbcnt: 0,
    tai: 0,
  };
}

async function firingAfter(
  collector: HostCollector,
  minutes: number,
): Promise<string[]> {
  const h = await harness({
    files: { "host.yml": await Deno.readTextFile(RULES) },
    clockStart: Date.UTC(2026, 0, 1),
  });
  try {
    const r = await h.manager.start();
    assert.deepEqual(r.errors, []);
    for (let i = 0; i < minutes * 2; i++) {
      // One host pass every 30 s, stored as the scrape of job node would.
      const rows = parsePrometheusText(await collector.collect(), { now: h.clock.now() });
      assert.deepEqual(rows.errors, []);
      for (let s = 0; s < rows.sampleCount; s++) {
        const j = rows.sampleSeries[s]!;
        const flat = rows.seriesLabels[j]!;
        const labels: Record<string, string> = { job: "node", instance: "pi" };
        for (let k = 0; k < flat.length; k += 2) labels[flat[k]!] = flat[k + 1]!;
        h.mem.add(toLabels(rows.seriesName[j]!, labels), h.clock.now(), rows.sampleV[s]!);
      }
      await h.clock.advance(M / 2);
    }
    return [
      ...new Set(
        h.manager.alerts().filter((a) => a.state === "firing").map((a) => {
          const name = a.labels.alertname!;
          return a.labels.mountpoint ? `${name} ${a.labels.mountpoint}` : name;
        }),
      ),
    ].sort();
  } finally {
    await h.close();
  }
}

const HEALTHY_ROOT: StatFs = {
  bsize: 4096,
  blocks: 7_500_000,
  bfree: 5_000_000,
  bavail: 4_600_000,
  files: 1_900_000,
  ffree: 1_800_000,
};

Deno.test("host alerts fire for a hot, full, short-of-memory, unsynchronised Pi", async () => {
  const root = await piRoot({
    "sys/devices/virtual/thermal/thermal_zone0/temp": "83500\n",
    "proc/meminfo": "MemTotal: 3882716 kB\nMemFree: 100000 kB\nMemAvailable: 200000 kB\n",
  });
  try {
    const collector = new HostCollector({
      root,
      timex: () => timex(false),
      statfs: (p) => {
        const full = { ...HEALTHY_ROOT, bfree: 150_000, bavail: 100_000 }; // 1.3% left
        return Promise.resolve(p.endsWith("/boot/firmware") ? HEALTHY_ROOT : full);
      },
    });
    assert.deepEqual(await firingAfter(collector, 12), [
      "HostClockNotSynchronised",
      "HostDiskAlmostFull /",
      "HostDiskFull /",
      "HostMemoryLow",
      "HostSocTooHot",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("host alerts stay quiet for a healthy Pi", async () => {
  const collector = new HostCollector({
    root: PI,
    timex: () => timex(true),
    statfs: () => Promise.resolve(HEALTHY_ROOT),
  });
  assert.deepEqual(await firingAfter(collector, 12), []);
});
