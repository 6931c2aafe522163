/**
 * Hiding secrets before a config is shown (`/api/v1/status/config`,
 * Alertmanager's `/api/v2/status`).
 *
 * @module
 */

const SECRET_KEY_REGEXP =
  /password|secret|token|routing_key|service_key|api_key|api_url|webhook_url|authorization|credentials/i;

/**
 * A copy of `value` with every string under a key that names a secret
 * replaced by `<secret>` (as Prometheus and Alertmanager show them), and
 * `Infinity` shown as `unlimited`.
 */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY_REGEXP.test(k) && typeof v === "string" && !k.endsWith("_file")
        ? "<secret>"
        : redactSecrets(v);
    }
    return out;
  }
  if (value === Infinity) return "unlimited";
  return value;
}
