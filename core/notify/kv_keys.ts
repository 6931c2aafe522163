/**
 * Every Deno KV key notify uses, in one place (see README.md for the layout).
 *
 * @module
 */

const ROOT = "notify";

/** Key builders for notify's KV state. */
export const KEYS = {
  silencePrefix: [ROOT, "silence"] as const,
  silence: (id: string): Deno.KvKey => [ROOT, "silence", id],
  /** Pending and failed jobs by id. */
  jobPrefix: [ROOT, "job"] as const,
  job: (id: string): Deno.KvKey => [ROOT, "job", id],
  /** Marker that a job id was enqueued once (dedupe across restarts). */
  seen: (id: string): Deno.KvKey => [ROOT, "seen", id],
  /** Delivery log, ordered by time. */
  logPrefix: [ROOT, "log"] as const,
  log: (time: number, id: string): Deno.KvKey => [ROOT, "log", time, id],
  /** What was last sent per group, receiver and channel. */
  nflogPrefix: [ROOT, "nflog"] as const,
  nflog: (groupKey: string, receiver: string, channel: number): Deno.KvKey => [
    ROOT,
    "nflog",
    groupKey,
    receiver,
    channel,
  ],
} as const;
