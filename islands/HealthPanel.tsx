/**
 * Live health panel: the overall status and each check, refreshed every few
 * seconds from `/health`.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";

/** The subset of the `/health` document the panel shows. */
export interface HealthPanelProps {
  readonly status: string;
  readonly timestamp: string;
  readonly checks: Record<string, { status: string; message: string; last_checked: string }>;
  /** Refresh period in ms; 0 turns refreshing off. */
  readonly refreshMs?: number;
}

export default function HealthPanel(props: HealthPanelProps) {
  const report = useSignal<HealthPanelProps>(props);
  const error = useSignal("");
  const refreshMs = props.refreshMs ?? 5000;

  useEffect(() => {
    if (refreshMs <= 0) return;
    let stopped = false;
    const tick = async () => {
      try {
        const res = await fetch("/health", { headers: { accept: "application/json" } });
        const body = await res.json();
        if (!stopped) {
          report.value = body;
          error.value = "";
        }
      } catch (e) {
        if (!stopped) error.value = `Cannot reach Perch: ${e instanceof Error ? e.message : e}`;
      }
    };
    const id = setInterval(tick, refreshMs);
    return () => {
      stopped = true;
      clearInterval(id);
    };
  }, [refreshMs]);

  const r = report.value;
  return (
    <section class="card" aria-live="polite">
      <h2>
        Health <span class={`badge badge-${r.status}`} data-testid="health-status">{r.status}</span>
      </h2>
      {error.value && <p class="error">{error.value}</p>}
      <table class="table">
        <thead>
          <tr>
            <th scope="col">Check</th>
            <th scope="col">Status</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(r.checks).map(([name, c]) => (
            <tr key={name}>
              <td>{name}</td>
              <td>
                <span class={`badge badge-${c.status}`}>{c.status}</span>
              </td>
              <td>{c.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">Checked {new Date(r.timestamp).toLocaleTimeString()}</p>
    </section>
  );
}
