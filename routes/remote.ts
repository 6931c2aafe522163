/**
 * Edge-to-core HTTP routes:
 *
 * | route                                  | what                                          |
 * |----------------------------------------|-----------------------------------------------|
 * | `GET /federate?match[]=...`              | latest samples, Prometheus text or protobuf   |
 * | `GET\|POST /api/v1/export`             | JSON lines (or `format=csv`), streamed        |
 * | `POST /api/v1/import`                  | JSON lines of export, through the pipeline    |
 *
 * Errors: bad parameters are 400 `{"status":"error","errorType":"bad_data"}`.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { type Matcher, type Querier, StorageFullError } from "../core/model/mod.ts";
import {
  BodyEncodingError,
  BodyTooLargeError,
  type IngestPipeline,
  OverloadedError,
  PROTOBUF_EXPOSITION_TYPE,
  RateLimitedError,
  readBody,
  UnsupportedEncodingError,
} from "../core/ingest/mod.ts";
import { exportStream, federate, negotiateFederate, parseImportLines } from "../core/remote/mod.ts";
import { BadParam, MIN_TIME, parseMatchParam, parseTime } from "./api_params.ts";
import { READ, WRITE } from "./scope.ts";

/** What the remote routes need. */
export interface RemoteRoutesDeps {
  readonly querier: Querier;
  /** The shared ingest pipeline (import goes through it). */
  readonly pipeline: Pick<IngestPipeline, "ingest">;
  /** `global.external_labels`, added by /federate. */
  readonly externalLabels?: () => Readonly<Record<string, string>>;
  /** The oldest stored sample (ms), or null when storage is empty: export starts there. */
  readonly minTime?: () => number | null;
  /** `query.lookback_delta` in ms. @default 5 min */
  readonly lookbackMs?: () => number;
  /** Largest import body after decompression. @default 256 MiB */
  readonly maxImportBytes?: number;
  readonly now?: () => number;
}

const DEFAULT_EXPORT_SPAN = 5 * 365 * 86_400_000;

function badData(c: Context, message: string): Response {
  return c.json({ status: "error", errorType: "bad_data", error: message }, 400);
}

async function params(c: Context): Promise<URLSearchParams> {
  const p = new URL(c.req.url).searchParams;
  if (c.req.method === "POST") {
    const type = c.req.header("content-type") ?? "";
    if (type.startsWith("application/x-www-form-urlencoded")) {
      for (const [k, v] of new URLSearchParams(await c.req.text())) p.append(k, v);
    }
  }
  return p;
}

function selectors(p: URLSearchParams): (readonly Matcher[])[] {
  const texts = [...p.getAll("match[]"), ...p.getAll("match")];
  if (texts.length === 0) throw new BadParam("no match[] parameter provided");
  return texts.map(parseMatchParam);
}

/** Builds the federation and export/import routes. */
export function remoteRoutes(deps: RemoteRoutesDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;

  app.get("/federate", READ, (c) => {
    let sels;
    try {
      const q = new URL(c.req.url).searchParams;
      // Without match[] Prometheus federates nothing (200, empty body), not an error.
      sels = q.has("match[]") || q.has("match") ? selectors(q) : [];
    } catch (e) {
      if (e instanceof BadParam) return badData(c, e.message);
      throw e;
    }
    const format = negotiateFederate(c.req.header("accept") ?? null);
    const gen = federate(deps.querier, sels, {
      now: now(),
      lookbackMs: deps.lookbackMs?.() ?? 300_000,
      externalLabels: deps.externalLabels?.(),
      format,
    });
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        const r = await gen.next();
        if (r.done) ctl.close();
        else ctl.enqueue(typeof r.value === "string" ? enc.encode(r.value) : r.value);
      },
      async cancel() {
        await gen.return(undefined);
      },
    });
    return new Response(body, {
      headers: {
        "Content-Type": format === "protobuf"
          ? PROTOBUF_EXPOSITION_TYPE
          : "text/plain; version=0.0.4; charset=utf-8",
      },
    });
  });

  const exportHandler = async (c: Context) => {
    let sels, start, end;
    const p = await params(c);
    try {
      sels = selectors(p);
      start = parseTime("start", p.get("start") ?? undefined, MIN_TIME);
      end = parseTime("end", p.get("end") ?? undefined, now());
      if (end < start) throw new BadParam(`invalid parameter "end": end is before start`);
    } catch (e) {
      if (e instanceof BadParam) return badData(c, e.message);
      throw e;
    }
    const format = p.get("format") === "csv" ? "csv" : "json";
    // Without start: the last 5 years (an explicit start reaches further back).
    if (start === MIN_TIME) start = end - DEFAULT_EXPORT_SPAN;
    // Do not walk empty years before the oldest stored sample.
    const oldest = deps.minTime?.();
    if (oldest !== undefined) start = Math.max(start, oldest ?? end);
    return new Response(exportStream(deps.querier, sels, { start, end, format }), {
      headers: {
        "Content-Type": format === "csv" ? "text/csv; charset=utf-8" : "application/stream+json",
      },
    });
  };
  app.get("/api/v1/export", READ, exportHandler);
  app.post("/api/v1/export", READ, exportHandler);

  app.post("/api/v1/import", WRITE, async (c) => {
    let bytes: Uint8Array;
    try {
      bytes = await readBody(c.req.raw.body, {
        encoding: c.req.header("content-encoding") ?? null,
        maxBytes: deps.maxImportBytes ?? 256 << 20,
      });
    } catch (e) {
      if (e instanceof BodyTooLargeError) return c.json({ error: e.message }, 413);
      if (e instanceof UnsupportedEncodingError) return c.json({ error: e.message }, 415);
      if (e instanceof BodyEncodingError) return c.json({ error: e.message }, 400);
      throw e;
    }
    const text = new TextDecoder().decode(bytes);
    // Ingest in pieces of about 10k lines so one huge import never builds one giant batch.
    let accepted = 0, rejected = 0;
    const errors: unknown[] = [];
    let lineNo = 1, pos = 0;
    while (pos < text.length) {
      let end = pos;
      let lines = 0;
      while (end < text.length && lines < 10_000) {
        const nl = text.indexOf("\n", end);
        end = nl < 0 ? text.length : nl + 1;
        lines++;
      }
      const rows = parseImportLines(text.slice(pos, end), lineNo);
      lineNo += lines;
      pos = end;
      try {
        const r = await deps.pipeline.ingest("import", rows);
        accepted += r.accepted;
        rejected += r.rejected;
        for (const e of r.errors) if (errors.length < 100) errors.push(e);
      } catch (e) {
        if (e instanceof OverloadedError) {
          c.header("Retry-After", String(e.retryAfterSeconds));
          return c.json({ error: e.message, accepted }, 503);
        }
        if (e instanceof RateLimitedError) {
          c.header("Retry-After", String(e.retryAfterSeconds));
          return c.json({ error: e.message, accepted }, 429);
        }
        if (e instanceof StorageFullError) return c.json({ error: e.message, accepted }, 507);
        throw e;
      }
    }
    if (rejected > 0 || errors.length > 0) {
      return c.json({
        error: `${accepted} samples were stored; ${rejected} were rejected (see errors)`,
        errors,
        accepted,
      }, 400);
    }
    return c.body(null, 204);
  });

  return app;
}
