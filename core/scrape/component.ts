/**
 * The scrape component: `scrape_configs`, the self-scrape and in-process
 * jobs (host metrics), all appending through the ingest pipeline.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { type Basics, type Component, started } from "../lifecycle.ts";
import type { PublicAddress } from "../net/mod.ts";
import { parseScrapeConfigs, type ScrapeConfig, type ScrapeGlobals } from "./config.ts";
import {
  createScrapeManager,
  type InProcessJob,
  type ScrapeManager,
  type SelfScrapeSettings,
} from "./manager.ts";
import type { AppendRows } from "./scrape_loop.ts";

/** The scrape component's section. */
export interface ScrapeSection {
  readonly configs: readonly ScrapeConfig[];
  readonly selfScrape: SelfScrapeSettings;
  readonly global: ScrapeGlobals;
  readonly inProcessJobs: readonly InProcessJob[];
}

/** What the scrape component offers: its manager, for the targets API. */
export interface ScrapeComponent extends Component<Config, ScrapeSection> {
  readonly manager: ScrapeManager;
}

/** Options of {@linkcode scrapeComponent}. */
export interface ScrapeComponentDeps extends Pick<Basics, "logger" | "registry"> {
  /** Appends scraped rows (the ingest pipeline). */
  readonly appendRows: AppendRows;
  /** Where run-time targets persist (state.kv, after it started). */
  readonly kv: () => Deno.Kv;
  /** Perch's own exposition text, for the `perch` job. */
  readonly selfMetrics: () => string | Promise<string>;
  /** The self target is named after it; with port 0, self-scrape starts once HTTP listens. */
  readonly address: PublicAddress;
  /** Directory relative `file_sd_configs` paths are resolved against. */
  readonly configDir: string;
  /** In-process jobs besides the self-scrape (host metrics). */
  readonly inProcessJobs: (c: Config) => readonly InProcessJob[];
}

/** Scrape: metrics `perch_scrape_*`; reload keeps unchanged jobs and targets running. */
export function scrapeComponent(deps: ScrapeComponentDeps): ScrapeComponent {
  let manager: ScrapeManager | undefined;
  let current: ScrapeSection | undefined;
  const running = () => started("scrape", manager);
  return {
    name: "scrape",
    section(c) {
      const r = parseScrapeConfigs(c.scrape_configs, c.global, { baseDir: deps.configDir });
      if (!r.ok) return r;
      return {
        ok: true,
        value: {
          configs: r.configs,
          selfScrape: c.self_scrape,
          global: c.global,
          inProcessJobs: deps.inProcessJobs(c),
        },
      };
    },
    async start(s) {
      current = s;
      const address = deps.address;
      manager = createScrapeManager({
        configs: s.configs,
        appendRows: deps.appendRows,
        kv: deps.kv(),
        logger: deps.logger,
        registry: deps.registry,
        selfMetrics: deps.selfMetrics,
        selfScrape: address.portKnown ? s.selfScrape : { ...s.selfScrape, enabled: false },
        selfAddress: address.selfAddress(),
        global: s.global,
        inProcessJobs: s.inProcessJobs,
      });
      // With port 0 the self target's name is known once HTTP listens.
      address.onBound(() => {
        const c = current!;
        return running().reload(c.configs, {
          selfScrape: c.selfScrape,
          global: c.global,
          selfAddress: address.selfAddress(),
        });
      });
      await manager.start();
    },
    async apply(s) {
      current = s;
      await running().reload(s.configs, {
        selfScrape: s.selfScrape,
        global: s.global,
        selfAddress: deps.address.selfAddress(),
        inProcessJobs: s.inProcessJobs,
      });
    },
    stop: () => manager?.stop() ?? Promise.resolve(),
    get manager() {
      return running();
    },
  };
}
