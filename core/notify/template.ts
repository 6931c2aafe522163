/**
 * Notification templates: Alertmanager's dialect of the one template engine
 * (`core/template`), with the built-in default templates and the config's
 * template files callable by `{{ template "name" . }}` from every channel
 * template.
 *
 * @module
 */
import {
  parseNotificationTemplate,
  renderNotificationTemplate,
  type Template as Parsed,
  toGoValue,
} from "../template/mod.ts";

/** A compiled template. */
export interface Template {
  /** Renders against `data`; throws TemplateError. `html` escapes output values. */
  render(data: unknown, opts?: { html?: boolean }): string;
}

/** Named templates parsed from template files (opaque). */
export type TemplateDefs = ReadonlyMap<string, unknown>;

/**
 * The built-in defaults (`__subject`, `slack.default.title`, ...): their source
 * until first called, then parsed (Perch defines them as it starts).
 */
const defined = new Map<string, Parsed | string>();
/** Templates from the config's template files; they may override the built-in ones. */
let userDefined: ReadonlyMap<string, Parsed> = new Map();

function lookup(name: string): Parsed | undefined {
  const d = userDefined.get(name) ?? defined.get(name);
  if (typeof d !== "string") return d;
  const t = parseNotificationTemplate(d);
  defined.set(name, t);
  return t;
}

/**
 * Parses a template file's `{{ define "name" }}...{{ end }}` blocks; text
 * outside them is ignored, as Alertmanager does. Throws TemplateError.
 */
export function parseDefinitions(src: string): TemplateDefs {
  return parseNotificationTemplate(src).defs;
}

/** Makes `defs` (of the config in force) callable by `{{ template "name" . }}` everywhere. */
export function useTemplates(defs: TemplateDefs): void {
  userDefined = defs as ReadonlyMap<string, Parsed>;
}

/** Compiles a template; throws TemplateError on syntax errors. */
export function compileTemplate(src: string): Template {
  const t = parseNotificationTemplate(src);
  return {
    render(data: unknown, opts: { html?: boolean } = {}): string {
      return renderNotificationTemplate(t, toGoValue(data), { html: opts.html, lookup });
    },
  };
}

/**
 * Registers a named template usable through `{{ template "name" . }}`
 * everywhere; it is parsed when first called.
 */
export function defineTemplate(name: string, src: string): void {
  defined.set(name, src);
}
