/**
 * `state.kv`: dashboards, silences, alert state, the notification queue and
 * run-time scrape targets. It is opened checked (every entry read); a damaged
 * file is moved to `quarantine/state.kv.<time>` and the state is restored
 * from `state.snapshot.kv`, a copy written atomically every
 * `snapshotIntervalMs` and at a clean stop (one kept), or started empty when
 * there is no good snapshot. Both outcomes are storage incidents.
 *
 * @module
 */
import { copyKv, exportKv } from "./remote/mod.ts";
import { fsyncDir, IncidentLog, openCheckedKv } from "./tsdb/mod.ts";
import { type Basics, type Component, started } from "./lifecycle.ts";

/** The state KV file in the data dir. */
export const STATE_KV_FILE = "state.kv";
/** The last good copy of it. */
export const STATE_SNAPSHOT_FILE = "state.snapshot.kv";

/** Options of {@linkcode openStateKv}. */
export interface StateKvOptions {
  dataDir: string;
  incidents: IncidentLog;
  /** @default 10 min; 0 = only at stop */
  snapshotIntervalMs?: number;
  /** Delay of the first snapshot when there is none yet. @default 5 s */
  firstSnapshotDelayMs?: number;
  now?: () => number;
  log?: (level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>) => void;
}

/** An open state KV with its snapshot schedule. */
export interface StateKv {
  readonly kv: Deno.Kv;
  /** Writes the snapshot now (temp file, renamed over the previous one). */
  snapshot(): Promise<void>;
  /** Stops the schedule, writes a last snapshot and closes the KV. */
  close(): Promise<void>;
}

const SIDE = ["", "-wal", "-shm"];

async function removeKvFiles(path: string): Promise<void> {
  for (const s of SIDE) await Deno.remove(path + s).catch(() => {});
}

/** Opens `state.kv` (restoring or emptying a damaged one) and starts its snapshots. */
export async function openStateKv(o: StateKvOptions): Promise<StateKv> {
  const now = o.now ?? Date.now;
  const dir = o.dataDir;
  const snapPath = `${dir}/${STATE_SNAPSHOT_FILE}`;
  const { kv, fresh } = await openCheckedKv(dir, STATE_KV_FILE, {
    incidents: o.incidents,
    now,
    consequence: "State (dashboards, silences, alert state, notification queue, run-time " +
      "targets) is restored from the last snapshot when there is a good one.",
    journal: true,
    log: o.log,
  });
  if (fresh) await restore(kv, snapPath, o, now);

  let chain: Promise<unknown> = Promise.resolve();
  const snapshot = (): Promise<void> => {
    const p = chain.then(async () => {
      const tmp = `${snapPath}.tmp`;
      await removeKvFiles(tmp);
      await exportKv(kv, tmp);
      for (const s of ["-wal", "-shm"]) await Deno.remove(tmp + s).catch(() => {});
      await Deno.rename(tmp, snapPath);
      await fsyncDir(dir);
    });
    chain = p.catch((e) => o.log?.("warn", "state snapshot failed", { error: String(e) }));
    return p;
  };
  const every = o.snapshotIntervalMs ?? 600_000;
  let timer: ReturnType<typeof setInterval> | undefined;
  if (every > 0) {
    timer = setInterval(() => snapshot().catch(() => {}), every);
    Deno.unrefTimer(timer as unknown as number);
  }
  // A young data dir gets its first snapshot a little after start (not while
  // Perch is getting ready).
  let first: ReturnType<typeof setTimeout> | undefined;
  try {
    await Deno.stat(snapPath);
  } catch {
    first = setTimeout(() => snapshot().catch(() => {}), o.firstSnapshotDelayMs ?? 5_000);
    Deno.unrefTimer(first as unknown as number);
  }
  return {
    kv,
    snapshot,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      if (first !== undefined) clearTimeout(first);
      await snapshot().catch(() => {});
      await chain;
      kv.close();
    },
  };
}

async function restore(
  kv: Deno.Kv,
  snapPath: string,
  o: StateKvOptions,
  now: () => number,
): Promise<void> {
  let taken: Date | null = null;
  try {
    taken = (await Deno.stat(snapPath)).mtime;
  } catch { /* no snapshot */ }
  if (taken) {
    let snap: Deno.Kv | undefined;
    try {
      snap = await Deno.openKv(snapPath);
      const n = await copyKv(snap, kv);
      o.incidents.add({
        id: `state_restored:${now()}`,
        kind: "state_restored",
        file: STATE_KV_FILE,
        message: `state.kv was restored from its snapshot of ${taken.toISOString()} ` +
          `(${n} entries); changes after that time are lost`,
        records: n,
      });
      o.log?.("warn", "state restored from snapshot", { entries: n, taken: taken.toISOString() });
      return;
    } catch (e) {
      o.log?.("error", "state snapshot unreadable", { error: String(e) });
      // Drop what a partial copy wrote: start empty rather than half-restored.
      for await (const x of kv.list({ prefix: [] })) await kv.delete(x.key);
    } finally {
      snap?.close();
    }
  }
  o.incidents.add({
    id: `state_emptied:${now()}`,
    kind: "state_emptied",
    file: STATE_KV_FILE,
    message: "state.kv started empty (no readable snapshot): dashboards, silences, alert " +
      "state, queued notifications and run-time targets are lost; provisioned dashboards and " +
      "rules come back from their files",
  });
}

/** What the state component offers the components after it. */
export interface StateComponent extends Component<unknown, unknown> {
  /** The open `state.kv` (after start). */
  readonly kv: Deno.Kv;
}

/**
 * The state component: `state.kv` for everything that is not samples (key
 * layouts in STATE_KV.md), checked at open and restored from its snapshot
 * when damaged.
 */
export function stateComponent(
  deps: Pick<Basics, "logger"> & {
    readonly storage: { readonly dataDir: string; readonly incidents: IncidentLog };
  },
): StateComponent {
  let state: StateKv | undefined;
  const recoveryLog = deps.logger.child("recovery");
  return {
    name: "state",
    async start() {
      state = await openStateKv({
        dataDir: deps.storage.dataDir,
        incidents: deps.storage.incidents,
        log: (level, msg, fields) => recoveryLog.log(level, msg, fields),
      });
    },
    async stop() {
      await state?.close();
    },
    get kv() {
      return started("state.kv", state).kv;
    },
  };
}
