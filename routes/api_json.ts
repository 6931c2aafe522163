/**
 * Streaming JSON encoding of query results in Prometheus's envelope:
 * `{"status":"success","data":{"resultType":...,"result":...[,"stats":...]}
 * [,"warnings":[...]][,"infos":[...]]}`. The body is written in chunks of about
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
 * Characters of histogram points gathered into one string before it is
 * encoded into the chunk: short-lived, so the pieces die young instead of
 * being promoted to the old generation while a long run is built.
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

/** `{"name":"value",...}` for a label set. */
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

/**
 * A series' float points, `[t,"v"]` separated by commas: written by the
 * stream straight into its chunk, without a string per point.
 */
interface Points {
  readonly t: Float64Array;
  readonly v: Float64Array;
}

/** The document as pieces in order: text, and float points. */
function* queryJsonPieces(value: Value, env: Envelope = {}): Generator<string | Points> {
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
        // Like Prometheus, "values" only when there are float points,
        // "histograms" only for histograms.
        if (s.t.length > 0) {
          yield `,"values":[`;
          yield { t: s.t, v: s.v };
          yield "]";
        }
        const h = s.histograms;
        if (h && h.t.length > 0) {
          // Histograms in runs, so one yield carries many.
          let run = `,"histograms":[`;
          for (let i = 0; i < h.t.length; i++) {
            run += `${i > 0 ? "," : ""}[${seconds(h.t[i]!)},${histogramJson(h.h[i]!)}]`;
            if (run.length >= RUN_CHARS) {
              yield run;
              run = "";
            }
          }
          yield run + "]";
        }
        yield "}";
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

/** More bytes than one point takes: two numbers of at most 25 characters and 6 more. */
const POINT_BYTES = 64;

/**
 * Where chunks are written (pull runs synchronously, so one serves every
 * stream); each chunk handed out is an exact copy, kept by nothing here
 * ({@linkcode ownedChunk}: the server frees it once sent). A fresh 64 KiB
 * buffer per chunk left up to 64 KiB of garbage for a small result, and one
 * more for the pull that only found the end. Points are written as bytes:
 * a string per number and per point, joined into runs and then encoded,
 * was most of what a large answer allocated (wide workload, `max by (host)`
 * over 1 h at 15 s: 64 of 103 MiB).
 */
class ChunkWriter {
  readonly buf = new Uint8Array(CHUNK_BYTES);
  pos = 0;
  readonly #enc = new TextEncoder();

  /** Encodes `s` here; false (nothing written) when it might not fit. */
  text(s: string): boolean {
    if (this.pos + s.length * 3 > CHUNK_BYTES) return false;
    this.pos += this.#enc.encodeInto(s, this.buf.subarray(this.pos)).written;
    return true;
  }

  /** The bytes written so far as an owned copy; starts a new chunk. */
  take(): Uint8Array {
    const out = ownedChunk(this.buf.slice(0, this.pos));
    this.pos = 0;
    return out;
  }

  /** Writes points `from`... of `p` while they surely fit; returns the index of the next one. */
  points(p: Points, from: number): number {
    const { t, v } = p;
    let i = from;
    for (; i < t.length && this.pos <= CHUNK_BYTES - POINT_BYTES; i++) {
      if (i > 0) this.buf[this.pos++] = 0x2c; // ,
      this.buf[this.pos++] = 0x5b; // [
      // Arrays and index, not numbers: a double passed to a call not inlined is boxed.
      this.#seconds(t, i);
      this.buf[this.pos++] = 0x2c;
      this.buf[this.pos++] = 0x22; // "
      this.#float(v, i);
      this.buf[this.pos++] = 0x22;
      this.buf[this.pos++] = 0x5d; // ]
    }
    return i;
  }

  /** {@linkcode seconds} of `ts[i]`: digits of whole milliseconds written directly. */
  #seconds(ts: Float64Array, i: number): void {
    const t = ts[i]!;
    // Below 1e15 ms, t / 1000 has at most 15 significant digits: its
    // shortest form is exactly these digits, as JSON.stringify writes it.
    if (!(Number.isInteger(t) && t >= 0 && t < 1e15)) return this.#ascii(seconds(t));
    const s = Math.floor(t / 1000), ms = t - s * 1000;
    this.#uint(s);
    if (ms === 0) return;
    const buf = this.buf;
    buf[this.pos++] = 0x2e; // .
    buf[this.pos++] = 0x30 + Math.floor(ms / 100);
    const rest = ms % 100;
    if (rest === 0) return;
    buf[this.pos++] = 0x30 + Math.floor(rest / 10);
    if (rest % 10 !== 0) buf[this.pos++] = 0x30 + rest % 10;
  }

  /**
   * {@linkcode jsonFloat} of `vs[i]`: integers (counters) and values of at most 6
   * decimals (gauges: `42.17`) written directly. When `m / 10^6 === |v|`
   * for `m = Math.round(|v|·10^6)`, the decimal m·10^-6 reads back as `v`
   * and has at most 15 significant digits, so it is the only such decimal
   * of at most 15 digits: the shortest form JavaScript writes is it, its
   * trailing zeros dropped (|v| >= 1e-6: no exponent form).
   */
  #float(vs: Float64Array, i: number): void {
    const v = vs[i]!;
    const a = Math.abs(v);
    const whole = Number.isInteger(a) && a < 1e15;
    if (Object.is(v, -0) || !(whole || a < 1e9)) return this.#ascii(jsonFloat(v));
    const m = Math.round(a * 1e6);
    if (!whole && m / 1e6 !== a) return this.#ascii(jsonFloat(v));
    if (v < 0) this.buf[this.pos++] = 0x2d; // -
    if (whole) return this.#uint(a);
    const int = Math.floor(m / 1e6);
    this.#uint(int);
    this.buf[this.pos++] = 0x2e; // .
    let frac = m - int * 1e6, digits = 6;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    for (let d = digits - 1; d >= 0; d--) {
      this.buf[this.pos + d] = 0x30 + frac % 10;
      frac = Math.floor(frac / 10);
    }
    this.pos += digits;
  }

  /** A whole number from 0 to 2^53 in decimal. */
  #uint(n: number): void {
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    let i = this.pos + digits;
    this.pos = i;
    do {
      this.buf[--i] = 0x30 + n % 10;
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /** ASCII text (a number as JavaScript writes it). */
  #ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }
}

const writer = new ChunkWriter();

/** The document as a byte stream, produced as it is read. */
export function queryJsonStream(value: Value, env: Envelope = {}): ReadableStream<Uint8Array> {
  const pieces = queryJsonPieces(value, env);
  const enc = new TextEncoder();
  let points: Points | undefined, next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const w = writer;
      w.pos = 0;
      for (;;) {
        if (points) {
          next = w.points(points, next);
          if (next < points.t.length) return controller.enqueue(w.take());
          points = undefined;
        }
        const r = pieces.next();
        if (r.done) {
          if (w.pos > 0) controller.enqueue(w.take());
          controller.close();
          return;
        }
        const s = r.value;
        if (typeof s !== "string") {
          points = s;
          next = 0;
          continue;
        }
        if (!w.text(s)) {
          if (w.pos > 0) controller.enqueue(w.take());
          if (!w.text(s)) { // One piece larger than a chunk.
            controller.enqueue(ownedChunk(enc.encode(s)));
            return;
          }
        }
        if (w.pos >= CHUNK_BYTES - RUN_CHARS * 3) return controller.enqueue(w.take());
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
