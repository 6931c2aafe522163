import assert from "node:assert/strict";
import { silentLogger } from "../logging/mod.ts";
import { realClock } from "./clock.ts";
import { FileSd, globToRegExp, parseSdFile } from "./file_sd.ts";
import type { TargetGroup } from "./targets.ts";
import { FakeClock } from "./_test_util.ts";
import { loadYaml } from "../model/mod.ts";

// The sync parsers these tests call read YAML through the lazily loaded library.
await loadYaml();

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function addresses(groups: TargetGroup[]): string[] {
  return groups.flatMap((g) => g.targets).sort();
}

Deno.test("parseSdFile() reads JSON and YAML groups and names problems", () => {
  const j = parseSdFile('[{"targets":["a:1","b:2"],"labels":{"env":"prod"}}]', "/x/t.json");
  assert.ok("groups" in j);
  assert.deepEqual(j.groups[0]!.targets, ["a:1", "b:2"]);
  assert.deepEqual(j.groups[0]!.labels, { env: "prod", __meta_filepath: "/x/t.json" });
  const y = parseSdFile("- targets: [c:3]\n  labels: {zone: eu}\n", "/x/t.yml");
  assert.ok("groups" in y);
  assert.deepEqual(y.groups[0]!.targets, ["c:3"]);
  const bad = [
    ["{", "/x/t.json", /cannot parse/],
    ['{"targets":[]}', "/x/t.json", /must be a list of target groups/],
    ['[{"targets":[1]}]', "/x/t.json", /\[0\]\.targets: must be a list of strings/],
    ['[{"targets":[],"labels":{"a-b":"x"}}]', "/x/t.json", /invalid label name/],
    ['[{"targets":[],"extra":1}]', "/x/t.json", /unknown field extra/],
  ] as const;
  for (const [text, path, re] of bad) {
    const r = parseSdFile(text, path);
    assert.ok("error" in r, text);
    assert.match(r.error, re);
  }
});

Deno.test("globToRegExp() matches file names like a shell", () => {
  assert.ok(globToRegExp("*.json").test("a.json"));
  assert.ok(!globToRegExp("*.json").test("a.yml"));
  assert.ok(globToRegExp("t?.y[am]l").test("t1.yml"));
  assert.ok(!globToRegExp("[!a]*.json").test("a.json"));
  assert.ok(globToRegExp("a+b.json").test("a+b.json"));
});

Deno.test("FileSd sees targets appear, change and go as files change", async () => {
  const dir = await Deno.makeTempDir();
  const updates: TargetGroup[][] = [];
  const sd = new FileSd({
    config: { files: [`${dir}/*.json`, `${dir}/*.yml`], refreshInterval: 3_600_000 },
    clock: realClock,
    logger: silentLogger(),
    onUpdate: (g) => updates.push(g),
  });
  try {
    await sd.start();
    assert.deepEqual(addresses(sd.groups()), []);
    await Deno.writeTextFile(`${dir}/a.json`, JSON.stringify([{ targets: ["h1:9100"] }]));
    await waitFor(() => addresses(sd.groups()).includes("h1:9100"));
    await Deno.writeTextFile(`${dir}/b.yml`, "- targets: ['h2:9100']\n");
    await waitFor(() => addresses(sd.groups()).length === 2);
    await Deno.writeTextFile(`${dir}/a.json`, JSON.stringify([{ targets: ["h3:9100"] }]));
    await waitFor(() => addresses(sd.groups()).join() === "h2:9100,h3:9100");
    // A broken file keeps its last good targets.
    await Deno.writeTextFile(`${dir}/a.json`, "[{");
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(addresses(sd.groups()), ["h2:9100", "h3:9100"]);
    await Deno.remove(`${dir}/b.yml`);
    await waitFor(() => addresses(sd.groups()).join() === "h3:9100");
    assert.ok(updates.length >= 4);
  } finally {
    await sd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileSd re-reads on refresh_interval without a watcher", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new FakeClock();
  const sd = new FileSd({
    config: { files: [`${dir}/t.json`], refreshInterval: 60_000 },
    clock,
    logger: silentLogger(),
    onUpdate: () => {},
    watch: false,
  });
  try {
    await Deno.writeTextFile(`${dir}/t.json`, JSON.stringify([{ targets: ["a:1"] }]));
    await sd.start();
    assert.deepEqual(addresses(sd.groups()), ["a:1"]);
    await Deno.writeTextFile(`${dir}/t.json`, JSON.stringify([{ targets: ["b:1"] }]));
    await clock.advance(30_000);
    assert.deepEqual(addresses(sd.groups()), ["a:1"], "not before the interval");
    await clock.advance(30_000);
    assert.deepEqual(addresses(sd.groups()), ["b:1"]);
  } finally {
    await sd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
