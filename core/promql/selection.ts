/**
 * Selected series as the evaluator holds them: floats with their staleness
 * markers flagged, native histograms apart (with the hints of
 * `histogram_select.ts`), and the instant lookup over both kinds.
 *
 * @module
 */
import type { Labels, SeriesData } from "../model/mod.ts";
import type { FloatHistogram } from "./float_histogram.ts";
import { type HistData, histData } from "./histogram_select.ts";
import type { ESample } from "./value.ts";

/** Fetched data for one selector. */
export interface SelData {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
  /** 1 where the sample is a staleness marker; absent when none is. */
  stale?: Uint8Array;
  /** Raw samples per point (SeriesData `counts`); absent: one each. */
  counts?: Float64Array;
  /** Samples without stale markers, built on first use by range selectors. */
  clean?: { t: Float64Array; v: Float64Array; counts?: Float64Array };
  /** Native histogram samples, when the series has any. */
  hist?: HistData;
}

/** A fetched series as the evaluator reads it (`statsOnly`: histograms without buckets). */
export function toSelData(s: SeriesData, statsOnly: boolean): SelData {
  const v = s.v, n = v.length;
  let stale: Uint8Array | undefined;
  // NaNs are rare: only they need the bit pattern (through a Uint32 view, as
  // JS numbers do not keep NaN payloads).
  let words: Uint32Array | undefined;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (x === x) continue;
    words ??= new Uint32Array(v.buffer, v.byteOffset, n * 2);
    if (words[2 * i + HI_WORD] === 0x7ff00000 && words[2 * i + LO_WORD] === 2) {
      (stale ??= new Uint8Array(n))[i] = 1;
    }
  }
  const d: SelData = { labels: s.labels, t: s.t, v };
  if (stale) d.stale = stale;
  if (s.counts) d.counts = s.counts;
  const hist = histData(s, statsOnly);
  if (hist) d.hist = hist;
  return d;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Index of a float64's high and low 32-bit words in a Uint32Array view. */
const HI_WORD = LITTLE_ENDIAN ? 1 : 0, LO_WORD = LITTLE_ENDIAN ? 0 : 1;

/**
 * An instant selector over a series with native histograms: at each step the
 * latest sample, float or histogram, within the lookback; a staleness marker
 * of either kind ends the series. Returns the number of samples pushed.
 */
export function selectMixed(
  s: SelData,
  h: HistData,
  ts: Float64Array,
  at: number | undefined,
  offset: number,
  lookback: number,
  steps: ESample[][],
): number {
  let jf = -1, jh = -1, n = 0;
  const ft = s.t, ht = h.t;
  for (let i = 0; i < ts.length; i++) {
    const evalT = (at ?? ts[i]!) - offset;
    while (jf + 1 < ft.length && ft[jf + 1]! <= evalT) jf++;
    while (jh + 1 < ht.length && ht[jh + 1]! <= evalT) jh++;
    if (jf < 0 && jh < 0) continue;
    const useH = jh >= 0 && (jf < 0 || ht[jh]! >= ft[jf]!);
    const t = useH ? ht[jh]! : ft[jf]!;
    if (t <= evalT - lookback || (useH ? h.stale[jh] : s.stale?.[jf])) continue;
    steps[i]!.push(
      useH
        ? { labels: s.labels, v: 0, h: h.h[jh]!, dropName: false, t }
        : { labels: s.labels, v: s.v[jf]!, dropName: false, t },
    );
    n++;
  }
  return n;
}

/** What a histogram counts towards the sample limit, as Prometheus (16 bytes a sample). */
export function histSamples(h: FloatHistogram): number {
  return Math.floor((h.size() + 8) / 16);
}

/** Samples of a fetched series without stale markers. */
export function cleanSeries(s: SelData): NonNullable<SelData["clean"]> {
  if (s.clean) return s.clean;
  const stale = s.stale;
  if (!stale) return s.clean = s.counts ? { t: s.t, v: s.v, counts: s.counts } : { t: s.t, v: s.v };
  let n = 0;
  for (let i = 0; i < stale.length; i++) if (!stale[i]) n++;
  const t = new Float64Array(n), v = new Float64Array(n);
  const counts = s.counts && new Float64Array(n);
  let k = 0;
  for (let i = 0; i < s.t.length; i++) {
    if (stale[i]) continue;
    t[k] = s.t[i]!;
    v[k] = s.v[i]!;
    if (counts) counts[k] = s.counts![i]!;
    k++;
  }
  s.clean = counts ? { t, v, counts } : { t, v };
  return s.clean;
}
