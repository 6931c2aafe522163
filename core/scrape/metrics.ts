/**
 * Perch's own scrape metrics (`perch_scrape_*`).
 *
 * @module
 */
import type { Counter, Histogram, Registry } from "../selfmon/mod.ts";

/** Counters and histograms every scrape loop updates. */
export interface ScrapeMetrics {
  /** Scrapes by job and result (`success` | `failure`). */
  readonly attempts: Counter;
  /** Scrape duration by job, seconds. */
  readonly duration: Histogram;
  /** Samples read from targets by job (before metric relabeling). */
  readonly samples: Counter;
}

/** Registers the scrape metrics in `registry`. */
export function registerScrapeMetrics(registry: Registry): ScrapeMetrics {
  return {
    attempts: registry.counter({
      name: "perch_scrape_attempts_total",
      help: "Scrapes by job and result (success or failure).",
      labelNames: ["job", "result"],
    }),
    duration: registry.histogram({
      name: "perch_scrape_duration_seconds",
      help: "Time taken by scrapes, by job.",
      labelNames: ["job"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    samples: registry.counter({
      name: "perch_scrape_samples_scraped_total",
      help: "Samples read from scrape targets, before metric relabeling, by job.",
      labelNames: ["job"],
    }),
  };
}
