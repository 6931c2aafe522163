/**
 * The `auth:` config section: optional credentials per scope (write, read,
 * admin) and an optional TLS listener. With no credentials anywhere every
 * scope is open (on a non-loopback listener Perch then generates an admin
 * token, see admin_token.ts). Once any scope has credentials, a scope
 * without credentials is closed unless it says `open: true`.
 *
 * ```yaml
 * auth:
 *   read:
 *     users: [{ username: grafana, password_sha256: "<64 hex>" }]
 *     tokens: [{ token_sha256: "<64 hex>" }]
 *   write:
 *     tokens: [{ token: "plain-text-token" }]
 *   admin:
 *     users: [{ username: admin, password: "plain" }]
 *   tls: { cert_file: /etc/perch/cert.pem, key_file: /etc/perch/key.pem }
 * ```
 *
 * Secrets are stored as the hex SHA-256 of the password or token (or in
 * plain text); see core/remote/README.md, "Locking a LAN-exposed box".
 *
 * @module
 */
import { z } from "../model/mod.ts";

const HEX64 = /^[0-9a-fA-F]{64}$/;
const str = z.string({ error: "must be a string" });
const sha = str.check(z.regex(HEX64, "must be 64 hex digits (the SHA-256 of the secret)"));

const userSchema = z.strictObject({
  username: str.check(
    z.minLength(1, "must not be empty"),
    z.refine((u) => !u.includes(":"), {
      message: "must not contain ':'",
    }),
  ),
  password: z.optional(str.check(z.minLength(1, "must not be empty"))),
  password_sha256: z.optional(sha),
}).check(z.superRefine((u, ctx) => {
  if ((u.password === undefined) === (u.password_sha256 === undefined)) {
    ctx.addIssue({ code: "custom", message: "give exactly one of password and password_sha256" });
  }
}));

const tokenSchema = z.strictObject({
  token: z.optional(str.check(z.minLength(16, "must be at least 16 characters"))),
  token_sha256: z.optional(sha),
}).check(z.superRefine((t, ctx) => {
  if ((t.token === undefined) === (t.token_sha256 === undefined)) {
    ctx.addIssue({ code: "custom", message: "give exactly one of token and token_sha256" });
  }
}));

const scopeSchema = z.prefault(
  z.strictObject({
    users: z.prefault(z.array(userSchema), []),
    tokens: z.prefault(z.array(tokenSchema), []),
    /** Leave this scope open although other scopes have credentials. */
    open: z.prefault(z.boolean({ error: "must be true or false" }), false),
  }),
  {},
);

/** The `auth:` section; add it to core/config/schema.ts as `auth: authSchema`. */
export const authSchema = z.prefault(
  z.strictObject({
    /** Ingest endpoints. */
    write: scopeSchema,
    /** Query API, UI, /ws, /federate, export, /metrics. */
    read: scopeSchema,
    /** Reload, flush, snapshot, delete, rule/alert/silence/dashboard/scrape mutations. */
    admin: scopeSchema,
    /** Serve HTTPS instead of HTTP. */
    tls: z.optional(z.strictObject({
      cert_file: str.check(z.minLength(1, "must not be empty")),
      key_file: str.check(z.minLength(1, "must not be empty")),
    })),
  }),
  {},
);

/** The resolved `auth:` section. */
export type AuthConfig = z.output<typeof authSchema>;
