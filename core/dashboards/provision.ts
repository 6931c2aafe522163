/**
 * Provisioning: the built-in overview and every `*.json` dashboard of a
 * configured directory are written into the store at start. A provisioned
 * dashboard is replaced when its file changes; a dashboard a user saved
 * from the UI (source `user`) is never overwritten.
 *
 * @module
 */
import { OVERVIEW_DASHBOARD } from "./overview.ts";
import type { DashboardSource, DashboardStore } from "./store.ts";
import { validateDashboard } from "./validate.ts";

/** What one provisioning run did. */
export interface ProvisionReport {
  /** Ids written or refreshed. */
  readonly loaded: string[];
  /** Ids skipped because a user edited them. */
  readonly kept: string[];
  /** Problems by file, each field error on its own line. */
  readonly errors: { file: string; message: string }[];
}

/** Reads a directory's JSON files; an adapter so tests need no disk. */
export interface ProvisionSource {
  /** File names (not paths) in the directory; empty when it does not exist. */
  list(): Promise<string[]>;
  read(name: string): Promise<string>;
}

/** A {@linkcode ProvisionSource} over a real directory. */
export function dirSource(dir: string): ProvisionSource {
  return {
    async list() {
      const names: string[] = [];
      try {
        for await (const e of Deno.readDir(dir)) {
          if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
        }
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return [];
        throw e;
      }
      return names.sort();
    },
    read: (name) => Deno.readTextFile(`${dir}/${name}`),
  };
}

async function upsert(
  store: DashboardStore,
  doc: unknown,
  source: DashboardSource,
  report: ProvisionReport,
  file: string,
): Promise<void> {
  const r = validateDashboard(doc);
  if (!r.ok) {
    for (const e of r.errors) report.errors.push({ file, message: `${e.path}: ${e.message}` });
    return;
  }
  const cur = await store.getStored(r.dashboard.id);
  if (cur && cur.source === "user") {
    report.kept.push(r.dashboard.id);
    return;
  }
  if (cur && sameContent(cur.dashboard, r.dashboard)) {
    report.loaded.push(r.dashboard.id);
    return;
  }
  await store.put(r.dashboard.id, { ...r.dashboard, version: 0 }, source);
  report.loaded.push(r.dashboard.id);
}

function sameContent(a: object, b: object): boolean {
  const strip = (d: object) => JSON.stringify({ ...d, version: 0 });
  return strip(a) === strip(b);
}

/** Writes the built-in overview and the directory's dashboards into `store`. */
export async function provisionDashboards(
  store: DashboardStore,
  source?: ProvisionSource,
): Promise<ProvisionReport> {
  const report: ProvisionReport = { loaded: [], kept: [], errors: [] };
  await upsert(store, OVERVIEW_DASHBOARD, "builtin", report, "(builtin)");
  if (!source) return report;
  for (const name of await source.list()) {
    let doc: unknown;
    try {
      doc = JSON.parse(await source.read(name));
    } catch (e) {
      report.errors.push({ file: name, message: `cannot read JSON: ${(e as Error).message}` });
      continue;
    }
    await upsert(store, doc, "provisioned", report, name);
  }
  return report;
}
