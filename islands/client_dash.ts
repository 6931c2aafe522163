/**
 * The browser entry of the chart pages (dashboard view, explore): includes
 * uPlot.
 */
import { hydrateAll } from "./_hydrate.ts";
import { DASH_ISLANDS } from "./registry_dash.ts";

hydrateAll(DASH_ISLANDS);
