/**
 * Perch's composition root: the components in start order and the flags.
 * Each component (its `mod.ts` factory) owns its config section, metrics,
 * health checks and reload; `Lifecycle` starts them in order, reloads them
 * all-or-nothing and stops them in reverse on SIGINT/SIGTERM.
 *
 * @module
 */
import { authComponent } from "./core/auth/mod.ts";
import {
  type Config,
  configDir,
  ConfigError,
  flagOverrides,
  HELP,
  parseFlags,
} from "./core/config/mod.ts";
import { dashboardsComponent } from "./core/dashboards/mod.ts";
import { HostCollector, hostJobs } from "./core/hostmetrics/mod.ts";
import { graphiteComponent, pipelineComponent, pushComponent } from "./core/ingest/mod.ts";
import { type Component, untilStopped } from "./core/lifecycle.ts";
import { liveComponent } from "./core/live/mod.ts";
import { logComponent } from "./core/logging/mod.ts";
import { PublicAddress } from "./core/net/mod.ts";
import { notifyComponent } from "./core/notify/mod.ts";
import { queryComponent } from "./core/promql/mod.ts";
import { remoteWriteComponent } from "./core/remote/mod.ts";
import { rulesComponent } from "./core/rules/mod.ts";
import {
  type BuildComponents,
  checkConfig,
  type Perch,
  type PerchOptions,
  startRuntime,
} from "./core/runtime.ts";
import { scrapeComponent } from "./core/scrape/mod.ts";
import { memoryGuardComponent } from "./core/selfmon/mod.ts";
import { stateComponent } from "./core/state_kv.ts";
import { storageComponent } from "./core/tsdb/mod.ts";
import { VERSION } from "./core/version.ts";
import { perchRoutes } from "./routes/mount.ts";
import { httpComponent } from "./routes/server.ts";

/** Perch's components in start order: storage -> query -> ingest/scrape -> rules/notify -> HTTP. */
const perchComponents: BuildComponents = (b, config, source, info) => {
  const dir = configDir(source.configPath);
  const address = new PublicAddress(config);
  const host = new HostCollector();
  const storage = storageComponent(b);
  const remote = remoteWriteComponent({ ...b, storage });
  const appender = () => remote.appender;
  // The memory guard (below) reclaims memory once queries and ingest are quiet.
  const query = queryComponent({ ...b, storage, onQueryEnd: (n) => memory.queryEnded(n) });
  const engine = () => query.engine;
  const pipeline = pipelineComponent({
    ...b,
    appender,
    seriesIndex: () => storage.db,
    onIngest: (n) => memory.ingested(n),
  });
  const state = stateComponent({ ...b, storage });
  const kv = () => state.kv;
  const push = pushComponent({ ...b, kv, pipeline });
  const scrape = scrapeComponent({
    ...b,
    appendRows: (rows, protocol) => pipeline.handle.ingest(protocol, rows),
    kv,
    selfMetrics: () => b.registry.collect(),
    address,
    configDir: dir,
    inProcessJobs: (c) => hostJobs(c.host_metrics, c.self_scrape.interval, host),
  });
  const externalURL = () => address.externalURL();
  const notify = notifyComponent({ ...b, kv, externalURL, configDir: dir });
  const sink = () => notify.notifier.sink;
  const rules = rulesComponent({ ...b, kv, engine, appender, sink, configDir: dir });
  const dashboards = dashboardsComponent({ ...b, kv, configDir: dir });
  const live = liveComponent({ ...b, engine });
  const memory = memoryGuardComponent(b);
  const listenHostname = () => address.listen.hostname;
  const auth = authComponent({ ...b, dataDir: () => storage.dataDir, listenHostname });
  const parts = { storage, query, pipeline, push, state, scrape, notify, rules, dashboards, live };
  const http = httpComponent({
    ...b,
    address,
    tls: () => auth.tls,
    app: () => perchRoutes(b, info!, { ...parts, memory, auth }),
  });
  const graphite = graphiteComponent({ ...b, pipeline });
  const list: Component<Config>[] = [logComponent(b.logger), storage, remote, query, pipeline];
  list.push(state, graphite, push, scrape, notify, rules, dashboards, live, memory, auth, http);
  return { list, addr: () => http.addr };
};

/** Starts Perch; throws {@linkcode ConfigError} for a bad config. */
export function startPerch(options: PerchOptions = {}): Promise<Perch> {
  return startRuntime(options, perchComponents);
}

async function main(): Promise<number> {
  let v;
  try {
    v = parseFlags(Deno.args);
  } catch (e) {
    console.error(`perch: ${e instanceof Error ? e.message : e}\n\n${HELP}`);
    return 2;
  }
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  if (v.version) {
    console.log(`perch ${VERSION} (deno ${Deno.version.deno})`);
    return 0;
  }
  const env = Deno.env.toObject();
  const source = { configPath: v.config ?? env.PERCH_CONFIG, env, flags: flagOverrides(v) };
  if (v["check-config"]) return await checkConfig(source, perchComponents);

  let perch: Perch;
  try {
    perch = await startPerch(source);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 1;
    }
    console.error(`perch: cannot start: ${e instanceof Error ? e.stack ?? e.message : e}`);
    return 1;
  }

  return await untilStopped(perch) ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main());
}
