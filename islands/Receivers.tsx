/**
 * The receivers of the notification config, each with a "Send test
 * notification" button: `POST /api/v1/receivers/<name>/test` sends a test
 * alert through every channel of the receiver at once and answers per channel.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { apiGet, sendJson } from "./api.ts";

interface TestResult {
  readonly ok: boolean;
  readonly channels: { channelIndex: number; channel: string; ok: boolean; error?: string }[];
}

/** The receivers card on the Alerts page. */
export function ReceiversView() {
  const [names, setNames] = useState<string[] | null>(null);
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [results, setResults] = useState<Record<string, TestResult | { error: string }>>({});
  useEffect(() => {
    apiGet<{ name: string }[]>("/api/v1/receivers")
      .then((l) => setNames(l.map((r) => r.name)))
      .catch((e) => setErr((e as Error).message));
  }, []);
  const test = async (name: string) => {
    setBusy(name);
    try {
      const r = await sendJson<{ data: TestResult }>(
        "POST",
        `/api/v1/receivers/${encodeURIComponent(name)}/test`,
        {},
      );
      setResults((cur) => ({ ...cur, [name]: r.data }));
    } catch (e) {
      setResults((cur) => ({ ...cur, [name]: { error: (e as Error).message } }));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section class="card" aria-labelledby="receivers-h" data-testid="receivers">
      <h2 id="receivers-h">Receivers</h2>
      {err && <p class="error" role="alert">{err}</p>}
      {names?.length === 0 && <p class="muted">No receivers configured.</p>}
      <ul class="receivers">
        {(names ?? []).map((name) => {
          const r = results[name];
          return (
            <li key={name} data-receiver={name}>
              <strong>{name}</strong>{" "}
              <button
                type="button"
                disabled={busy === name}
                onClick={() => test(name)}
                data-testid="test-receiver"
              >
                {busy === name ? "Sending\u2026" : "Send test notification"}
              </button>
              {r && (
                <span
                  role="status"
                  class={"error" in r || !r.ok ? "error" : "delivered"}
                  data-testid="test-result"
                >
                  {" "}
                  {"error" in r
                    ? r.error
                    : r.channels.length === 0
                    ? "this receiver has no channels"
                    : r.channels.map((c) =>
                      `${c.channel}[${c.channelIndex}]: ${c.ok ? "delivered" : c.error}`
                    ).join("; ")}
                </span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
