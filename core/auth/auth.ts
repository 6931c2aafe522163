/**
 * Credential checks for the three access scopes. Every secret is compared
 * as a SHA-256 digest in constant time (the time does not depend on where
 * two digests differ), whether it was configured in plain text or hashed.
 *
 * Admin credentials are accepted in every scope; read and write credentials
 * only in their own. With no credentials configured anywhere, every scope is
 * open. Once some scope has credentials, a scope without any is closed
 * (only admin credentials pass) unless its config says `open: true`.
 *
 * @module
 */
import type { AuthConfig } from "../config/mod.ts";
import { sha256, toHex } from "../model/mod.ts";

/**
 * An access scope. `public` routes (health probes, CORS preflight) need none.
 * Each route declares its own where it is registered (routes/scope.ts).
 */
export type Scope = "write" | "read" | "admin" | "public";

/** The outcome of a check. */
export type AuthResult =
  | { readonly ok: true; readonly principal: string }
  /** 401: no or unknown credentials; 403: valid credentials of another scope. */
  | { readonly ok: false; readonly status: 401 | 403; readonly challenge: string };

interface ScopeCreds {
  readonly users: Map<string, Uint8Array>;
  readonly tokens: Uint8Array[];
  /** `open: true` in the config. */
  readonly open: boolean;
}

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Compares two byte strings in time independent of their contents. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function credsOf(c: AuthConfig["read"]): ScopeCreds {
  const users = new Map<string, Uint8Array>();
  for (const u of c.users) {
    users.set(
      u.username,
      u.password !== undefined ? sha256(u.password) : fromHex(u.password_sha256!),
    );
  }
  const tokens = c.tokens.map((t) =>
    t.token !== undefined ? sha256(t.token) : fromHex(t.token_sha256!)
  );
  return { users, tokens, open: c.open };
}

/** Parsed `Authorization` header. */
type Presented =
  | { kind: "basic"; user: string; digest: Uint8Array }
  | { kind: "bearer"; digest: Uint8Array }
  | { kind: "none" };

function parseAuthorization(header: string | null | undefined): Presented {
  if (!header) return { kind: "none" };
  const sp = header.indexOf(" ");
  if (sp < 0) return { kind: "none" };
  const scheme = header.slice(0, sp).toLowerCase();
  const value = header.slice(sp + 1).trim();
  if (scheme === "bearer") return { kind: "bearer", digest: sha256(value) };
  if (scheme === "basic") {
    let text: string;
    try {
      text = new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
    } catch {
      return { kind: "none" };
    }
    const colon = text.indexOf(":");
    if (colon < 0) return { kind: "none" };
    return { kind: "basic", user: text.slice(0, colon), digest: sha256(text.slice(colon + 1)) };
  }
  return { kind: "none" };
}

/** Checks requests against the configured credentials; build one per config. */
export class Authenticator {
  readonly #scopes: Record<"write" | "read" | "admin", ScopeCreds>;
  readonly #anyCreds: boolean;

  constructor(config: AuthConfig) {
    this.#scopes = {
      write: credsOf(config.write),
      read: credsOf(config.read),
      admin: credsOf(config.admin),
    };
    this.#anyCreds = Object.values(this.#scopes).some(hasCreds);
  }

  /**
   * True when a scope needs credentials: it has some, or another scope has
   * some and this one is not marked `open: true`.
   */
  protects(scope: Scope): boolean {
    if (scope === "public") return false;
    const s = this.#scopes[scope];
    return hasCreds(s) || (this.#anyCreds && !s.open);
  }

  /** The scopes anyone may use, for the start-up log. */
  openScopes(): ("write" | "read" | "admin")[] {
    return (["write", "read", "admin"] as const).filter((s) => !this.protects(s));
  }

  /** True when no scope is protected. */
  get open(): boolean {
    return !this.protects("write") && !this.protects("read") && !this.protects("admin");
  }

  #matches(s: ScopeCreds, p: Presented): string | undefined {
    if (p.kind === "basic") {
      const want = s.users.get(p.user);
      // Compare against a dummy digest for unknown users, so timing does not reveal them.
      const ok = constantTimeEqual(want ?? DUMMY, p.digest) && want !== undefined;
      return ok ? p.user : undefined;
    }
    if (p.kind === "bearer") {
      let hit = false;
      for (const t of s.tokens) hit = constantTimeEqual(t, p.digest) || hit;
      // Named by a short prefix of its digest: tells tokens apart (rate limits, logs).
      return hit ? `token:${toHex(p.digest).slice(0, 8)}` : undefined;
    }
    return undefined;
  }

  /** Checks an `Authorization` header for a scope. */
  check(scope: Scope, authorization: string | null | undefined): AuthResult {
    if (scope === "public" || !this.protects(scope)) return { ok: true, principal: "anonymous" };
    const p = parseAuthorization(authorization);
    const challenge = this.#scopes[scope].users.size > 0 || this.#scopes.admin.users.size > 0
      ? 'Basic realm="Perch", charset="UTF-8"'
      : 'Bearer realm="Perch"';
    if (p.kind === "none") return { ok: false, status: 401, challenge };
    const own = this.#matches(this.#scopes[scope], p);
    if (own !== undefined) return { ok: true, principal: own };
    if (scope !== "admin") {
      const admin = this.#matches(this.#scopes.admin, p);
      if (admin !== undefined) return { ok: true, principal: admin };
    }
    for (const other of ["write", "read", "admin"] as const) {
      if (other !== scope && this.#matches(this.#scopes[other], p) !== undefined) {
        return { ok: false, status: 403, challenge };
      }
    }
    return { ok: false, status: 401, challenge };
  }
}

const DUMMY = sha256("perch-dummy-password");

function hasCreds(s: ScopeCreds): boolean {
  return s.users.size > 0 || s.tokens.length > 0;
}

/** Deno.serve TLS options from `auth.tls` (files read now), or `{}` for plain HTTP. */
export async function tlsServeOptions(
  config: AuthConfig,
): Promise<{ cert: string; key: string } | Record<never, never>> {
  if (!config.tls) return {};
  return {
    cert: await Deno.readTextFile(config.tls.cert_file),
    key: await Deno.readTextFile(config.tls.key_file),
  };
}
