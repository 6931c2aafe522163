/**
 * Pointer tracking for dragging panels on the dashboard grid: turns pointer
 * movement into whole grid cells (columns and rows, gaps included) and
 * reports the end of the drag. Escape cancels. Works for mouse, pen and
 * touch (the handles set `touch-action: none`).
 *
 * @module
 */

/** Follows a drag that started with `e` until the pointer is released. */
export function trackGridDrag(
  e: PointerEvent,
  grid: HTMLElement,
  columns: number,
  rowPx: number,
  onMove: (dx: number, dy: number) => void,
  onEnd: (commit: boolean) => void,
): void {
  const handle = e.currentTarget as HTMLElement;
  const css = getComputedStyle(grid);
  const colGap = parseFloat(css.columnGap) || 0;
  const rowGap = parseFloat(css.rowGap) || 0;
  const colW = (grid.getBoundingClientRect().width + colGap) / columns;
  const rowH = rowPx + rowGap;
  const x0 = e.clientX;
  const y0 = e.clientY;
  let last = "0,0";
  handle.setPointerCapture(e.pointerId);
  const move = (ev: PointerEvent) => {
    if (ev.pointerId !== e.pointerId) return;
    const dx = Math.round((ev.clientX - x0) / colW);
    const dy = Math.round((ev.clientY - y0) / rowH);
    if (`${dx},${dy}` === last) return;
    last = `${dx},${dy}`;
    onMove(dx, dy);
  };
  const done = (commit: boolean) => {
    handle.removeEventListener("pointermove", move);
    handle.removeEventListener("pointerup", up);
    handle.removeEventListener("pointercancel", cancel);
    removeEventListener("keydown", key);
    if (handle.hasPointerCapture(e.pointerId)) handle.releasePointerCapture(e.pointerId);
    onEnd(commit);
  };
  const up = (ev: PointerEvent) => ev.pointerId === e.pointerId && done(true);
  const cancel = (ev: PointerEvent) => ev.pointerId === e.pointerId && done(false);
  const key = (ev: KeyboardEvent) => ev.key === "Escape" && done(false);
  handle.addEventListener("pointermove", move);
  handle.addEventListener("pointerup", up);
  handle.addEventListener("pointercancel", cancel);
  addEventListener("keydown", key);
}
