/**
 * Prometheus remote write 1.0 decoder (pure: uncompressed protobuf bytes →
 * rows + problems). The body's snappy layer is removed by the caller with
 * {@linkcode snappyDecode}.
 *
 * ```proto
 * message WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 * message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2;
 *                      repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 * message Label { string name = 1; string value = 2; }
 * message Sample { double value = 1; int64 timestamp = 2; }
 * message MetricMetadata { MetricType type = 1; string metric_family_name = 2;
 *                          string help = 4; string unit = 5; }
 * ```
 *
 * Exemplars and native histograms are skipped and counted in a warning.
 * A malformed message refuses the whole request (as Prometheus does), since
 * nothing after the fault can be trusted.
 *
 * @module
 */
import type { MetricType } from "../model/types.ts";
import { ParsedRows } from "./rows.ts";
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

/** Decodes a remote write WriteRequest into rows; never throws on bad input. */
export function parseRemoteWrite(body: Uint8Array): ParsedRows {
  const rows = new ParsedRows();
  const counts = { exemplars: 0, histograms: 0 };
  let index = 0;
  let at = "body";
  try {
    const r = new ProtoReader(body);
    while (r.pos < r.end) {
      at = "body";
      const tag = r.uint32();
      const field = tag >>> 3, wire = tag & 7;
      if (field === 1 && wire === LEN) {
        at = `timeseries[${index}]`;
        const [s, e] = r.bytes();
        timeSeries(rows, body, s, e, index++, counts);
      } else if (field === 3 && wire === LEN) {
        at = "metadata";
        const [s, e] = r.bytes();
        metadata(rows, body, s, e);
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
  if (counts.histograms > 0) {
    rows.warnings.push(`${counts.histograms} native histogram samples ignored`);
  }
  return rows;
}

function timeSeries(
  rows: ParsedRows,
  buf: Uint8Array,
  s: number,
  e: number,
  index: number,
  counts: { exemplars: number; histograms: number },
): void {
  const r = new ProtoReader(buf, s, e);
  const labels: string[] = [];
  let name = "";
  let hasName = false;
  let keyStart = -1, keyEnd = -1, contiguous = true;
  let firstSample = -1;
  let duplicate = "";
  while (r.pos < e) {
    const fieldStart = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3, wire = tag & 7;
    if (field === 1 && wire === LEN) {
      const [ls, le] = r.bytes();
      if (keyStart < 0) keyStart = fieldStart;
      else if (keyEnd !== fieldStart) contiguous = false;
      keyEnd = le;
      const lr = new ProtoReader(buf, ls, le);
      let ln = "", lv = "";
      while (lr.pos < le) {
        const t = lr.uint32();
        if ((t >>> 3) === 1 && (t & 7) === LEN) {
          const [a, b] = lr.bytes();
          ln = decodeUtf8(buf, a, b);
        } else if ((t >>> 3) === 2 && (t & 7) === LEN) {
          const [a, b] = lr.bytes();
          lv = decodeUtf8(buf, a, b);
        } else lr.skip(t & 7);
      }
      if (ln === "__name__") {
        if (hasName) duplicate = ln;
        name = lv;
        hasName = true;
      } else {
        for (let k = 0; k < labels.length; k += 2) if (labels[k] === ln) duplicate = ln;
        labels.push(ln, lv);
      }
    } else if (field === 2 && wire === LEN) {
      const [ss, se] = r.bytes();
      const sr = new ProtoReader(buf, ss, se);
      let v = 0, t = 0;
      while (sr.pos < se) {
        const st = sr.uint32();
        const sf = st >>> 3, sw = st & 7;
        if (sf === 1 && sw === FIXED64) v = sr.double();
        else if (sf === 2 && sw === VARINT) t = sr.int64();
        else sr.skip(sw);
      }
      if (firstSample < 0) firstSample = rows.sampleCount;
      // The series index is set below, once the labels are complete.
      rows.addSample(-1, t, v);
    } else if (field === 3 && wire === LEN) {
      r.bytes();
      counts.exemplars++;
    } else if (field === 4 && wire === LEN) {
      r.bytes();
      counts.histograms++;
    } else {
      r.skip(wire);
    }
  }
  const where = `timeseries[${index}]`;
  const n = firstSample < 0 ? 0 : rows.sampleCount - firstSample;
  let problem = "";
  if (duplicate !== "") problem = `duplicate label "${duplicate}"`;
  else if (!hasName) problem = "missing __name__ label";
  if (problem !== "") {
    rows.addError(`${where}.labels`, duplicate || labelsText(labels), problem);
    rows.invalidSamples += n;
    dropSamplesFrom(rows, firstSample);
    return;
  }
  const rawKey = keyStart >= 0 && contiguous ? bytesKey(buf, keyStart, keyEnd) : "";
  const j = rows.addSeries(name, labels, rawKey, where);
  if (firstSample >= 0) rows.setSampleSeries(firstSample, j);
}

function dropSamplesFrom(rows: ParsedRows, first: number): void {
  if (first >= 0) rows.truncateSamples(first);
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
