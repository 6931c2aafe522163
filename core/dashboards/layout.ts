/**
 * Panel layout on the 24-column grid, for the editor: where a drag ends up
 * (move or resize by whole cells, kept inside the grid) and how the other
 * panels make room so that no two overlap. Pure; the browser and tests use
 * it alike.
 *
 * @module
 */
import { GRID_COLUMNS } from "./constants.ts";
import type { GridPos } from "./schema.ts";

/** What a drag changes: the position, or the size from the bottom-right corner. */
export type DragMode = "move" | "resize";

/** Whether two grid rectangles share a cell. */
export function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * The grid position after dragging `start` by `dx` columns and `dy` rows:
 * a move keeps the size and stays within the columns; a resize keeps the
 * top-left corner, at least 1×1 and no wider than the grid.
 */
export function dragTarget(start: GridPos, mode: DragMode, dx: number, dy: number): GridPos {
  if (mode === "move") {
    return {
      x: Math.min(GRID_COLUMNS - start.w, Math.max(0, start.x + dx)),
      y: Math.max(0, start.y + dy),
      w: start.w,
      h: start.h,
    };
  }
  return {
    x: start.x,
    y: start.y,
    w: Math.min(GRID_COLUMNS - start.x, Math.max(1, start.w + dx)),
    h: Math.max(1, start.h + dy),
  };
}

/**
 * Puts panel `id` at `pos` and pushes any panel it would overlap further
 * down (top to bottom, so a pushed panel pushes the ones below it in turn).
 * Panels that do not collide keep their place; order and other fields are
 * kept. Returns new panel objects only where the position changed.
 */
export function placePanel<P extends { id: number; gridPos: GridPos }>(
  panels: readonly P[],
  id: number,
  pos: GridPos,
): P[] {
  const moved = panels.find((p) => p.id === id);
  if (!moved) throw new Error(`BUG: placePanel() got unknown panel id ${id}`);
  const placed: GridPos[] = [pos];
  const next = new Map<number, GridPos>([[id, pos]]);
  const others = panels.filter((p) => p.id !== id)
    .sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  for (const p of others) {
    let g = p.gridPos;
    for (
      let hit = placed.find((q) => overlaps(g, q));
      hit;
      hit = placed.find((q) => overlaps(g, q))
    ) {
      g = { ...g, y: hit.y + hit.h };
    }
    placed.push(g);
    next.set(p.id, g);
  }
  return panels.map((p) => {
    const g = next.get(p.id)!;
    const same = g.x === p.gridPos.x && g.y === p.gridPos.y && g.w === p.gridPos.w &&
      g.h === p.gridPos.h;
    return same ? p : { ...p, gridPos: g };
  });
}
