/**
 * Silences (maintenance windows): matchers plus a time window. Every silence
 * ends; its length is capped; expired silences are kept for audit for a
 * while, then deleted. State lives in Deno KV with an in-memory copy that
 * answers "is this alert silenced?" without IO.
 *
 * @module
 */
import type { Matcher } from "../model/mod.ts";
import {
  type ApiMatcher,
  fromApiMatcher,
  matchLabels,
  parseMatcher,
  toApiMatcher,
} from "./label_matchers.ts";
import { KEYS } from "./kv_keys.ts";

/** A silence's state at a given time. */
export type SilenceState = "pending" | "active" | "expired";

/** A stored silence. Times in ms since the epoch. */
export interface Silence {
  readonly id: string;
  readonly matchers: readonly ApiMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly updatedAt: number;
}

/** What a client posts: matchers as API objects or `name="value"` strings; times as RFC 3339 or ms. */
export interface SilenceInput {
  readonly id?: string;
  readonly matchers?: readonly (ApiMatcher | string)[];
  readonly startsAt?: string | number;
  readonly endsAt?: string | number;
  readonly createdBy?: string;
  readonly comment?: string;
}

/** One problem with a silence, naming the field. */
export interface SilenceFieldError {
  readonly field: string;
  readonly message: string;
}

/** The posted silence is invalid; `errors` names each field. */
export class SilenceValidationError extends Error {
  constructor(readonly errors: readonly SilenceFieldError[]) {
    super(`Invalid silence: ${errors.map((e) => `${e.field}: ${e.message}`).join("; ")}`);
    this.name = "SilenceValidationError";
  }
}

/** No silence has this id. */
export class SilenceNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`Silence ${id} not found`);
    this.name = "SilenceNotFoundError";
  }
}

/** The state of `s` at `now`. */
export function silenceState(s: Silence, now: number): SilenceState {
  if (now < s.startsAt) return "pending";
  if (now < s.endsAt) return "active";
  return "expired";
}

/** Options for {@linkcode Silences}. */
export interface SilencesOptions {
  /** Longest allowed silence. @default 1 week */
  readonly maxDurationMs?: number;
  /** How long expired silences are kept. @default 5 days */
  readonly retentionMs?: number;
}

interface Compiled {
  readonly silence: Silence;
  readonly matchers: readonly Matcher[];
}

/** The silence store. */
export class Silences {
  readonly #kv: Deno.Kv;
  readonly #byId = new Map<string, Compiled>();
  readonly maxDurationMs: number;
  readonly retentionMs: number;

  constructor(kv: Deno.Kv, opts: SilencesOptions = {}) {
    this.#kv = kv;
    this.maxDurationMs = opts.maxDurationMs ?? 7 * 86_400_000;
    this.retentionMs = opts.retentionMs ?? 5 * 86_400_000;
  }

  /** Loads stored silences into memory. */
  async load(): Promise<void> {
    this.#byId.clear();
    for await (const e of this.#kv.list<Silence>({ prefix: KEYS.silencePrefix })) {
      this.#remember(e.value);
    }
  }

