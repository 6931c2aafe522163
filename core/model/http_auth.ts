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
