/**
 * Renders a channel's templates; a template that fails falls back to plain
 * text and the reason is logged.
 *
 * @module
 */
import type { Logger } from "../../logging/mod.ts";
import { commonLabels, type Notification } from "../notification.ts";
import { compileTemplate, type Template } from "../template.ts";

const cache = new Map<string, Template>();

/** Plain-text summary used when a template fails. */
export function plainText(n: Notification): string {
  const lines = [`[${n.status.toUpperCase()}] ${commonLabels(n).alertname ?? n.groupKey}`];
  for (const a of n.alerts) {
    const labels = Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(" ");
    const summary = a.annotations.summary ?? a.annotations.description ?? "";
    lines.push(`- ${a.status}: ${labels}${summary ? ` \u2014 ${summary}` : ""}`);
  }
  return lines.join("\n");
}

/** Renders `src` against `data`; on failure logs why and returns `fallback`. */
export function renderOr(
  src: string,
  data: unknown,
  fallback: string,
  log: Logger,
  field: string,
  opts: { html?: boolean } = {},
): string {
  if (src === "") return "";
  try {
    let t = cache.get(src);
    if (!t) {
      t = compileTemplate(src);
      if (cache.size > 500) cache.clear();
      cache.set(src, t);
    }
    return t.render(data, opts);
  } catch (e) {
    log.warn("template failed, sending plain text", {
      field,
      error: e instanceof Error ? e.message : String(e),
    });
    return fallback;
  }
}
