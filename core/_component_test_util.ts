/**
 * Test helpers for components: a config from YAML, the basics every factory
 * takes, and a {@linkcode Lifecycle} to start, reload and stop a few
 * components without the rest of Perch.
 *
 * @module
 */
import { type Config, resolveConfig } from "./config/mod.ts";
import { type Basics, type Component, Lifecycle, type ReloadOutcome } from "./lifecycle.ts";
import { Logger } from "./logging/mod.ts";
import { HealthChecks, Registry } from "./selfmon/mod.ts";
import { loadYaml } from "./model/mod.ts";

// The sync parsers these tests call read YAML through the lazily loaded library.
await loadYaml();

/** A resolved config from YAML text; throws on problems. */
export function configOf(yaml: string): Config {
  const r = resolveConfig({ fileText: yaml });
  if (!r.ok) throw new Error(r.errors.join("; "));
  return r.config;
}

/** Basics whose log lines are kept, parsed. */
export function testBasics(): Basics & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger({ sink: (l) => lines.push(JSON.parse(l)) });
  return { logger, registry: new Registry(), health: new HealthChecks(), lines };
}

/** Starts `components` with the config of `yaml`; reload with other YAML; stop. */
export async function startWith(
  b: Basics,
  yaml: string,
  components: readonly Component<Config>[],
): Promise<{
  lifecycle: Lifecycle<Config>;
  reload(yaml: string): Promise<ReloadOutcome>;
  stop(): Promise<boolean>;
}> {
  const lifecycle = new Lifecycle({ log: b.logger, config: configOf(yaml) });
  await lifecycle.startAll(components);
  // As a running Perch does shortly after start-up (core/runtime.ts).
  await lifecycle.runAfterReady();
  return {
    lifecycle,
    reload: (next) =>
      lifecycle.reload(() => {
        const r = resolveConfig({ fileText: next });
        return Promise.resolve(r.ok ? { ok: true, value: r.config } : r);
      }),
    stop: () => lifecycle.stopAll(5000),
  };
}
