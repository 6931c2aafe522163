/**
 * Prometheus remote write 1.0 decoder (pure: uncompressed protobuf bytes ->
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
 * listed once. The cache (~600 bytes a series, with the pipeline's entry it
 * keeps) is dropped by the reclaim after bursts (core/idle_memory.ts) when no
 * request came since the reclaim before: a sender that stopped leaves
 * nothing behind, one still sending keeps it. Senders list their series in
 * the same order every time, so the label bytes of the series that followed
 * the previous one last time are compared first with the start of the next
 * series, before reading its label fields or hashing; samples in the usual
 * encoding are read without calls.
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
import { decodeUtf8, FIXED64, LEN, ProtoError, ProtoReader, VARINT } from "./_proto.ts";
import { intern } from "./_util.ts";
import { type IdleMemoryHolder, keepsIdleMemory } from "../idle_memory.ts";

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

/** A decoded series, shared by all requests (see {@linkcode SeriesCache}). */
interface RwSeries {
  readonly name: string;
  /** Label pairs without `__name__`; shared, so nobody may change them. */
  readonly labels: string[];
  /**
   * A short name of this series, unique in the process (the pipeline's cache
   * key), or "" for a series not cached. The raw label bytes themselves are
   * in `words` (a copy as a string was ~100 bytes a series more).
   */
  readonly key: string;
  /** Length of the raw label bytes. */
  readonly len: number;
  /**
   * The raw label bytes as little-endian 32-bit words from `w0` on, the last
   * one padded with zeros (what {@linkcode sameBytes} compares); a slab
   * shared by many series (an Int32Array each was ~330 bytes a series).
   */
  readonly words: Int32Array;
  readonly w0: number;
  /** Hash of the raw label bytes. */
  readonly hash: number;
  /** Why the series is refused, or "" (then `problemValue` names the culprit). */
  readonly problem: string;
  readonly problemValue: string;
  /** Parse call that last added this series to its rows, and its index there. */
  epoch: number;
  j: number;
  /**
   * The series that followed this one in the last request: senders list
   * their series in the same order every time, so this is the first guess.
   */
  next: RwSeries | undefined;
  /** The pipeline's (see {@linkcode SeriesMemo}). */
  memo: unknown;
}

/**
 * FNV-1a over buf[s, e), as a signed 32-bit integer: a small integer to V8
 * (an unsigned one above 2^31 was a 16-byte heap number in the series and
 * again as its cache key).
 */
function hashBytes(buf: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h;
}

/** Words of series' label bytes are carved from slabs of this many. */
const WORD_SLAB = 16384;
let wordSlab = new Int32Array(WORD_SLAB);
let wordPos = 0;

/**
 * Writes buf[s, e) as little-endian 32-bit words, the last one padded with
 * zeros, into {@linkcode wordSlab} (a new one when full) and returns where.
 */
function wordsOf(buf: Uint8Array, s: number, e: number): number {
  const n = (e - s + 3) >>> 2;
  if (wordPos + n > wordSlab.length) {
    wordSlab = new Int32Array(Math.max(WORD_SLAB, n));
    wordPos = 0;
  }
  const words = wordSlab, w0 = wordPos;
  wordPos += n;
  for (let i = s; i < e; i++) words[w0 + ((i - s) >>> 2)] |= buf[i]! << (((i - s) & 3) * 8);
  return w0;
}

/** True when the raw label bytes of `series` equal buf[s, e) (`view` is over buf). */
function sameBytes(
  series: RwSeries,
  buf: Uint8Array,
  view: DataView,
  s: number,
  e: number,
): boolean {
  const n = e - s;
  if (series.len !== n) return false;
  const words = series.words, w0 = series.w0, full = n >>> 2;
  for (let k = 0; k < full; k++) if (view.getInt32(s + k * 4, true) !== words[w0 + k]) return false;
  for (let i = full * 4; i < n; i++) {
    if (((words[w0 + full]! >>> ((i & 3) * 8)) & 0xff) !== buf[s + i]) return false;
  }
  return true;
}

/**
 * Decoded series by a hash of the raw bytes of their labels: senders repeat
 * the same series in every request, so a known series costs hashing and
 * comparing its label bytes, with no string made and no UTF-8 decoding.
 * Colliding series share a bucket (an array). Cleared when full, and by the
 * reclaim after bursts when no request was parsed since the reclaim before.
 */
class SeriesCache implements IdleMemoryHolder {
  readonly #byHash = new Map<number, RwSeries | RwSeries[]>();
  #size = 0;
  /** {@linkcode parseEpoch} at the last reclaim. */
  #epochAtReclaim = 0;

