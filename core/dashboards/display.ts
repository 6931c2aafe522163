/**
 * Where panels are drawn: rows (open or folded), repeated panels and rows,
 * and the vertical packing Grafana's grid applies. Pure and browser-safe
 * (no imports beyond types), so the server's first render and the browser
 * place panels alike.
 *
 * A dashboard is read as sections: the panels before the first row, then
 * each row with its members (the panels inside it when it was saved folded,
 * else the panels that follow it up to the next row). Sections are stacked
 * from the top in order; a folded row shows only its header. Inside a
 * section, panels keep their relative positions, and a repeated panel
 * becomes one copy per selected value of its variable (side by side,
 * `maxPerRow` at most, default 4, or stacked for `repeatDirection: "v"`),
 * pushing the panels below it down.
 *
 * @module
 */
import type { GridPos, NestedPanel, Panel } from "./schema.ts";

/** One panel as drawn. */
export interface DisplayPanel {
  /** Unique among drawn panels: the panel id, with `-r<i>` for repeat copies. */
  readonly key: string;
  readonly panel: NestedPanel;
  readonly gridPos: GridPos;
  /** Values of the repeat variable(s) for this copy. */
  readonly scoped: Readonly<Record<string, readonly string[]>>;
  /** For rows: whether the row is folded. */
  readonly collapsed?: boolean;
}

/** What the layout needs from the view. */
export interface DisplayOptions {
  /** Whether a row (by its key) is folded now; undefined keeps the saved state. */
  readonly folded?: (rowKey: string) => boolean | undefined;
  /** The values a repeat over variable `name` produces (All expanded); [] for none. */
  readonly repeatValues: (name: string) => readonly string[];
}

const GRID = 24;

interface Section {
  readonly row?: Panel;
  readonly members: NestedPanel[];
}

