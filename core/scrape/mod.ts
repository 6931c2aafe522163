/**
 * Scraping: `scrape_configs` validation, relabeling, target discovery
 * (static and file_sd), per-target scrape loops writing through the shared
 * ingest pipeline, run-time targets persisted in Deno KV, self-scrape and
 * other in-process jobs (the host collector).
 *
 * @module
 */
export {
  type ApiTarget,
  type ApiTargetProblem,
  type ApiTargetSpec,
  parseApiTargetInput,
} from "./api_targets.ts";
export { type Clock, realClock, type TimerId } from "./clock.ts";
export {
  checkTargetAddress,
  DEFAULT_BODY_SIZE_LIMIT,
  type FileSdConfig,
  parseScrapeConfigs,
  type ParseScrapeOptions,
  type ParseScrapeResult,
  type ScrapeAuth,
  type ScrapeConfig,
  type ScrapeGlobals,
  type StaticConfig,
} from "./config.ts";
export { FileSd, type FileSdOptions, parseSdFile } from "./file_sd.ts";
export {
  type ActiveTargetInfo,
  ApiTargetConflictError,
  ApiTargetInputError,
  createScrapeManager,
  type DroppedTargetInfo,
  type InProcessJob,
  type ScrapeManager,
  type ScrapeManagerOptions,
  SELF_JOB,
  type SelfScrapeSettings,
  type TargetsSnapshot,
} from "./manager.ts";
export { registerScrapeMetrics, type ScrapeMetrics } from "./metrics.ts";
export {
  compileRelabelRule,
  relabel,
  RELABEL_ACTIONS,
  type RelabelAction,
  type RelabelRule,
  type RelabelRuleInput,
} from "./relabel.ts";
export {
  type AppendRows,
  type FetchFn,
  SCRAPE_ACCEPT,
  ScrapeLoop,
  type ScrapeLoopOptions,
  type TargetHealth,
} from "./scrape_loop.ts";
export {
  populateGroups,
  type PopulateResult,
  populateTarget,
  scrapeOffset,
  type Target,
  type TargetGroup,
} from "./targets.ts";
export {
  type ScrapeComponent,
  scrapeComponent,
  type ScrapeComponentDeps,
  type ScrapeSection,
} from "./component.ts";