  constructor(readonly maxSize: number) {
    keepsIdleMemory(this);
  }

  /** The cached series whose label bytes are buf[s, e), or undefined. */
  find(h: number, buf: Uint8Array, view: DataView, s: number, e: number): RwSeries | undefined {
    const got = this.#byHash.get(h);
    if (got === undefined) return undefined;
    if (!Array.isArray(got)) return sameBytes(got, buf, view, s, e) ? got : undefined;
    for (const x of got) if (sameBytes(x, buf, view, s, e)) return x;
    return undefined;
  }

  add(series: RwSeries): void {
    if (this.#size >= this.maxSize) {
      this.#byHash.clear();
      this.#size = 0;
    }
    const got = this.#byHash.get(series.hash);
    if (got === undefined) this.#byHash.set(series.hash, series);
    else if (Array.isArray(got)) got.push(series);
    else this.#byHash.set(series.hash, [got, series]);
    this.#size++;
  }

  /**
   * Drops every series when nothing was parsed since the last reclaim. Each
   * one's `next` is cleared too: rows kept for reuse may still hold series
   * of their last request, and through `next` they would hold them all.
   */
  releaseIdle(): void {
    if (parseEpoch === this.#epochAtReclaim) {
      for (const got of this.#byHash.values()) {
        if (Array.isArray(got)) { for (const x of got) x.next = undefined; }
        else got.next = undefined;
      }
      this.#byHash.clear();
      this.#size = 0;
      wordSlab = NO_WORDS;
      wordPos = 0;
    }
    this.#epochAtReclaim = parseEpoch;
  }
}

const NO_WORDS = new Int32Array(0);
/** Counts parse calls, so a series is added once per request. */
let parseEpoch = 0;
/** Names given to cached series (their `key`). */
let keys = 0;
const seriesCache = new SeriesCache(100_000);
/** Samples in the last request: senders send alike requests, so room for as many is made at once. */
let lastSamples = 0;

/**
 * Decodes a remote write WriteRequest into rows; never throws on bad input.
 * `into`: rows to reuse (emptied first) instead of new ones.
 */
