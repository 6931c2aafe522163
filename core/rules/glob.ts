/**
 * Globs for `rule_files`: `*` and `?` within one path segment, `**` across
 * segments, `[abc]`/`[a-z]`/`[!a]` classes. Matching walks only the
 * directory below the pattern's literal prefix.
 *
 * @module
 */

/** True when `pattern` has glob characters. */
export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** Compiles a glob into an anchored RegExp over `/`-separated paths. */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        // `**/` matches zero or more directories; a trailing `**` matches anything.
        if (pattern[i + 2] === "/") {
          re += "(?:[^/]*/)*";
          i += 2;
        } else {
          re += ".*";
          i += 1;
        }
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        const neg = body.startsWith("!") || body.startsWith("^");
        if (neg) body = body.slice(1);
        re += `[${neg ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** The directory part of a pattern before its first glob character. */
function literalDir(pattern: string): string {
  const first = pattern.search(/[*?[]/);
  const upTo = pattern.lastIndexOf("/", first);
  return upTo < 0 ? "." : upTo === 0 ? "/" : pattern.slice(0, upTo);
}

async function walk(dir: string, out: string[], depth: number): Promise<void> {
  if (depth > 32) return;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return;
    throw e;
  }
  for (const e of entries) {
    const p = dir === "." ? e.name : dir.endsWith("/") ? dir + e.name : `${dir}/${e.name}`;
    if (e.isDirectory) await walk(p, out, depth + 1);
    else if (e.isFile || e.isSymlink) out.push(p);
  }
}

/**
 * Expands patterns into sorted, de-duplicated paths. A pattern without glob
 * characters is returned as is (a missing file is the loader's error); a glob
 * that matches nothing gives nothing, as in Prometheus.
 */
export async function expandGlobs(patterns: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const pattern of patterns) {
    if (!isGlob(pattern)) {
      out.add(pattern);
      continue;
    }
    const re = globToRegExp(pattern.replace(/^\.\//, ""));
    const files: string[] = [];
    await walk(literalDir(pattern.replace(/^\.\//, "")), files, 0);
    for (const f of files) if (re.test(f)) out.add(f);
  }
  return [...out].sort();
}
