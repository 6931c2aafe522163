/**
 * Templates in the notify config: Alertmanager's `templates` files, whose
 * `define` blocks every channel template can call, and the check that a
 * channel's template parses.
 *
 * @module
 */
import { globToRegExp, isGlob } from "../rules/mod.ts";
import { TemplateError, TemplateParseError } from "../template/mod.ts";
import { compileTemplate, parseDefinitions, type TemplateDefs } from "./template.ts";

/**
 * Alertmanager's `templates`: files (a glob in the last path segment, as
 * `/etc/alertmanager/templates/*.tmpl`) whose `define` blocks become callable
 * by every channel template. A glob matching nothing is no error.
 */
export function loadTemplates(
  patterns: readonly string[],
  io: { read: (path: string) => string; listDir: (dir: string) => string[] },
  errors: string[],
): TemplateDefs {
  const defs = new Map<string, unknown>();
  patterns.forEach((pattern, i) => {
    const at = `templates[${i}]`;
    let files = [pattern];
    if (isGlob(pattern)) {
      const slash = pattern.lastIndexOf("/");
      const dir = slash < 0 ? "." : pattern.slice(0, slash) || "/";
      if (isGlob(dir)) {
        errors.push(`${at}: a glob is supported in the file name only, not in directories`);
        return;
      }
      const re = globToRegExp(pattern.slice(slash + 1));
      try {
        files = io.listDir(dir).filter((n) => re.test(n)).sort().map((n) =>
          dir === "." ? n : `${dir.replace(/\/$/, "")}/${n}`
        );
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) files = [];
        else {
          errors.push(`${at}: cannot list ${JSON.stringify(dir)}: ${(e as Error).message}`);
          return;
        }
      }
    }
    for (const f of files) {
      let text: string;
      try {
        text = io.read(f);
      } catch (e) {
        errors.push(`${at}: cannot read ${JSON.stringify(f)}: ${(e as Error).message}`);
        continue;
      }
      try {
        for (const [name, body] of parseDefinitions(text)) defs.set(name, body);
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        errors.push(`${at}: ${f}: cannot parse template: ${templateProblem(e)}`);
      }
    }
  });
  return defs;
}

export function checkTemplate(path: string, src: string, errors: string[]): void {
  try {
    compileTemplate(src);
  } catch (e) {
    if (e instanceof TemplateError) {
      errors.push(`${path}: cannot parse template: ${templateProblem(e)}`);
    } else throw e;
  }
}

/** A parse problem with its place (`at char 3: function "x" not defined`). */
function templateProblem(e: TemplateError): string {
  return e instanceof TemplateParseError ? `at char ${e.offset}: ${e.detail}` : e.message;
}