export function parseRemoteWrite(body: Uint8Array, into?: ParsedRows): ParsedRows {
  into?.reset();
  // A sample takes at least 2 bytes.
  const rows = into ?? new ParsedRows(Math.min(lastSamples, body.length >>> 1));
  const epoch = ++parseEpoch;
  const state: ParseState = { epoch, prev: undefined, exemplars: 0 };
  let index = 0;
  // Where a fault is: "body", "metadata" or a time series (its index; no string per series).
  let at = "body", atSeries = -1;
  try {
    const r = new ProtoReader(body);
    while (r.pos < body.length) {
      at = "body";
      atSeries = -1;
      const tag = r.uint32();
      const field = tag >>> 3, wire = tag & 7;
      if (field === 1 && wire === LEN) {
        atSeries = index;
        const s = r.len();
        const e = r.lenEnd;
        r.pos = s;
        r.end = e;
        timeSeries(rows, r, index++, state);
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
    bad.addError(
      atSeries >= 0 ? `timeseries[${atSeries}]` : at,
      "",
      `Cannot decode remote write request: ${e.message}`,
    );
    bad.invalidSamples = rows.sampleCount;
    return bad;
  }
  lastSamples = rows.sampleCount;
  if (state.exemplars > 0) rows.warnings.push(`${state.exemplars} exemplars ignored`);
  return rows;
}

/** What one parse call carries from series to series. */
interface ParseState {
  readonly epoch: number;
  /** The series decoded last (its `next` is the guess for the one after it). */
  prev: RwSeries | undefined;
  exemplars: number;
}

/** Reads one TimeSeries in [r.pos, r.end); labels are decoded only for new series. */
function timeSeries(rows: ParsedRows, r: ProtoReader, index: number, state: ParseState): void {
  const buf = r.buf, view = r.view, s = r.pos, e = r.end;
  let keyStart = -1, keyEnd = -1, contiguous = true;
  const firstSample = rows.sampleCount;
  let nHist = 0;
  // The guessed series' label bytes at the start are whole label fields, the
  // same as before: they are skipped, not read field by field.
  const guess = state.prev?.next;
  let guessed = false;
  if (
    guess !== undefined && s + guess.len <= e &&
    sameBytes(guess, buf, view, s, s + guess.len)
  ) {
    keyStart = s;
    keyEnd = r.pos = s + guess.len;
    guessed = true;
  }
  while (r.pos < e) {
    const fieldStart = r.pos;
    if (buf[fieldStart] === SAMPLE_TAG) {
      r.pos = plainSamples(rows, buf, view, fieldStart, e);
      if (r.pos !== fieldStart) continue;
    }
    const tag = r.uint32();
    const field = tag >>> 3, wire = tag & 7;
    if (field === 1 && wire === LEN) {
      r.len();
      if (keyStart < 0) keyStart = fieldStart;
      else if (keyEnd !== fieldStart) contiguous = false;
      keyEnd = r.lenEnd;
    } else if (field === 2 && wire === LEN) {
      // A sample in another encoding than plainSamples reads.
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
      state.exemplars++;
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
  if (cacheable) {
    // The guess holds unless more label fields followed its bytes.
    if (guessed && keyEnd - keyStart === guess!.len) series = guess!;
    else {
      const h = hashBytes(buf, keyStart, keyEnd);
      series = seriesCache.find(h, buf, view, keyStart, keyEnd);
      if (series === undefined) {
        const w0 = wordsOf(buf, keyStart, keyEnd);
        const key = (keys++).toString(36);
        series = decodeSeries(buf, s, e, key, keyEnd - keyStart, wordSlab, w0, h);
        seriesCache.add(series);
      }
      if (state.prev !== undefined) state.prev.next = series;
    }
    state.prev = series;
  } else {
    series = decodeSeries(buf, s, e, "", 0, NO_WORDS, 0, 0);
  }
  const rawKey = series.key;
  if (series.problem !== "") {
    rows.addError(`timeseries[${index}].labels`, series.problemValue, series.problem);
    rows.invalidSamples += n;
    rows.truncateSamples(firstSample);
    return;
  }
  if (series.epoch !== state.epoch || rawKey === "") {
    series.epoch = state.epoch;
    series.j = rows.addSeries(
      series.name,
      series.labels,
      series.key,
      "timeseries",
      0,
      index,
      rawKey === "" ? undefined : series,
    );
  }
  if (n > 0) rows.setSampleSeries(firstSample, series.j);
}

/** The tag byte of a TimeSeries' samples (field 2, length-delimited). */
const SAMPLE_TAG = (2 << 3) | LEN;

/**
 * Reads the run of samples from buf[p] (a {@linkcode SAMPLE_TAG}) on, up to
 * `e`, while they are in the encoding every sender writes: a one-byte
 * length, the value (tag 0x09, 8 bytes), then a timestamp (tag 0x10) below
 * 2^56, and nothing else. Writes them straight into the sample columns and
 * returns where the run ends (`p` when the first sample is in another
 * encoding, left to the general reader).
 */
function plainSamples(rows: ParsedRows, buf: Uint8Array, view: DataView, p: number, e: number) {
  // A sample takes at least 13 bytes.
  let i = rows.reserveSamples(Math.ceil((e - p) / 13));
  const ts = rows.sampleT, vs = rows.sampleV;
  while (p + 2 < e && buf[p] === SAMPLE_TAG) {
    const ss = p + 2, se = ss + buf[p + 1]!;
    if (buf[p + 1]! >= 0x80 || se > e || se - ss < 11 || buf[ss] !== 0x09 || buf[ss + 9] !== 0x10) {
      break;
    }
    let q = ss + 10, lo = 0, hi = 0, c = 0x80, shift = 0;
    while (c >= 0x80 && q < se && shift < 56) {
      c = buf[q++]!;
      // Two 28-bit halves in integers (no powers computed per byte).
      if (shift < 28) lo |= (c & 0x7f) << shift;
      else hi |= (c & 0x7f) << (shift - 28);
      shift += 7;
    }
    if (c >= 0x80 || q !== se) break;
    ts[i] = hi * 0x10000000 + lo;
    vs[i++] = view.getFloat64(ss + 1, true);
    p = se;
  }
  rows.addedSamples(i);
  return p;
}

/** Decodes the labels of the TimeSeries in buf[s, e). */
function decodeSeries(
  buf: Uint8Array,
  s: number,
  e: number,
  key: string,
  len: number,
  words: Int32Array,
  w0: number,
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
        ln = intern(decodeUtf8(buf, a, r.lenEnd));
      } else if ((t >>> 3) === 2 && (t & 7) === LEN) {
        const a = r.len();
        lv = intern(decodeUtf8(buf, a, r.lenEnd));
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
  return {
    name,
    // An exact copy: pushing reserved room for ~17 strings.
    labels: labels.slice(),
    key,
    len,
    words,
    w0,
    hash,
    problem,
    problemValue,
    epoch: 0,
    j: 0,
    next: undefined,
    memo: undefined,
  };
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
