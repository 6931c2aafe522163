import assert from "node:assert/strict";
import { resolveConfig } from "./resolve.ts";
import { loadYaml } from "../model/mod.ts";

// The sync parsers these tests call read YAML through the lazily loaded library.
await loadYaml();

function errorsOf(input: Parameters<typeof resolveConfig>[0]): readonly string[] {
  const r = resolveConfig(input);
  assert.equal(r.ok, false, "expected the config to be rejected");
  return r.ok ? [] : r.errors;
}

function configOf(input: Parameters<typeof resolveConfig>[0]) {
  const r = resolveConfig(input);
  if (!r.ok) throw new Error(`unexpected errors: ${r.errors.join("; ")}`);
  return r.config;
}

Deno.test("resolveConfig() with nothing gives the embedded defaults", () => {
  const c = configOf({});
  assert.equal(c.server.listen, "0.0.0.0:8080");
  assert.equal(c.storage.data_dir, "./data");
  assert.equal(c.storage.fsync, "always");
  assert.equal(c.storage.retention, 28 * 86_400_000);
  assert.equal(c.storage.out_of_order_window, Infinity);
  assert.deepEqual(c.storage.downsampling, [
    { after: 86_400_000, resolution: 60_000 },
    { after: 7 * 86_400_000, resolution: 300_000 },
  ]);
  assert.equal(c.log.level, "info");
  assert.equal(c.server.max_body_bytes, 32 * 1024 * 1024);
});

Deno.test("resolveConfig() returns a deeply read-only object", () => {
  const c = configOf({});
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.storage));
  assert.ok(Object.isFrozen(c.storage.downsampling[0]));
  assert.throws(() => {
    (c.storage as { data_dir: string }).data_dir = "x";
  }, TypeError);
});

Deno.test("resolveConfig() reads YAML with durations, sizes and unlimited windows", () => {
  const c = configOf({
    fileText: `
server:
  listen: 127.0.0.1:9000
  max_body_bytes: 1MiB
storage:
  retention: 0
  fsync: interval
  fsync_interval: 500ms
  out_of_order_window: 2h
  max_bytes: 2GB
query:
  timeout: 30  # seconds
`,
  });
  assert.equal(c.server.listen, "127.0.0.1:9000");
  assert.equal(c.server.max_body_bytes, 1024 * 1024);
  assert.equal(c.storage.retention, 0);
  assert.equal(c.storage.fsync, "interval");
  assert.equal(c.storage.fsync_interval, 500);
  assert.equal(c.storage.out_of_order_window, 7_200_000);
  assert.equal(c.storage.max_bytes, 2e9);
  assert.equal(c.query.timeout, 30_000);
});

Deno.test("resolveConfig() reports every problem at once with its path", () => {
  const errors = errorsOf({
    fileText: `
server:
  listen: nowhere
storage:
  retention: -1h
  fsync: sometimes
  typo_field: 1
  downsampling:
    - after: 7d
      resolution: 5m
    - after: 1d
      resolution: 1m
query:
  max_samples: -4
log:
  level: loud
unknown_section: {}
`,
  });
  const text = errors.join("\n");
  assert.match(text, /^server\.listen: must be host:port/m);
  assert.match(text, /^storage\.retention: must be a duration/m);
  assert.match(text, /^storage\.fsync: must be always or interval/m);
  assert.match(text, /^storage: unknown field typo_field/m);
  assert.match(text, /^query\.max_samples: must not be negative/m);
  assert.match(text, /^log\.level: must be one of debug, info, warn, error/m);
  assert.match(text, /^\(top level\): unknown field unknown_section/m);
  assert.ok(errors.length >= 7, text);
});

Deno.test("resolveConfig() checks fields against each other", () => {
  const errors = errorsOf({
    fileText:
      "storage:\n  downsampling:\n    - {after: 7d, resolution: 5m}\n    - {after: 1d, resolution: 1m}\n",
  });
  assert.deepEqual(errors, [
    "storage.downsampling[1].after: tiers must be in ascending order of after",
  ]);
  assert.deepEqual(
    errorsOf({ fileText: "global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\n" }),
    [
      "global.scrape_timeout: must not be greater than global.scrape_interval",
    ],
  );
});

Deno.test("resolveConfig() reports YAML syntax errors with file, line and column", () => {
  const errors = errorsOf({ fileText: "server:\n  listen: [\n", fileName: "perch.yml" });
  assert.match(errors[0]!, /^perch\.yml:\d+:\d+: /);
  assert.deepEqual(errorsOf({ fileText: "- a\n- b\n", fileName: "p.yml" }), [
    "p.yml: must be a mapping of sections",
  ]);
  assert.match(errorsOf({ fileText: "a: 1\na: 2\n" })[0]!, /unique|duplicate/i);
});

Deno.test("resolveConfig() layers defaults < file < env < flags", () => {
  const fileText =
    "server:\n  listen: 127.0.0.1:1000\nstorage:\n  data_dir: /file\n  fsync: always\n";
  const c = configOf({
    fileText,
    env: {
      PERCH_LISTEN: "127.0.0.1:2000",
      PERCH_STORAGE__FSYNC: "interval",
      PERCH_QUERY__MAX_SERIES: "7",
      PERCH_CONFIG: "ignored.yml",
      HOME: "/root",
    },
    flags: { listen: "127.0.0.1:3000", logLevel: "debug" },
  });
  assert.equal(c.server.listen, "127.0.0.1:3000");
  assert.equal(c.storage.data_dir, "/file");
  assert.equal(c.storage.fsync, "interval");
  assert.equal(c.query.max_series, 7);
  assert.equal(c.log.level, "debug");
});

Deno.test("resolveConfig() names env overrides that are invalid", () => {
  const errors = errorsOf({ env: { PERCH_STORAGE__RETENTION: "forever" } });
  assert.deepEqual(errors, [
    "storage.retention: must be a duration such as 30s, 5m, 1h30m (0 turns it off)",
  ]);
});

Deno.test("resolveConfig() ignores PERCH_ variables that name no section, with a warning", () => {
  const r = resolveConfig({
    env: { PERCH_DIR: "/opt/perch", PERCH_HOME: "/home/perch", PERCH_STORAGE__FSYNC: "interval" },
  });
  if (!r.ok) throw new Error(`unexpected errors: ${r.errors.join("; ")}`);
  assert.equal(r.config.storage.fsync, "interval");
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[0]!, /PERCH_DIR is not a Perch setting and was ignored/);
  assert.match(r.warnings[1]!, /PERCH_HOME is not a Perch setting/);
  // A mistyped key in a known section is still an error.
  assert.deepEqual(errorsOf({ env: { PERCH_STORAGE__FSYNK: "interval" } }), [
    "storage: unknown field fsynk",
  ]);
});

Deno.test("resolveConfig() notification delivery: defaults and a named error", () => {
  const c = configOf({});
  assert.deepEqual(c.notifications, {
    min_backoff: 1000,
    max_backoff: 60_000,
    max_age: 86_400_000,
  });
  const errors = errorsOf({ fileText: "notifications:\n  min_backoff: 2m\n  max_backoff: 1m\n" });
  assert.ok(
    errors.some((e) => e.includes("notifications.min_backoff") && e.includes("max_backoff")),
    errors.join("\n"),
  );
  assert.ok(
    errorsOf({ fileText: "notifications:\n  max_age: soon\n" }).some((e) =>
      e.includes("notifications.max_age")
    ),
  );
});
