/**
 * Self-metrics of remote write (`perch_remote_write_*`), per endpoint with
 * the labels `remote_name` and `url`.
 *
 * @module
 */
import type { Registry } from "../selfmon/mod.ts";
import type { EndpointStats } from "./endpoint.ts";

/** Registers the remote write metrics, read from `stats()` at each collection. */
export function registerRemoteWriteMetrics(
  registry: Registry,
  stats: () => readonly EndpointStats[],
): void {
  const each = (read: (s: EndpointStats) => number) => () =>
    stats().map((s) => ({ labels: { remote_name: s.name, url: s.url }, value: read(s) }));
  registry.collected("counter", {
    name: "perch_remote_write_samples_sent_total",
    help: "Samples sent to a remote write endpoint and acknowledged with 2xx.",
  }, each((s) => s.samplesSent));
  registry.collected("counter", {
    name: "perch_remote_write_samples_failed_total",
    help: "Samples in batches the endpoint refused with a 4xx other than 429 (not retried).",
  }, each((s) => s.samplesFailed));
  registry.collected("counter", {
    name: "perch_remote_write_samples_retried_total",
    help: "Samples in attempts that failed with 5xx, 429 or a network error and were retried.",
  }, each((s) => s.samplesRetried));
  registry.collected("counter", {
    name: "perch_remote_write_samples_dropped_total",
    help: "Samples not sent: relabel drops, lag budget skips, late log write errors.",
  }, () =>
    stats().flatMap((s) =>
      Object.entries(s.samplesDropped).map(([reason, value]) => ({
        labels: { remote_name: s.name, url: s.url, reason },
        value,
      }))
    ));
  registry.collected("counter", {
    name: "perch_remote_write_late_samples_total",
    help:
      "Samples sent because data landed behind the endpoint's cursor (late log, ranges re-read).",
  }, each((s) => s.lateSamples));
  registry.collected("gauge", {
    name: "perch_remote_write_lag_seconds",
    help: "How far the endpoint's cursor is behind now.",
  }, each((s) => s.lagSeconds));
  registry.collected("gauge", {
    name: "perch_remote_write_pending_samples",
    help: "Samples stored but not yet acknowledged by the endpoint (an estimate, never below).",
  }, each((s) => s.pendingSamples));
  registry.collected("gauge", {
    name: "perch_remote_write_queue_bytes",
    help: "Bytes waiting for the endpoint: the late log plus requests in flight.",
  }, each((s) => s.queueBytes));
}
