/**
 * The rules component: the shipped rule files and `rule_files`, evaluated
 * through the query engine, alerts handed to the notifier.
 *
 * @module
 */
import { type Config, resolvePath } from "../config/mod.ts";
import { HOST_RULE_FILE } from "../hostmetrics/mod.ts";
import { type Basics, type Component, LoadOnce, started } from "../lifecycle.ts";
import type { AlertSink, Appender } from "../model/mod.ts";
import { BUILTIN_RULE_FILES } from "./_builtin_files.ts";
import {
  createRuleManager,
  type EngineLike,
  engineQueryFunc,
  type RuleManager,
} from "./manager.ts";

/** The rules component's section. */
export interface RulesSection {
  /** Rule file patterns: the shipped ones, then the config's, relative to the config file. */
  readonly files: readonly string[];
  readonly evaluationIntervalMs: number;
  readonly externalURL: string;
  readonly externalLabels: Readonly<Record<string, string>>;
}

/** What the rules component offers: its manager, for the rules API. */
export interface RulesComponent extends Component<Config, RulesSection> {
  readonly manager: RuleManager;
  /**
   * Resolves once rule files and alert state are loaded. They load after
   * start-up (`afterReady`), or at once when something asks here first.
   */
  loaded(): Promise<void>;
}

/** The rule file patterns of `c`: shipped ones first, then `rule_files` relative to `configDir`. */
export function ruleFilePatterns(c: Config, configDir: string): string[] {
  const own = c.rule_files.map((f) => resolvePath(configDir, f));
  const builtin = Object.keys(BUILTIN_RULE_FILES).filter((f) =>
    f === HOST_RULE_FILE ? c.host_metrics.alerts : c.self_monitoring_rules
  );
  return [...builtin, ...own];
}

function readRuleFile(path: string): Promise<string> {
  const builtin = BUILTIN_RULE_FILES[path];
  return builtin !== undefined ? Promise.resolve(builtin) : Deno.readTextFile(path);
}

/**
 * Rules: health `rules` (degraded while rule files have errors), metrics
 * `perch_rule_*`. Rule files with errors do not reject a config: the
 * previous rules stay loaded.
 */
export function rulesComponent(
  deps: Basics & {
    /** state.kv (after it started). */
    readonly kv: () => Deno.Kv;
    readonly engine: () => EngineLike;
    readonly appender: () => Appender;
    readonly sink: () => AlertSink;
    readonly configDir: string;
  },
): RulesComponent {
  const log = deps.logger.child("main");
  let manager: RuleManager | undefined;
  let ok = true;
  deps.health.register(
    "rules",
    () =>
      ok
        ? { status: "healthy" }
        : { status: "degraded", message: "rule files have errors (see the log and /api/v1/rules)" },
  );
  const running = () => started("rules", manager);
  const loading = new LoadOnce(async () => {
    const r = await running().start();
    ok = r.ok;
    if (!r.ok) {
      log.error("rule files have errors; their rules are not loaded", { errors: r.errors });
    }
  });
  return {
    name: "rules",
    restartOnly: ["global.evaluation_interval", "server.external_url"],
    section: (c) => ({
      ok: true,
      value: {
        files: ruleFilePatterns(c, deps.configDir),
        evaluationIntervalMs: c.global.evaluation_interval,
        externalURL: c.server.external_url,
        externalLabels: c.global.external_labels,
      },
    }),
    start(s) {
      manager = createRuleManager({
        kv: deps.kv(),
        query: engineQueryFunc({ instantQuery: (expr, t) => deps.engine().instantQuery(expr, t) }),
        appender: deps.appender(),
        sink: deps.sink(),
        logger: deps.logger,
        registry: deps.registry,
        ruleFiles: s.files,
        readFile: readRuleFile,
        evaluationIntervalMs: s.evaluationIntervalMs,
        externalURL: s.externalURL,
        externalLabels: s.externalLabels,
      });
      return Promise.resolve();
    },
    // Parsing rule files and restoring alert state is most of this
    // component's start-up: it waits until Perch answers.
    afterReady: () => loading.run(),
    loaded: () => loading.run(),
    async apply(s) {
      await loading.run();
      const r = await running().reload(s.files);
      ok = r.ok;
      if (!r.ok) log.error("rule files rejected; keeping the previous rules", { errors: r.errors });
    },
    async stop() {
      await loading.settled();
      await manager?.stop();
    },
    get manager() {
      return running();
    },
  };
}
