/**
 * Prometheus remote write 1.0 decoder (pure: uncompressed protobuf bytes →
 * rows + problems). The body's snappy layer is removed by the caller with
 * {@linkcode snappyDecode}.
 *
 * ```proto
 * message WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 * message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2;
 *                      repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 * // Histogram: see remote_write_histogram.ts
 * message Label { string name = 1; string value = 2; }
 * message Sample { double value = 1; int64 timestamp = 2; }
 * message MetricMetadata { MetricType type = 1; string metric_family_name = 2;
 *                          string help = 4; string unit = 5; }
 * ```
 *
 * Series are cached across requests by the raw bytes of their labels, so a
 * known series is not decoded again, and a series repeated in one request is
 * listed once.
 *
 * Native histograms (integer and float, every schema including custom
 * buckets) become histogram samples; an invalid one is refused alone, with
 * a message naming it (`timeseries[3].histograms[0]`). Exemplars are skipped
 * and counted in a warning.
 * A malformed message refuses the whole request (as Prometheus does), since
 * nothing after the fault can be trusted.
 *
 * @module
 */
import { checkHistogram, type MetricType } from "../model/mod.ts";
import { ParsedRows } from "./rows.ts";
import { decodeHistogram } from "./remote_write_histogram.ts";
import { bytesKey, decodeUtf8, FIXED64, LEN, ProtoError, ProtoReader, VARINT } from "./_proto.ts";

/** Remote write metadata types, by enum number. */
const RW_TYPES: readonly MetricType[] = [
  "untyped", // UNKNOWN
  "counter",
  "gauge",
  "histogram",
  "histogram", // GAUGEHISTOGRAM
  "summary",
  "gauge", // INFO
  "gauge", // STATESET
];

/** A decoded series, shared by all requests (see {@linkcode seriesCache}). */
interface RwSeries {
  readonly name: string;
  /** Label pairs without `__name__`; shared, so nobody may change them. */
  readonly labels: string[];
  /** The raw key, for the pipeline's cache. */
  readonly key: string;
  /** The raw label bytes (what {@linkcode findSeries} compares). */
  readonly raw: Uint8Array;
  /** Hash of `raw`. */
  readonly hash: number;
  /** Why the series is refused, or "" (then `problemValue` names the culprit). */
  readonly problem: string;
  readonly problemValue: string;
  /** Parse call that last added this series to its rows, and its index there. */
  epoch: number;
  j: number;
}

/**
 * Decoded series by a hash of the raw bytes of their labels: senders repeat
 * the same series in every request, so a known series costs hashing and
 * comparing its label bytes, with no string made and no UTF-8 decoding.
 * Colliding series share a bucket (an array). Cleared when full.
 */
const seriesCache = new Map<number, RwSeries | RwSeries[]>();
let seriesCached = 0;
const SERIES_CACHE_MAX = 100_000;

