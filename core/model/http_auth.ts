/**
 * How Perch authenticates to an HTTP peer (a scrape target, a remote write
 * endpoint): Prometheus's `basic_auth` and `authorization` settings.
 *
 * @module
 */

/** Credentials for outgoing requests; `*File` fields are read at each request and win. */
export type HttpAuth =
  | { readonly kind: "none" }
  | {
    readonly kind: "basic";
    readonly username: string;
    readonly password: string;
    readonly passwordFile: string;
  }
  | {
    readonly kind: "authorization";
    /** `Bearer` unless configured. */
    readonly type: string;
    readonly credentials: string;
    readonly credentialsFile: string;
  };

/**
 * The `Authorization` header value for `auth`, or undefined for none.
 * Secret files are read (and trimmed) on every call, so rotated secrets apply.
 */
export async function authorizationHeader(
  auth: HttpAuth,
  readFile: (path: string) => Promise<string> = (p) => Deno.readTextFile(p),
): Promise<string | undefined> {
  if (auth.kind === "basic") {
    const pw = auth.passwordFile ? (await readFile(auth.passwordFile)).trim() : auth.password;
    const bytes = new TextEncoder().encode(`${auth.username}:${pw}`);
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return "Basic " + btoa(binary);
  }
  if (auth.kind === "authorization") {
    const cred = auth.credentialsFile
      ? (await readFile(auth.credentialsFile)).trim()
      : auth.credentials;
    return `${auth.type} ${cred}`;
  }
  return undefined;
}

/** The auth settings of a Prometheus-style client config block, as parsed from YAML. */
export interface RawHttpAuth {
  readonly basic_auth?: {
    readonly username?: string;
    readonly password?: string;
    readonly password_file?: string;
  };
  readonly authorization?: {
    readonly type?: string;
    readonly credentials?: string;
    readonly credentials_file?: string;
  };
  readonly bearer_token?: string;
  readonly bearer_token_file?: string;
}

/** Options for {@linkcode resolveHttpAuth}. */
export interface ResolveHttpAuthOptions {
  /** Formats the config path of a field for an error message. */
  readonly at: (...path: string[]) => string;
  /** Refuse `basic_auth` without a username. @default false */
  readonly requireUsername?: boolean;
  /** Turns a configured secret file path into the one to read (e.g. relative to the config). */
  readonly filePath?: (path: string) => string;
}

/**
 * Checks and resolves `basic_auth`, `authorization`, `bearer_token` and
 * `bearer_token_file` (at most one), pushing every problem to `errors`.
 */
export function resolveHttpAuth(
  r: RawHttpAuth,
  errors: string[],
  options: ResolveHttpAuthOptions,
): HttpAuth {
  const { at } = options;
  const file = (p: string | undefined) => p ? (options.filePath ?? ((x) => x))(p) : "";
  const ways = [
    r.basic_auth ? "basic_auth" : "",
    r.authorization ? "authorization" : "",
    r.bearer_token !== undefined ? "bearer_token" : "",
    r.bearer_token_file !== undefined ? "bearer_token_file" : "",
  ].filter((w) => w !== "");
  if (ways.length > 1) {
    errors.push(`${at(ways[1]!)}: at most one of ${ways.join(", ")} may be set`);
  }
  if (r.basic_auth) {
    const b = r.basic_auth;
    if (b.password !== undefined && b.password_file !== undefined) {
      errors.push(
        `${at("basic_auth", "password_file")}: at most one of password and password_file`,
      );
    }
    if (options.requireUsername && !b.username) {
      errors.push(`${at("basic_auth", "username")}: is required`);
    }
    return {
      kind: "basic",
      username: b.username ?? "",
      password: b.password ?? "",
      passwordFile: file(b.password_file),
    };
  }
  if (r.authorization) {
    const a = r.authorization;
    if (a.credentials !== undefined && a.credentials_file !== undefined) {
      errors.push(
        `${at("authorization", "credentials_file")}: at most one of credentials and ` +
          "credentials_file",
      );
    }
    if (a.type !== undefined && a.type.toLowerCase() === "basic") {
      errors.push(`${at("authorization", "type")}: use basic_auth for Basic authentication`);
    }
    return {
      kind: "authorization",
      type: a.type ?? "Bearer",
      credentials: a.credentials ?? "",
      credentialsFile: file(a.credentials_file),
    };
  }
  if (r.bearer_token !== undefined || r.bearer_token_file !== undefined) {
    return {
      kind: "authorization",
      type: "Bearer",
      credentials: r.bearer_token ?? "",
      credentialsFile: file(r.bearer_token_file),
    };
  }
  return { kind: "none" };
}
