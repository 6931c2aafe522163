/**
 * Component lifecycle: start in order, stop in reverse within a deadline.
 *
 * @module
 */
import type { Logger } from "./logging/mod.ts";

/** Something `main.ts` starts and stops. */
export interface Component {
  /** Unique name, used in logs and health checks. */
  readonly name: string;
  /** Starts the component; resolves when it is ready for the next one. */
  start(): Promise<void>;
  /** Stops the component, flushing what must be flushed. */
  stop(): Promise<void>;
}

/** Starts and stops components in order. */
export class Lifecycle {
  readonly #started: Component[] = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Starts `c` after the ones before it. When a start fails, the components
   * already started are stopped and the error is rethrown.
   */
  async start(c: Component): Promise<void> {
    if (this.#started.some((s) => s.name === c.name)) {
      throw new Error(`BUG: component ${c.name} started twice`);
    }
    const t0 = performance.now();
    try {
      await c.start();
    } catch (e) {
      this.#log.error("component failed to start", { name: c.name, error: e });
      await this.stopAll(10_000);
      throw e;
    }
    this.#started.push(c);
    this.#log.info("component started", {
      name: c.name,
      duration_ms: Math.round(performance.now() - t0),
    });
  }

  /**
   * Stops every started component in reverse order. Each stop runs even if an
   * earlier one failed; the whole sequence gives up after `timeoutMs` and
   * resolves false.
   */
  async stopAll(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let clean = true;
    while (this.#started.length > 0) {
      const c = this.#started.pop()!;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#log.error("shutdown timed out", {
          remaining: [c.name, ...this.#started.map((s) => s.name)],
        });
        this.#started.length = 0;
        return false;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const done = await Promise.race([
          c.stop().then(() => true),
          new Promise<boolean>((r) => timer = setTimeout(() => r(false), left)),
        ]);
        if (!done) {
          this.#log.error("component did not stop in time", { name: c.name });
          clean = false;
        } else {
          this.#log.info("component stopped", { name: c.name });
        }
      } catch (e) {
        clean = false;
        this.#log.error("component failed to stop", { name: c.name, error: e });
      } finally {
        clearTimeout(timer);
      }
    }
    return clean;
  }
}
