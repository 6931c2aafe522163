/**
 * Go's `Regexp.Expand`: the replacement syntax of PromQL's `label_replace`,
 * relabeling's `replacement`/`target_label` and templates' `reReplaceAll`.
 *
 * @module
 */

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Expands `$1`, `${1}`, `$name`, `${name}` and `$$` in `template`: a name is
 * the longest run of letters, digits and `_`; a number (no leading zero, at
 * most 8 digits) refers to a group by index, anything else by name; unknown
 * or unmatched groups give "". A malformed `$` stays as is.
 *
 * `group(i)` is the text of group `i`, `named(name)` of the group called
 * `name`; either is undefined for a group that does not exist or did not match.
 */
export function expandRegexp(
  template: string,
  group: (i: number) => string | undefined,
  named: (name: string) => string | undefined,
): string {
  if (!template.includes("$")) return template;
  let out = "";
  let i = 0;
  const n = template.length;
  while (i < n) {
    const d = template.indexOf("$", i);
    if (d < 0) break;
    out += template.slice(i, d);
    i = d + 1;
    if (i < n && template[i] === "$") {
      out += "$";
      i++;
      continue;
    }
    let j = i;
    const brace = j < n && template[j] === "{";
    if (brace) j++;
    const nameStart = j;
    while (j < n) {
      const ch = String.fromCodePoint(template.codePointAt(j)!);
      if (!NAME_CHAR.test(ch)) break;
      j += ch.length;
    }
    const name = template.slice(nameStart, j);
    if (name === "" || (brace && template[j] !== "}")) {
      out += "$"; // Malformed: the `$` is literal text.
      continue;
    }
    if (brace) j++;
    i = j;
    if (/^(0|[1-9][0-9]{0,7})$/.test(name)) out += group(Number(name)) ?? "";
    else if (!/^[0-9]+$/.test(name)) out += named(name) ?? ""; // Leading zero or too long: no group.
  }
  return out + template.slice(i);
}
