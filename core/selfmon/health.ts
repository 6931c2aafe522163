/**
 * Health checks: each component registers a check; the overall status is the
 * worst of them (healthy < degraded < unhealthy).
 *
 * @module
 */

/** A component's health. */
export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/** What a check returns. */
export interface CheckResult {
  readonly status: HealthStatus;
  readonly message?: string;
  /** Structured detail shown as is (storage: the unacknowledged incidents). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** One check's latest result, as `/health` reports it. */
export interface CheckReport {
  readonly status: HealthStatus;
  readonly last_checked: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The `/health` document. */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly timestamp: string;
  readonly checks: Record<string, CheckReport>;
}

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/** Returns the worse of two statuses. */
export function worstStatus(a: HealthStatus, b: HealthStatus): HealthStatus {
  return RANK[a] >= RANK[b] ? a : b;
}

type Check = () => CheckResult | Promise<CheckResult>;

/** Holds the checks and runs them on demand, each bounded by a timeout. */
export class HealthChecks {
  readonly #checks = new Map<string, Check>();
  readonly #now: () => Date;
  readonly #timeoutMs: number;

  constructor(options: { now?: () => Date; timeoutMs?: number } = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#timeoutMs = options.timeoutMs ?? 2000;
  }

  /** Adds (or replaces) the check called `name`. */
  register(name: string, check: Check): void {
    this.#checks.set(name, check);
  }

  /** Removes the check called `name`. */
  unregister(name: string): void {
    this.#checks.delete(name);
  }

  /** Runs every check; a check that throws or times out is unhealthy. */
  async run(): Promise<HealthReport> {
    const entries = [...this.#checks.entries()];
    const results = await Promise.all(entries.map(async ([name, check]) => {
      let result: CheckResult;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        result = await Promise.race([
          Promise.resolve().then(check),
          new Promise<CheckResult>((resolve) => {
            timer = setTimeout(
              () => resolve({ status: "unhealthy", message: "check timed out" }),
              this.#timeoutMs,
            );
          }),
        ]);
      } catch (e) {
        result = { status: "unhealthy", message: e instanceof Error ? e.message : String(e) };
      } finally {
        clearTimeout(timer);
      }
      return [name, result] as const;
    }));
    const at = this.#now().toISOString();
    let status: HealthStatus = "healthy";
    const checks: Record<string, CheckReport> = {};
    for (const [name, r] of results) {
      status = worstStatus(status, r.status);
      checks[name] = {
        status: r.status,
        last_checked: at,
        message: r.message ?? "",
        ...(r.details ? { details: r.details } : {}),
      };
    }
    return { status, timestamp: at, checks };
  }
}
