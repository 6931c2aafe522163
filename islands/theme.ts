/**
 * Chart colours: a palette that reads on light and dark backgrounds, and the
 * page's CSS variables read at draw time (the theme follows the browser).
 *
 * @module
 */

/** Series colours, in order. */
export const PALETTE = [
  "#3b82f6",
  "#22a06b",
  "#e5484d",
  "#d9822b",
  "#8e4ec6",
  "#0ea5a4",
  "#c2410c",
  "#db2777",
  "#65a30d",
  "#6b7280",
];

const NAMED: Record<string, string> = {
  green: "#22a06b",
  red: "#e5484d",
  orange: "#d9822b",
  yellow: "#e2b203",
  blue: "#3b82f6",
  purple: "#8e4ec6",
};

/** Maps a threshold colour name to a concrete colour. */
export function cssColor(c: string): string {
  return NAMED[c] ?? c;
}

/** Reads a CSS custom property of the document root (`--fg`), with a fallback. */
export function cssVar(name: string, fallback: string): string {
  if (typeof document === "undefined") return fallback;
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}
