/**
 * A minimal Chrome DevTools Protocol client over a V8 inspector's WebSocket
 * (a Perch started with `--inspect`), for the tools that watch a server from
 * outside: startup_profile.ts (CPU profile of a start), query_alloc.ts
 * (allocations of queries) and heap_snapshot.ts (what the heap holds). The
 * browser tests have their own, richer one (tests/browser/_cdp.ts).
 *
 * @module
 */

/** A CDP session: `post` sends a command and resolves with its result (rejects on an error reply). */
export interface CdpSession {
  post(method: string, params?: object): Promise<Record<string, unknown>>;
  close(): void;
}

/**
 * Opens a session on the inspector WebSocket `url` (a target's
 * `webSocketDebuggerUrl`); `onEvent` receives the events (messages without
 * an id, such as `HeapProfiler.addHeapSnapshotChunk`).
 */
export async function connectCdp(
  url: string,
  onEvent?: (method: string, params: Record<string, unknown>) => void,
): Promise<CdpSession> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map<number, (m: Record<string, unknown>) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.id !== undefined) waiting.get(m.id)?.(m);
    else onEvent?.(m.method, m.params ?? {});
  };
  return {
    post: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        waiting.set(n, (m) => {
          waiting.delete(n);
          m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result as never);
        });
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** A session on the first target of the inspector listening on 127.0.0.1:`port`. */
export async function connectInspector(
  port: number,
  onEvent?: (method: string, params: Record<string, unknown>) => void,
): Promise<CdpSession> {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  return await connectCdp(list[0].webSocketDebuggerUrl, onEvent);
}
