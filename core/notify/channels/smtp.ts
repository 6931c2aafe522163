/**
 * A small SMTP client on Deno's sockets: EHLO, STARTTLS (or implicit TLS),
 * AUTH PLAIN/LOGIN, MAIL FROM, RCPT TO and DATA with dot-stuffing.
 *
 * @module
 */

/** Where and how to deliver. */
export interface SmtpOptions {
  readonly host: string;
  readonly port: number;
  /** Name sent with EHLO. */
  readonly hello: string;
  readonly username?: string;
  readonly password?: string;
  readonly identity?: string;
  /** Refuse to send without TLS (STARTTLS or implicit). */
  readonly requireTls: boolean;
  /** TLS from the first byte (port 465). */
  readonly implicitTls: boolean;
  /** Extra CA certificates (PEM) to trust. */
  readonly caCerts?: readonly string[];
  /** Name to verify the certificate against. @default host */
  readonly serverName?: string;
  readonly timeoutMs: number;
}

/** An SMTP failure; `permanent` for 5xx replies and policy problems. */
export class SmtpError extends Error {
  constructor(message: string, readonly permanent: boolean, readonly code?: number) {
    super(message);
    this.name = "SmtpError";
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

class Session {
  #buf = "";
  constructor(public conn: Deno.Conn) {}

  async write(s: string): Promise<void> {
    const bytes = enc.encode(s);
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  async #line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf("\r\n");
      if (i >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        return line;
      }
      const chunk = new Uint8Array(4096);
      const n = await this.conn.read(chunk);
      if (n === null) throw new SmtpError("connection closed by server", false);
      this.#buf += dec.decode(chunk.subarray(0, n));
    }
  }

  /** Reads a (multi-line) reply. */
  async reply(): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.#line();
      const m = /^(\d{3})([ -])(.*)$/.exec(l);
      if (!m) throw new SmtpError(`malformed reply ${JSON.stringify(l.slice(0, 80))}`, false);
      lines.push(m[3]!);
      if (m[2] === " ") return { code: Number(m[1]), lines };
    }
  }

  /** Sends a command (unless undefined) and expects one of `ok` codes. */
  async expect(cmd: string | undefined, ok: number[], what: string): Promise<string[]> {
    if (cmd !== undefined) await this.write(cmd + "\r\n");
    const r = await this.reply();
    if (!ok.includes(r.code)) {
      throw new SmtpError(`${what}: ${r.code} ${r.lines.join(" ")}`, r.code >= 500, r.code);
    }
    return r.lines;
  }

  pendingInput(): boolean {
    return this.#buf.length > 0;
  }
}

/** Dot-stuffs a message and normalises line endings to CRLF. */
export function dotStuff(message: string): string {
  return message.replace(/\r?\n/g, "\r\n").split("\r\n").map((l) => l.startsWith(".") ? "." + l : l)
    .join("\r\n");
}

/** Delivers one message; throws SmtpError. */
export async function sendMail(
  o: SmtpOptions,
  from: string,
  to: readonly string[],
  message: string,
): Promise<void> {
  const caCerts = o.caCerts ? [...o.caCerts] : undefined;
  const serverName = o.serverName ?? o.host;
  let conn: Deno.Conn;
  try {
    conn = o.implicitTls
      ? await Deno.connectTls({ hostname: o.host, port: o.port, caCerts })
      : await Deno.connect({ hostname: o.host, port: o.port });
  } catch (e) {
    throw new SmtpError(`connect to ${o.host}:${o.port}: ${(e as Error).message}`, false);
  }
  const s = new Session(conn);
  const timer = setTimeout(() => {
    try {
      s.conn.close();
    } catch { /* Already closed. */ }
  }, o.timeoutMs);
  try {
    await s.expect(undefined, [220], "greeting");
    let ext = await s.expect(`EHLO ${o.hello}`, [250], "EHLO");
    let tls = o.implicitTls;
    if (!tls && ext.some((l) => /^STARTTLS\b/i.test(l))) {
      await s.expect("STARTTLS", [220], "STARTTLS");
      if (s.pendingInput()) throw new SmtpError("server sent data before the TLS handshake", false);
      s.conn = await Deno.startTls(s.conn as Deno.TcpConn, { hostname: serverName, caCerts });
      tls = true;
      ext = await s.expect(`EHLO ${o.hello}`, [250], "EHLO after STARTTLS");
    }
    if (!tls && o.requireTls) {
      throw new SmtpError("server does not offer STARTTLS and require_tls is set", true);
    }
    if (o.username) {
      const auth = ext.find((l) => /^AUTH\b/i.test(l))?.toUpperCase().split(/[\s=]+/) ?? [];
      if (auth.includes("PLAIN")) {
        const token = b64(`${o.identity ?? ""}\0${o.username}\0${o.password ?? ""}`);
        await s.expect(`AUTH PLAIN ${token}`, [235], "AUTH PLAIN");
      } else if (auth.includes("LOGIN")) {
        await s.expect("AUTH LOGIN", [334], "AUTH LOGIN");
        await s.expect(b64(o.username), [334], "AUTH LOGIN username");
        await s.expect(b64(o.password ?? ""), [235], "AUTH LOGIN password");
      } else {
        throw new SmtpError("server offers neither AUTH PLAIN nor AUTH LOGIN", true);
      }
    }
    await s.expect(`MAIL FROM:<${from}>`, [250], "MAIL FROM");
    for (const rcpt of to) await s.expect(`RCPT TO:<${rcpt}>`, [250, 251], `RCPT TO ${rcpt}`);
    await s.expect("DATA", [354], "DATA");
    let body = dotStuff(message);
    if (!body.endsWith("\r\n")) body += "\r\n";
    await s.expect(body + ".", [250], "message");
    try {
      await s.expect("QUIT", [221], "QUIT");
    } catch { /* The message is accepted; QUIT trouble does not matter. */ }
  } catch (e) {
    if (e instanceof SmtpError) throw e;
    throw new SmtpError((e as Error).message ?? String(e), false);
  } finally {
    clearTimeout(timer);
    try {
      s.conn.close();
    } catch { /* Already closed. */ }
  }
}

function b64(s: string): string {
  const bytes = enc.encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
