/**
 * The browser entry of the light pages (home, lists, alerts, targets,
 * status): no chart library.
 */
import { hydrateAll } from "./_hydrate.ts";
import { ISLANDS } from "./registry.ts";

hydrateAll(ISLANDS);
