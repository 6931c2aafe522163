/**
 * Structured JSON logs: one object per line with `time`, `level`, `msg`,
 * `component` and the caller's fields.
 *
 * @module
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const SEVERITY: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Fields attached to one log line. Errors are turned into their message. */
export type LogFields = Record<string, unknown>;

/** Where lines go; the default writes to stderr. */
export type LogSink = (line: string) => void;

const encoder = new TextEncoder();

function stderrSink(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

/**
 * `d.toISOString()`, from the UTC getters: the first toISOString in a process
 * leaves ~0.3 MiB of ICU's zone-name data (metaZones, zone/*.res) in the deno
 * binary resident, the getters none (measured with /proc/PID/pagemap). Years
 * outside 0-9999 (and invalid dates) go to toISOString.
 */
function isoTime(d: Date): string {
  const y = d.getUTCFullYear();
  if (!(y >= 0 && y <= 9999)) return d.toISOString();
  const p = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${p(y, 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:` +
    `${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}Z`;
}

/** The shared level, so a reload changes it for every component at once. */
interface LogState {
  level: LogLevel;
  sink: LogSink;
  now: () => Date;
}

/** A logger for one component. */
export class Logger {
  readonly #state: LogState;
  readonly component: string;

  /** Creates a root logger; use {@linkcode Logger.child} for components. */
  constructor(
    options: { level?: LogLevel; sink?: LogSink; now?: () => Date } = {},
    component = "main",
    state?: LogState,
  ) {
    this.#state = state ?? {
      level: options.level ?? "info",
      sink: options.sink ?? stderrSink,
      now: options.now ?? (() => new Date()),
    };
    this.component = component;
  }

  /** A logger that shares this one's level and sink, tagged with `component`. */
  child(component: string): Logger {
    return new Logger({}, component, this.#state);
  }

  /** Changes the level of this logger and every logger sharing its state. */
  setLevel(level: LogLevel): void {
    this.#state.level = level;
  }

  get level(): LogLevel {
    return this.#state.level;
  }

  /** True when `level` would be written. */
  enabled(level: LogLevel): boolean {
    return SEVERITY[level] >= SEVERITY[this.#state.level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }

  /** Writes one line when `level` is enabled. */
  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const line: Record<string, unknown> = {
      time: isoTime(this.#state.now()),
      level,
      msg,
      component: this.component,
    };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (k in line) continue;
        line[k] = v instanceof Error ? v.message : v;
      }
    }
    let text: string;
    try {
      text = JSON.stringify(line);
    } catch {
      text = JSON.stringify({ ...line, fields: "unserialisable" });
    }
    this.#state.sink(text);
  }
}

/** A logger that writes nothing, for tests and tools. */
export function silentLogger(): Logger {
  return new Logger({ sink: () => {} });
}
