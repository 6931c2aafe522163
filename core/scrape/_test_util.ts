/**
 * Test helpers: a local exposition server, a recording appender and a fake
 * clock.
 *
 * @module
 */
import type { ParsedRows } from "../ingest/mod.ts";
import { isStaleNaN } from "../model/mod.ts";
import { parseScrapeConfigs, type ScrapeConfig } from "./config.ts";
import type { AppendRows } from "./scrape_loop.ts";
import { populateTarget, type Target } from "./targets.ts";

/** One appended sample, flattened for assertions. */
export interface Written {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly t: number;
  readonly v: number;
  readonly stale: boolean;
}

/** An AppendRows that records every sample; `batches` holds one array per call. */
export function recordingAppender(): { append: AppendRows; batches: Written[][] } {
  const batches: Written[][] = [];
  const append: AppendRows = (rows: ParsedRows) => {
    const out: Written[] = [];
    for (let i = 0; i < rows.sampleCount; i++) {
      const j = rows.sampleSeries[i]!;
      const pairs = rows.seriesLabels[j]!;
      const labels: Record<string, string> = {};
      for (let k = 0; k < pairs.length; k += 2) labels[pairs[k]!] = pairs[k + 1]!;
      const v = rows.sampleV[i]!;
      out.push({ name: rows.seriesName[j]!, labels, t: rows.sampleT[i]!, v, stale: isStaleNaN(v) });
    }
    batches.push(out);
    return Promise.resolve({ accepted: out.length, rejected: 0 });
  };
  return { append, batches };
}

/** What the test server answers; change fields between scrapes. */
export interface ServerState {
  body: string;
  status: number;
  contentType: string;
  delayMs: number;
  gzip: boolean;
  lastHeaders?: Headers;
  requests: number;
}

/** A local HTTP server on port 0 serving `state.body` at any path. */
export function exposition(initial: Partial<ServerState> = {}): {
  state: ServerState;
  address: string;
  close(): Promise<void>;
} {
  const state: ServerState = {
    body: "",
    status: 200,
    contentType: "text/plain; version=0.0.4",
    delayMs: 0,
    gzip: false,
    requests: 0,
    ...initial,
  };
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
    async (req) => {
      state.requests++;
      state.lastHeaders = req.headers;
      if (state.delayMs > 0) {
        await new Promise((r) => setTimeout(r, state.delayMs));
      }
      const headers = new Headers({ "content-type": state.contentType });
      if (state.gzip) {
        headers.set("content-encoding", "gzip");
        const gz = new Blob([state.body]).stream().pipeThrough(new CompressionStream("gzip"));
        return new Response(gz, { status: state.status, headers });
      }
      return new Response(state.body, { status: state.status, headers });
    },
  );
  return {
    state,
    address: `127.0.0.1:${server.addr.port}`,
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}

/** Parses one scrape config (throws on errors) with test globals. */
export function config(raw: Record<string, unknown>): ScrapeConfig {
  const r = parseScrapeConfigs([{ job_name: "test", ...raw }], {
    scrape_interval: 15_000,
    scrape_timeout: 10_000,
  });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.configs[0]!;
}

/** The target for `address` under `cfg` (throws when dropped). */
export function target(
  cfg: ScrapeConfig,
  address: string,
  labels: Record<string, string> = {},
): Target {
  const r = populateTarget(cfg, address, labels);
  if (r.kind !== "target") throw new Error(`target not kept: ${JSON.stringify(r)}`);
  return r.target;
}

/** The shared fake clock (core/clock.ts). */
export { FakeClock } from "../clock.ts";