function sections(panels: readonly Panel[]): Section[] {
  const sorted = [...panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  const out: Section[] = [{ members: [] }];
  for (const p of sorted) {
    if (p.type === "row") out.push({ row: p, members: [...(p.panels ?? [])] });
    else out[out.length - 1]!.members.push(p);
  }
  return out;
}

/** Repeats panels of a section; positions stay relative to the section. */
function expandRepeats(
  members: readonly NestedPanel[],
  scoped: Readonly<Record<string, readonly string[]>>,
  keySuffix: string,
  opts: DisplayOptions,
): { panel: NestedPanel; pos: GridPos; scoped: Record<string, readonly string[]>; key: string }[] {
  const sorted = [...members].sort((a, b) =>
    a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x
  );
  const placed: {
    panel: NestedPanel;
    pos: GridPos;
    scoped: Record<string, readonly string[]>;
    key: string;
  }[] = [];
  let shift = 0;
  let shiftFrom = Infinity;
  for (const p of sorted) {
    const g = p.gridPos;
    const base = { ...g, y: g.y >= shiftFrom ? g.y + shift : g.y };
    const values = p.repeat && !(p.repeat in scoped) ? opts.repeatValues(p.repeat) : [];
    if (values.length <= 1) {
      const sc = values.length === 1 ? { ...scoped, [p.repeat!]: [values[0]!] } : { ...scoped };
      placed.push({ panel: p, pos: base, scoped: sc, key: `${p.id}${keySuffix}` });
      continue;
    }
    let bottom = base.y + base.h;
    if (p.repeatDirection === "v") {
      values.forEach((v, i) => {
        const pos = { ...base, y: base.y + i * base.h };
        bottom = pos.y + pos.h;
        placed.push({
          panel: p,
          pos,
          scoped: { ...scoped, [p.repeat!]: [v] },
          key: i === 0 ? `${p.id}${keySuffix}` : `${p.id}-r${i}${keySuffix}`,
        });
      });
    } else {
      const maxPerRow = p.maxPerRow ?? 4;
      const w = Math.max(1, Math.floor(Math.max(GRID / values.length, GRID / maxPerRow)));
      let x = 0, y = base.y;
      values.forEach((v, i) => {
        if (x + w > GRID) {
          x = 0;
          y += base.h;
        }
        placed.push({
          panel: p,
          pos: { x, y, w, h: base.h },
          scoped: { ...scoped, [p.repeat!]: [v] },
          key: i === 0 ? `${p.id}${keySuffix}` : `${p.id}-r${i}${keySuffix}`,
        });
        bottom = y + base.h;
        x += w;
      });
    }
    const grew = bottom - (base.y + base.h);
    if (grew > 0) {
      shift += grew;
      shiftFrom = Math.min(shiftFrom, g.y + g.h);
    }
  }
  return placed;
}

/** Moves each panel up as far as it goes without overlapping the ones above. */
function pack(items: { pos: GridPos }[], top: number): void {
  const done: GridPos[] = [];
  const hit = (g: GridPos) =>
    done.some((o) => g.x < o.x + o.w && o.x < g.x + g.w && g.y < o.y + o.h && o.y < g.y + g.h);
  for (const it of [...items].sort((a, b) => a.pos.y - b.pos.y || a.pos.x - b.pos.x)) {
    let g = it.pos;
    while (g.y > top && !hit({ ...g, y: g.y - 1 })) g = { ...g, y: g.y - 1 };
    while (hit(g)) g = { ...g, y: g.y + 1 };
    it.pos = g;
    done.push(g);
  }
}

/** The panels to draw, in order, with their positions. */
export function displayLayout(panels: readonly Panel[], opts: DisplayOptions): DisplayPanel[] {
  const out: DisplayPanel[] = [];
  let cursor = 0;
  for (const sec of sections(panels)) {
    const copies: { scoped: Record<string, readonly string[]>; suffix: string; title?: string }[] =
      [];
    const row = sec.row;
    const rowValues = row?.repeat ? opts.repeatValues(row.repeat) : [];
    if (row && row.repeat && rowValues.length > 0) {
      rowValues.forEach((v, i) =>
        copies.push({ scoped: { [row.repeat!]: [v] }, suffix: i === 0 ? "" : `-r${i}` })
      );
    } else copies.push({ scoped: {}, suffix: "" });

    for (const c of copies) {
      if (row) {
        const key = `${row.id}${c.suffix}`;
        const folded = opts.folded?.(key) ?? row.collapsed === true;
        out.push({
          key,
          panel: row,
          gridPos: { x: 0, y: cursor, w: GRID, h: 1 },
          scoped: c.scoped,
          collapsed: folded,
        });
        cursor += 1;
        if (folded) continue;
      }
      if (sec.members.length === 0) continue;
      const items = expandRepeats(
        sec.members,
        c.scoped,
        c.suffix ? `@${row!.id}${c.suffix}` : "",
        opts,
      );
      const minY = Math.min(...items.map((i) => i.pos.y));
      const shifted = items.map((i) => ({ ...i, pos: { ...i.pos, y: i.pos.y - minY + cursor } }));
      pack(shifted, cursor);
      for (const i of shifted) {
        out.push({ key: i.key, panel: i.panel, gridPos: i.pos, scoped: i.scoped });
        cursor = Math.max(cursor, i.pos.y + i.pos.h);
      }
    }
  }
  return out;
}

/**
 * A matcher's regular expression as Grafana reads it: `/body/flags` or a
 * bare pattern; undefined when it does not compile.
 */
export function matcherRegex(value: string): RegExp | undefined {
  const m = /^\/(.*)\/([gimsuy]*)$/s.exec(value);
  try {
    return m ? new RegExp(m[1]!, m[2]!.replace("g", "")) : new RegExp(value);
  } catch {
    return undefined;
  }
}

/** The display settings an override list gives a series named `name` (later ones win). */
export function overrideFor<
  O extends { matcher: { type: "name" | "regex"; value: string } },
>(name: string, overrides: readonly O[] | undefined): Partial<Omit<O, "matcher">> {
  let out: Partial<Omit<O, "matcher">> = {};
  for (const o of overrides ?? []) {
    let hit = false;
    if (o.matcher.type === "name") hit = o.matcher.value === name;
    else hit = matcherRegex(o.matcher.value)?.test(name) ?? false;
    if (hit) {
      const { matcher: _m, ...rest } = o;
      out = { ...out, ...rest };
    }
  }
  return out;
}
