/**
 * Sending Prometheus remote write 1.0 bodies (snappy protobuf) over HTTP, as
 * Prometheus and vmagent do; shared by tests and benchmarks.
 */

/** Posts one encoded body to `<base>/api/v1/write`; throws on a non-2xx answer. */
export async function postRemoteWrite(base: string, body: Uint8Array): Promise<void> {
  const r = await fetch(`${base}/api/v1/write`, {
    method: "POST",
    headers: {
      "content-type": "application/x-protobuf",
      "content-encoding": "snappy",
      "x-prometheus-remote-write-version": "0.1.0",
    },
    body: body as Uint8Array<ArrayBuffer>,
  });
  const text = await r.text();
  if (r.status >= 300) {
    throw new Error(`remote write to ${base}: ${r.status} ${text.slice(0, 300)}`);
  }
}

/**
 * Sends each list of bodies in order, the lists side by side (one
 * connection each); returns the seconds it took.
 */
export async function pushConcurrently(base: string, lists: Uint8Array[][]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(lists.map(async (list) => {
    for (const body of list) await postRemoteWrite(base, body);
  }));
  return (performance.now() - t0) / 1000;
}
