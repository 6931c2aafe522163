/**
 * The browser entry: hydrates every `[data-island]` element rendered by the
 * server with the component of that name and the props serialised beside it.
 */
import { h, hydrate } from "preact";
import { ISLANDS } from "./registry.ts";

function hydrateAll(): void {
  for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
    const name = el.dataset.island ?? "";
    const component = ISLANDS[name];
    if (!component) {
      console.error(`Unknown island ${name}`);
      continue;
    }
    const props = JSON.parse(el.dataset.props ?? "{}");
    hydrate(h(component, props), el);
  }
}

hydrateAll();