/** FNV-1a over buf[s, e). */
function hashBytes(buf: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(raw: Uint8Array, buf: Uint8Array, s: number, e: number): boolean {
  if (raw.length !== e - s) return false;
  for (let i = 0; i < raw.length; i++) if (raw[i] !== buf[s + i]) return false;
  return true;
}

/** The cached series whose label bytes are buf[s, e), or undefined. */
function findSeries(h: number, buf: Uint8Array, s: number, e: number): RwSeries | undefined {
  const got = seriesCache.get(h);
  if (got === undefined) return undefined;
  if (!Array.isArray(got)) return sameBytes(got.raw, buf, s, e) ? got : undefined;
  for (const x of got) if (sameBytes(x.raw, buf, s, e)) return x;
  return undefined;
}

function cacheSeries(series: RwSeries): void {
  if (seriesCached >= SERIES_CACHE_MAX) {
    seriesCache.clear();
    seriesCached = 0;
  }
  const got = seriesCache.get(series.hash);
  if (got === undefined) seriesCache.set(series.hash, series);
  else if (Array.isArray(got)) got.push(series);
  else seriesCache.set(series.hash, [got, series]);
  seriesCached++;
}
const EMPTY = new Uint8Array(0);
/** Counts parse calls, so a series is added once per request. */
let parseEpoch = 0;

/** Decodes a remote write WriteRequest into rows; never throws on bad input. */
export function parseRemoteWrite(body: Uint8Array): ParsedRows {
  const rows = new ParsedRows();
  const counts = { exemplars: 0 };
  const epoch = ++parseEpoch;
  let index = 0;
  let at = "body";
  try {
    const r = new ProtoReader(body);
    while (r.pos < body.length) {
      at = "body";
      const tag = r.uint32();
      const field = tag >>> 3, wire = tag & 7;
      if (field === 1 && wire === LEN) {
        at = `timeseries[${index}]`;
        const s = r.len();
        const e = r.lenEnd;
        r.pos = s;
        r.end = e;
        timeSeries(rows, r, index++, counts, epoch);
        r.pos = e;
        r.end = body.length;
      } else if (field === 3 && wire === LEN) {
        at = "metadata";
        const s = r.len();
        metadata(rows, body, s, r.lenEnd);
      } else {
        r.skip(wire);
      }
    }
  } catch (e) {
    if (!(e instanceof ProtoError)) throw e;
    const bad = new ParsedRows();
    bad.addError(at, "", `Cannot decode remote write request: ${e.message}`);
    bad.invalidSamples = rows.sampleCount;
    return bad;
  }
  if (counts.exemplars > 0) rows.warnings.push(`${counts.exemplars} exemplars ignored`);
  return rows;
}

/** Reads one TimeSeries in [r.pos, r.end); labels are decoded only for new series. */
function timeSeries(
  rows: ParsedRows,
  r: ProtoReader,
  index: number,
  counts: { exemplars: number },
  epoch: number,
): void {
  const buf = r.buf, s = r.pos, e = r.end;
  let keyStart = -1, keyEnd = -1, contiguous = true;
  const firstSample = rows.sampleCount;
  let nHist = 0;
  while (r.pos < e) {
    const fieldStart = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3, wire = tag & 7;
    if (field === 1 && wire === LEN) {
      r.len();
      if (keyStart < 0) keyStart = fieldStart;
      else if (keyEnd !== fieldStart) contiguous = false;
      keyEnd = r.lenEnd;
    } else if (field === 2 && wire === LEN) {
      const ss = r.len();
      const se = r.lenEnd;
      r.pos = ss;
      let v = 0, t = 0;
      while (r.pos < se) {
        const st = r.uint32();
        const sf = st >>> 3, sw = st & 7;
        if (sf === 1 && sw === FIXED64) v = r.double();
        else if (sf === 2 && sw === VARINT) t = r.int64();
        else r.skip(sw);
      }
      if (r.pos !== se) throw new ProtoError("sample runs past its message");
      // The series index is set below, once the labels are known.
      rows.addSample(-1, t, v);
    } else if (field === 3 && wire === LEN) {
      r.len();
      counts.exemplars++;
    } else if (field === 4 && wire === LEN) {
      const hs = r.len();
      const he = r.lenEnd;
      r.pos = hs;
      r.end = he;
      const { t, h } = decodeHistogram(r);
      r.end = e;
      const bad = checkHistogram(h);
      if (bad === undefined) rows.addHistogram(-1, t, h);
      else {
        rows.addError(`timeseries[${index}].histograms[${nHist}]`, String(t), bad);
        rows.invalidSamples++;
      }
      nHist++;
    } else {
      r.skip(wire);
    }
  }
  const n = rows.sampleCount - firstSample;
  let series: RwSeries | undefined;
  const cacheable = keyStart >= 0 && contiguous;
  const h = cacheable ? hashBytes(buf, keyStart, keyEnd) : 0;
  if (cacheable) series = findSeries(h, buf, keyStart, keyEnd);
  if (series === undefined) {
    const rawKey = cacheable ? bytesKey(buf, keyStart, keyEnd) : "";
    const raw = cacheable ? buf.slice(keyStart, keyEnd) : EMPTY;
    series = decodeSeries(buf, s, e, rawKey, raw, h);
    if (cacheable) cacheSeries(series);
  }
  const rawKey = series.key;
  if (series.problem !== "") {
    rows.addError(`timeseries[${index}].labels`, series.problemValue, series.problem);
    rows.invalidSamples += n;
    rows.truncateSamples(firstSample);
    return;
  }
  if (series.epoch !== epoch || rawKey === "") {
    series.epoch = epoch;
    series.j = rows.addSeries(series.name, series.labels, series.key, "timeseries", 0, index);
  }
  if (n > 0) rows.setSampleSeries(firstSample, series.j);
}

/** Decodes the labels of the TimeSeries in buf[s, e). */
function decodeSeries(
  buf: Uint8Array,
  s: number,
  e: number,
  key: string,
  raw: Uint8Array,
  hash: number,
): RwSeries {
  const r = new ProtoReader(buf, s, e);
  const labels: string[] = [];
  let name = "";
  let hasName = false;
  let duplicate = "";
  while (r.pos < e) {
    const tag = r.uint32();
    if (tag !== ((1 << 3) | LEN)) {
      r.skip(tag & 7);
      continue;
    }
    const ls = r.len();
    const le = r.lenEnd;
    let ln = "", lv = "";
    r.pos = ls;
    r.end = le;
    while (r.pos < le) {
      const t = r.uint32();
      if ((t >>> 3) === 1 && (t & 7) === LEN) {
        const a = r.len();
        ln = decodeUtf8(buf, a, r.lenEnd);
      } else if ((t >>> 3) === 2 && (t & 7) === LEN) {
        const a = r.len();
        lv = decodeUtf8(buf, a, r.lenEnd);
      } else r.skip(t & 7);
    }
    r.pos = le;
    r.end = e;
    if (ln === "__name__") {
      if (hasName) duplicate = ln;
      name = lv;
      hasName = true;
    } else {
      for (let k = 0; k < labels.length; k += 2) if (labels[k] === ln) duplicate = ln;
      labels.push(ln, lv);
    }
  }
  let problem = "", problemValue = "";
  if (duplicate !== "") {
    problem = `duplicate label "${duplicate}"`;
    problemValue = duplicate;
  } else if (!hasName) {
    problem = "missing __name__ label";
    problemValue = labelsText(labels);
  }
  return { name, labels, key, raw, hash, problem, problemValue, epoch: 0, j: 0 };
}

function labelsText(labels: string[]): string {
  const parts: string[] = [];
  for (let k = 0; k < labels.length; k += 2) {
    parts.push(`${labels[k]}=${JSON.stringify(labels[k + 1])}`);
  }
  return `{${parts.join(",")}}`;
}

function metadata(rows: ParsedRows, buf: Uint8Array, s: number, e: number): void {
  const r = new ProtoReader(buf, s, e);
  let type: MetricType = "untyped", name = "", help = "", unit = "";
  while (r.pos < e) {
    const tag = r.uint32();
    const field = tag >>> 3, wire = tag & 7;
    if (field === 1 && wire === VARINT) type = RW_TYPES[r.int64()] ?? "untyped";
    else if (field === 2 && wire === LEN) {
      const [a, b] = r.bytes();
      name = decodeUtf8(buf, a, b);
    } else if (field === 4 && wire === LEN) {
      const [a, b] = r.bytes();
      help = decodeUtf8(buf, a, b);
    } else if (field === 5 && wire === LEN) {
      const [a, b] = r.bytes();
      unit = decodeUtf8(buf, a, b);
    } else r.skip(wire);
  }
  if (name !== "") rows.metadata.set(name, { type, help, unit });
}
