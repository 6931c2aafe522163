/**
 * Hydrates every `[data-island]` element rendered by the server with the
 * component of that name from `islands` and the props serialised beside it.
 *
 * @module
 */
import { type ComponentType, h, hydrate } from "preact";

/** Hydrates the page's islands from a name -> component table. */
// deno-lint-ignore no-explicit-any
export function hydrateAll(islands: Record<string, ComponentType<any>>): void {
  for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
    const name = el.dataset.island ?? "";
    const component = islands[name];
    if (!component) {
      console.error(`Unknown island ${name}`);
      continue;
    }
    const props = JSON.parse(el.dataset.props ?? "{}");
    hydrate(h(component, props), el);
  }
}
