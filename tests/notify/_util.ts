/** Helpers for socket-level notify tests: a real-clock notifier and HTTP receivers. */
import { createHash } from "node:crypto";
import type { AlertInstance } from "../../core/model/alert.ts";
import { silentLogger } from "../../core/logging/mod.ts";
import { Registry } from "../../core/selfmon/mod.ts";
import {
  createNotifier,
  type Notifier,
  parseNotifyConfig,
  type RawNotifyConfig,
} from "../../core/notify/mod.ts";

/** An alert with a fingerprint from its labels. */
export function alert(
  labels: Record<string, string>,
  extra: Partial<AlertInstance> = {},
): AlertInstance {
  const fp = createHash("sha256").update(JSON.stringify(Object.entries(labels).sort())).digest(
    "hex",
  );
  return {
    fingerprint: fp.slice(0, 16),
    labels,
    annotations: {},
    startsAt: Date.now(),
    endsAt: 0,
    generatorURL: "http://perch.test/graph?g0.expr=up",
    ...extra,
  };
}

/** A notifier on the wall clock with fast retries. */
export async function realNotifier(raw: RawNotifyConfig, kv?: Deno.Kv): Promise<{
  notifier: Notifier;
  kv: Deno.Kv;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const parsed = parseNotifyConfig(raw);
  if ("errors" in parsed) throw new Error(parsed.errors.join("\n"));
  const store = kv ?? await Deno.openKv(":memory:");
  const notifier = createNotifier({
    kv: store,
    config: parsed.config,
    logger: silentLogger(),
    registry: new Registry(),
    externalURL: "http://perch.test:8080",
    queue: { initialBackoffMs: 100, maxBackoffMs: 400, jitter: 0.2 },
  });
  await notifier.start();
  return {
    notifier,
    kv: store,
    async [Symbol.asyncDispose]() {
      await notifier.stop();
      if (!kv) store.close();
    },
  };
}

/** A received HTTP request. */
export interface Received {
  readonly path: string;
  readonly headers: Headers;
  readonly body: unknown;
}

/** An HTTP receiver on 127.0.0.1:0 that fails the first `failFirst` requests with `failStatus`. */
export function httpReceiver(failFirst = 0, failStatus = 503) {
  const accepted: Received[] = [];
  let seen = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const text = await req.text();
    seen++;
    if (seen <= failFirst) return new Response("down", { status: failStatus });
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* Keep text. */ }
    accepted.push({ path: new URL(req.url).pathname, headers: req.headers, body });
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    accepted,
    get seen() {
      return seen;
    },
    close: () => server.shutdown(),
  };
}