  /** Every kept silence, newest first, with its state at `now`. Drops those past retention. */
  list(now: number): (Silence & { state: SilenceState })[] {
    const out: (Silence & { state: SilenceState })[] = [];
    for (const [id, c] of this.#byId) {
      if (c.silence.endsAt + this.retentionMs <= now) {
        this.#byId.delete(id);
        continue;
      }
      out.push({ ...c.silence, state: silenceState(c.silence, now) });
    }
    return out.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  /** One silence; throws SilenceNotFoundError. */
  get(id: string, now: number): Silence & { state: SilenceState } {
    const c = this.#byId.get(id);
    if (!c) throw new SilenceNotFoundError(id);
    return { ...c.silence, state: silenceState(c.silence, now) };
  }

  /**
   * Creates a silence, or updates the one with `input.id`. Throws
   * SilenceValidationError or SilenceNotFoundError.
   */
  async upsert(input: SilenceInput, now: number): Promise<Silence> {
    const errors: SilenceFieldError[] = [];
    const matchers: Matcher[] = [];
    const list = input.matchers ?? [];
    if (!Array.isArray(list) || list.length === 0) {
      errors.push({ field: "matchers", message: "must have at least one matcher" });
    } else {
      list.forEach((m, i) => {
        const c = typeof m === "string"
          ? parseMatcher(m)
          : m && typeof m === "object" && typeof m.name === "string" &&
              typeof m.value === "string"
          ? fromApiMatcher({ ...m, isRegex: Boolean(m.isRegex) })
          : 'must be {name, value, isRegex, isEqual} or a string like name="value"';
        if (typeof c === "string") errors.push({ field: `matchers[${i}]`, message: c });
        else matchers.push(c);
      });
      if (matchers.length > 0 && matchers.every((m) => m.matches(""))) {
        errors.push({
          field: "matchers",
          message: "at least one matcher must not match the empty string",
        });
      }
    }
    const existing = input.id ? this.#byId.get(input.id) : undefined;
    if (input.id && !existing) throw new SilenceNotFoundError(input.id);
    let startsAt = parseTime(input.startsAt, "startsAt", errors) ?? now;
    const endsAt = parseTime(input.endsAt, "endsAt", errors);
    if (endsAt === undefined) {
      if (!errors.some((e) => e.field === "endsAt")) {
        errors.push({ field: "endsAt", message: "is required: every silence must end" });
      }
    } else {
      if (startsAt < now && !(existing && existing.silence.startsAt === startsAt)) startsAt = now;
      if (endsAt <= startsAt) errors.push({ field: "endsAt", message: "must be after startsAt" });
      else if (endsAt <= now) errors.push({ field: "endsAt", message: "must be in the future" });
      else if (endsAt - Math.max(startsAt, now) > this.maxDurationMs) {
        errors.push({
          field: "endsAt",
          message: `silence is longer than the maximum of ${this.maxDurationMs / 3_600_000}h`,
        });
      }
    }
    if (typeof input.createdBy !== "string" || input.createdBy.trim() === "") {
      errors.push({ field: "createdBy", message: "must not be empty" });
    }
    if (input.comment !== undefined && typeof input.comment !== "string") {
      errors.push({ field: "comment", message: "must be a string" });
    }
    if (errors.length > 0) throw new SilenceValidationError(errors);
    const silence: Silence = {
      id: existing?.silence.id ?? crypto.randomUUID(),
      matchers: matchers.map(toApiMatcher),
      startsAt,
      endsAt: endsAt!,
      createdBy: input.createdBy!,
      comment: input.comment ?? "",
      updatedAt: now,
    };
    await this.#store(silence, now);
    return silence;
  }

  /** Ends a silence now (kept for audit). Throws SilenceNotFoundError. */
  async expire(id: string, now: number): Promise<void> {
    const c = this.#byId.get(id);
    if (!c) throw new SilenceNotFoundError(id);
    if (silenceState(c.silence, now) === "expired") return;
    const startsAt = Math.min(c.silence.startsAt, now);
    await this.#store({ ...c.silence, startsAt, endsAt: now, updatedAt: now }, now);
  }

  /** Ids of the active silences that match `labels` at `now`. */
  mutedBy(labels: Readonly<Record<string, string>>, now: number): string[] {
    const out: string[] = [];
    for (const c of this.#byId.values()) {
      if (now >= c.silence.startsAt && now < c.silence.endsAt && matchLabels(c.matchers, labels)) {
        out.push(c.silence.id);
      }
    }
    return out;
  }

  async #store(s: Silence, now: number): Promise<void> {
    const expireIn = Math.max(1000, s.endsAt + this.retentionMs - now);
    await this.#kv.set(KEYS.silence(s.id), s, { expireIn });
    this.#remember(s);
  }

  #remember(s: Silence): void {
    const matchers = s.matchers.map((m) => {
      const c = fromApiMatcher(m);
      if (typeof c === "string") throw new Error(`BUG: stored silence ${s.id} has a bad matcher`);
      return c;
    });
    this.#byId.set(s.id, { silence: s, matchers });
  }
}

function parseTime(
  v: string | number | undefined,
  field: string,
  errors: SilenceFieldError[],
): number | undefined {
  if (v === undefined || v === "") return undefined;
  const ms = typeof v === "number" ? v : Date.parse(v);
  if (!Number.isFinite(ms)) {
    errors.push({ field, message: "must be an RFC 3339 time" });
    return undefined;
  }
  return ms;
}
