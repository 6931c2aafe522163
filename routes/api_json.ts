/**
 * Streaming JSON encoding of query results in Prometheus's envelope:
 * `{"status":"success","data":{"resultType":…,"result":…[,"stats":…]}
 * [,"warnings":[…]][,"infos":[…]]}`. The body is written in chunks of about
 * 64 KiB as the client reads it, straight from the engine's typed arrays:
 * no per-point arrays or strings are built first, and the whole document
 * never exists as one string. Labels are written in their (sorted) order.
 *
 * @module
 */
import { jsonFloat, type Labels } from "../core/model/mod.ts";
import { ownedChunk } from "../core/net/mod.ts";
import { type FloatHistogram, histogramApiJson, type Value } from "../core/promql/mod.ts";

/** Bytes of a chunk handed to the stream. */
const CHUNK_BYTES = 64 * 1024;
/**
 * Characters of points gathered into one string before it is encoded into
 * the chunk: short-lived, so the pieces die young instead of being promoted
 * to the old generation while a long run is built.
 */
const RUN_CHARS = 4 * 1024;

/** What goes around the result. */
export interface Envelope {
  readonly warnings?: readonly string[];
  readonly infos?: readonly string[];
  /** Written as `data.stats` when set. */
  readonly stats?: unknown;
}

/**
 * `t / 1000` as text (t in ms). JSON.stringify prints numbers exactly as
 * String() does but without V8's number-to-string cache, whose entries
 * outlive young-generation collections: every point's strings were promoted
 * and left for a full collection.
 */
function seconds(t: number): string {
  return JSON.stringify(t / 1000);
}

/** `{"name":"value",…}` for a label set. */
function metricJson(labels: Labels): string {
  let s = "{";
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (i > 0) s += ",";
    s += JSON.stringify(l.name) + ":" + JSON.stringify(l.value);
  }
  return s + "}";
}

/** A native histogram as Prometheus's API writes it (see {@linkcode histogramApiJson}). */
export function histogramJson(h: FloatHistogram): string {
  return JSON.stringify(histogramApiJson(h));
}

/** The document as string pieces, in order. */
export function* queryJsonPieces(value: Value, env: Envelope = {}): Generator<string> {
  yield `{"status":"success","data":{"resultType":${JSON.stringify(value.type)},"result":`;
  switch (value.type) {
    case "scalar":
      yield `[${seconds(value.t)},"${jsonFloat(value.v)}"]`;
      break;
    case "string":
      yield `[${seconds(value.t)},${JSON.stringify(value.v)}]`;
      break;
    case "vector": {
      yield "[";
      const samples = value.samples;
      for (let i = 0; i < samples.length; i++) {
        const s = samples[i]!;
        const sep = i > 0 ? "," : "";
        yield s.h
          ? `${sep}{"metric":${metricJson(s.labels)},"histogram":[${seconds(s.t)},${
            histogramJson(s.h)
          }]}`
          : `${sep}{"metric":${metricJson(s.labels)},"value":[${seconds(s.t)},"${
            jsonFloat(s.v)
          }"]}`;
      }
      yield "]";
      break;
    }
    case "matrix": {
      yield "[";
      const series = value.series;
      for (let k = 0; k < series.length; k++) {
        const s = series[k]!;
        yield `${k > 0 ? "," : ""}{"metric":${metricJson(s.labels)}`;
        const t = s.t, v = s.v, n = t.length;
        // Points in runs, so one yield carries many. Like Prometheus, "values"
        // only when there are float points, "histograms" only for histograms.
        let run = n > 0 ? `,"values":[` : "";
        for (let i = 0; i < n; i++) {
          run += `${i > 0 ? "," : ""}[${seconds(t[i]!)},"${jsonFloat(v[i]!)}"]`;
          if (run.length >= RUN_CHARS) {
            yield run;
            run = "";
          }
        }
        if (n > 0) run += "]";
        const h = s.histograms;
        if (h && h.t.length > 0) {
          run += `,"histograms":[`;
          for (let i = 0; i < h.t.length; i++) {
            run += `${i > 0 ? "," : ""}[${seconds(h.t[i]!)},${histogramJson(h.h[i]!)}]`;
            if (run.length >= RUN_CHARS) {
              yield run;
              run = "";
            }
          }
          run += "]";
        }
        yield run + "}";
      }
      yield "]";
      break;
    }
  }
  if (env.stats !== undefined) yield `,"stats":${JSON.stringify(env.stats)}`;
  yield "}";
  if (env.warnings?.length) yield `,"warnings":${JSON.stringify(env.warnings)}`;
  if (env.infos?.length) yield `,"infos":${JSON.stringify(env.infos)}`;
  yield "}";
}

/**
 * Where chunks are encoded (pull runs synchronously, so one serves every
 * stream); each chunk handed out is an exact copy, kept by nothing here
 * ({@linkcode ownedChunk}: the server frees it once sent). A fresh 64 KiB
 * buffer per chunk left up to 64 KiB of garbage for a small result, and one
 * more for the pull that only found the end.
 */
const scratch = new Uint8Array(CHUNK_BYTES);

/** The document as a byte stream, produced as it is read. */
export function queryJsonStream(value: Value, env: Envelope = {}): ReadableStream<Uint8Array> {
  const pieces = queryJsonPieces(value, env);
  const enc = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      let pos = 0;
      for (;;) {
        const r = pieces.next();
        if (r.done) {
          if (pos > 0) controller.enqueue(ownedChunk(scratch.slice(0, pos)));
          controller.close();
          return;
        }
        const s = r.value;
        if (pos + s.length * 3 > CHUNK_BYTES) {
          if (pos > 0) controller.enqueue(ownedChunk(scratch.slice(0, pos)));
          pos = 0;
          if (s.length * 3 > CHUNK_BYTES) { // One piece larger than a chunk.
            controller.enqueue(ownedChunk(enc.encode(s)));
            return;
          }
        }
        pos += enc.encodeInto(s, scratch.subarray(pos)).written;
        if (pos >= CHUNK_BYTES - RUN_CHARS * 3) {
          controller.enqueue(ownedChunk(scratch.slice(0, pos)));
          return;
        }
      }
    },
  }, { highWaterMark: 1 });
}

/** A 200 response with the document streamed as its body. */
export function queryJsonResponse(value: Value, env: Envelope = {}): Response {
  return new Response(queryJsonStream(value, env), {
    headers: { "content-type": "application/json" },
  });
}
