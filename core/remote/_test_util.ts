/**
 * Test helpers: a fake remote write receiver on loopback, a temp DB, and
 * remote write from one to the other with fast test settings.
 *
 * @module
 */
import { parseRemoteWrite, snappyDecode } from "../ingest/mod.ts";
import {
  type Labels,
  labelsKey,
  type NativeHistogram,
  SampleBatch,
  toLabels,
} from "../model/mod.ts";
import { silentLogger } from "../logging/mod.ts";
import type { DB } from "../tsdb/mod.ts";
import { tempDB } from "../tsdb/mod_testing.ts";
import { parseRemoteWriteConfigs, type RemoteWriteConfig } from "./config.ts";
import { RemoteWriteManager, type RemoteWriteOptions } from "./manager.ts";

/** A receiver that records every sample, with a switchable answer. */
export interface FakeReceiver {
  readonly url: string;
  /**
   * Samples received per series key (`name{a="b"}`), in arrival order; a
   * native histogram sample has `h` (and `v` 0).
   */
  readonly samples: Map<string, { t: number; v: number; h?: NativeHistogram }[]>;
  /** Status to answer with next (200 by default). */
  status: number;
  requests: number;
  total(): number;
  close(): Promise<void>;
}

/** Starts a fake receiver on 127.0.0.1. */
export function fakeReceiver(): Promise<FakeReceiver> {
  const samples = new Map<string, { t: number; v: number; h?: NativeHistogram }[]>();
  const r = {
    url: "",
    samples,
    status: 200,
    requests: 0,
    total() {
      let n = 0;
      for (const l of samples.values()) n += l.length;
      return n;
    },
    close: async () => {},
  };
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: (a) => {
        r.url = `http://127.0.0.1:${a.port}/api/v1/write`;
        r.close = () => server.shutdown();
        resolve(r);
      },
    }, async (req) => {
      r.requests++;
      const body = new Uint8Array(await req.arrayBuffer());
      if (r.status !== 200) return new Response("injected failure", { status: r.status });
      const rows = parseRemoteWrite(snappyDecode(body));
      for (let i = 0; i < rows.sampleCount; i++) {
        const j = rows.sampleSeries[i]!;
        const pairs = rows.seriesLabels[j]!;
        const map: Record<string, string> = {};
        for (let k = 0; k < pairs.length; k += 2) map[pairs[k]!] = pairs[k + 1]!;
        const key = seriesText(toLabels(rows.seriesName[j]!, map));
        let l = samples.get(key);
        if (!l) samples.set(key, l = []);
        const h = rows.sampleH?.get(i);
        l.push({ t: rows.sampleT[i]!, v: rows.sampleV[i]!, ...(h ? { h } : {}) });
      }
      return new Response(null, { status: 204 });
    });
  });
}

/** `name{a="b",...}` of canonical labels. */
export function seriesText(labels: Labels): string {
  const name = labels.find((l) => l.name === "__name__")?.value ?? "";
  const rest = labels.filter((l) => l.name !== "__name__").map((l) => `${l.name}="${l.value}"`);
  return `${name}{${rest.join(",")}}`;
}

/** A batch of samples for series `name{i="<k>"}`, k < nSeries, at the given times. */
export function batchOf(
  name: string,
  nSeries: number,
  times: readonly number[],
  value: (k: number, t: number) => number = (k, t) => k * 1e6 + t / 1000,
): SampleBatch {
  const b = new SampleBatch();
  for (let k = 0; k < nSeries; k++) {
    const labels = toLabels(name, { i: String(k) });
    const ref = b.addSeries(labels, labelsKey(labels));
    for (const t of times) b.add(ref, t, value(k, t));
  }
  return b;
}

/** Polls `cond` every 20 ms until true or `timeoutMs` passes. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Queue settings that keep tests fast: short deadlines and backoffs, no settle delay or rate limit. */
const TEST_QUEUE = {
  batch_send_deadline: "50ms",
  settle_delay: "0s",
  min_backoff: "5ms",
  max_backoff: "40ms",
  max_rate: 0,
};

/**
 * One endpoint, `peer`, sending to `url` without metadata, with the test
 * queue settings and `queue` over them; `extra` adds endpoint settings (its
 * `queue_config` merged over the queue settings).
 */
export function peerConfigs(
  url: string,
  extra: Record<string, unknown> = {},
  queue: Record<string, unknown> = {},
): RemoteWriteConfig[] {
  const { queue_config, ...rest } = extra;
  const r = parseRemoteWriteConfigs([{
    url,
    name: "peer",
    metadata_config: { send: false },
    queue_config: { ...TEST_QUEUE, ...queue, ...(queue_config as object ?? {}) },
    ...rest,
  }]);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.configs;
}

/** What {@linkcode runRemoteWrite} starts; `close()` stops all of it. */
export interface RunningRemoteWrite {
  readonly peer: FakeReceiver;
  readonly db: DB;
  readonly dir: string;
  readonly m: RemoteWriteManager;
  /** Appends to the DB through the manager's tracker (as the ingest pipeline does). */
  readonly app: ReturnType<RemoteWriteManager["appender"]>;
  close(): Promise<void>;
}

/**
 * A fake receiver, a temp DB (`seed` appends to it first), and remote write
 * to the receiver with `configs(receiverUrl)`, its state in `<dir>/remote.kv`.
 */
export async function runRemoteWrite(
  configs: (url: string) => RemoteWriteConfig[],
  options: {
    readonly seed?: (db: DB) => Promise<unknown>;
    /** More manager options, given the DB. */
    readonly manager?: (db: DB) => Pick<RemoteWriteOptions, "externalLabels" | "missingCursorFrom">;
  } = {},
): Promise<RunningRemoteWrite> {
  const peer = await fakeReceiver();
  const { db, dir } = await tempDB();
  await options.seed?.(db);
  const m = await RemoteWriteManager.open({
    querier: db,
    kv: `${dir}/remote.kv`,
    logger: silentLogger(),
    ...options.manager?.(db),
  });
  const app = m.appender(db);
  await m.apply(configs(peer.url));
  return {
    peer,
    db,
    dir,
    m,
    app,
    async close() {
      await m.close();
      await db.close();
      await peer.close();
    },
  };
}
