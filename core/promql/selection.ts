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
  /** 1 where the sample is a staleness marker. */
  stale: Uint8Array;
  /** Samples without stale markers, built on first use by range selectors. */
  clean?: { t: Float64Array; v: Float64Array };
  /** Native histogram samples, when the series has any. */
  hist?: HistData;
}

/** A fetched series as the evaluator reads it (`statsOnly`: histograms without buckets). */
export function toSelData(s: SeriesData, statsOnly: boolean): SelData {
  const n = s.v.length;
  const stale = new Uint8Array(n);
  // Check the bit pattern through a Uint32 view: JS numbers do not keep NaN payloads.
  const words = new Uint32Array(s.v.buffer, s.v.byteOffset, n * 2);
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const hiIdx = little ? 1 : 0, loIdx = little ? 0 : 1;
  for (let i = 0; i < n; i++) {
    if (words[2 * i + hiIdx] === 0x7ff00000 && words[2 * i + loIdx] === 2) stale[i] = 1;
  }
  const hist = histData(s, statsOnly);
  return hist
    ? { labels: s.labels, t: s.t, v: s.v, stale, hist }
    : { labels: s.labels, t: s.t, v: s.v, stale };
}

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
    if (t <= evalT - lookback || (useH ? h.stale[jh] : s.stale[jf])) continue;
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
export function cleanSeries(s: SelData): { t: Float64Array; v: Float64Array } {
  if (s.clean) return s.clean;
  let n = 0;
  for (let i = 0; i < s.stale.length; i++) if (!s.stale[i]) n++;
  if (n === s.t.length) {
    s.clean = { t: s.t, v: s.v };
    return s.clean;
  }
  const t = new Float64Array(n), v = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < s.t.length; i++) {
    if (s.stale[i]) continue;
    t[k] = s.t[i]!;
    v[k] = s.v[i]!;
    k++;
  }
  s.clean = { t, v };
  return s.clean;
}
