/**
 * A tiny SMTP server for tests: EHLO, STARTTLS (when given a cert), AUTH
 * PLAIN/LOGIN, MAIL, RCPT, DATA (with dot-unstuffing) and QUIT. Built on
 * node:net/node:tls because Deno has no server-side STARTTLS.
 */
import net from "node:net";
import tls from "node:tls";
import { Buffer } from "node:buffer";

/** A received message. */
export interface SinkMessage {
  readonly from: string;
  readonly to: string[];
  readonly data: string;
  readonly tls: boolean;
  readonly user?: string;
  readonly password?: string;
}

/** Options for the sink. */
export interface SinkOptions {
  /** PEM key and cert: enables STARTTLS. */
  readonly tls?: { key: string; cert: string };
  /** Accepted credentials; when set, MAIL needs AUTH first. */
  readonly auth?: { user: string; password: string };
  /** Reply to the first N DATA commands with this code (e.g. 451). */
  readonly failData?: { times: number; code: number };
}

/** Starts a sink on 127.0.0.1 and a free port. */
export async function startSmtpSink(opts: SinkOptions = {}) {
  const messages: SinkMessage[] = [];
  const transcripts: string[][] = [];
  let failures = opts.failData?.times ?? 0;
  const server = net.createServer((raw) => {
    const log: string[] = [];
    transcripts.push(log);
    let sock: net.Socket | tls.TLSSocket = raw;
    let secure = false;
    let buf = "";
    let inData = false;
    let data: string[] = [];
    let from = "";
    let to: string[] = [];
    let authed = !opts.auth;
    let user: string | undefined, password: string | undefined;
    let authStep: "" | "user" | "pass" = "";
    const send = (l: string) => {
      log.push(`S: ${l}`);
      sock.write(l + "\r\n");
    };
    const onLine = (line: string) => {
      if (inData) {
        if (line === ".") {
          inData = false;
          if (failures > 0) {
            failures--;
            send(`${opts.failData!.code} try again later`);
            return;
          }
          messages.push({ from, to, data: data.join("\r\n"), tls: secure, user, password });
          send("250 OK queued");
        } else data.push(line.startsWith("..") ? line.slice(1) : line);
        return;
      }
      log.push(`C: ${line}`);
      if (authStep === "user") {
        user = Buffer.from(line, "base64").toString();
        authStep = "pass";
        send("334 UGFzc3dvcmQ6");
        return;
      }
      if (authStep === "pass") {
        password = Buffer.from(line, "base64").toString();
        authStep = "";
        authed = user === opts.auth!.user && password === opts.auth!.password;
        send(authed ? "235 Authenticated" : "535 Bad credentials");
        return;
      }
      const [cmd, ...rest] = line.split(" ");
      const arg = rest.join(" ");
      switch (cmd!.toUpperCase()) {
        case "EHLO":
          sock.write(`250-sink greets ${arg}\r\n`);
          if (opts.tls && !secure) sock.write("250-STARTTLS\r\n");
          if (opts.auth) sock.write("250-AUTH PLAIN LOGIN\r\n");
          send("250 8BITMIME");
          break;
        case "STARTTLS": {
          if (!opts.tls || secure) return send("502 not available");
          send("220 Ready to start TLS");
          raw.removeAllListeners("data");
          const t = new tls.TLSSocket(raw, {
            isServer: true,
            key: opts.tls.key,
            cert: opts.tls.cert,
          });
          sock = t;
          secure = true;
          buf = "";
          t.on("data", onData);
          t.on("error", () => {});
          break;
        }
        case "AUTH": {
          const [mech, initial] = arg.split(" ");
          if (mech === "PLAIN") {
            const [, u, p] = Buffer.from(initial ?? "", "base64").toString().split("\0");
            user = u;
            password = p;
            authed = u === opts.auth?.user && p === opts.auth?.password;
            send(authed ? "235 Authenticated" : "535 Bad credentials");
          } else if (mech === "LOGIN") {
            authStep = "user";
            send("334 VXNlcm5hbWU6");
          } else send("504 unknown mechanism");
          break;
        }
        case "MAIL":
          if (!authed) return send("530 Authentication required");
          from = /<([^>]*)>/.exec(arg)?.[1] ?? "";
          to = [];
          send("250 OK");
          break;
        case "RCPT":
          to.push(/<([^>]*)>/.exec(arg)?.[1] ?? "");
          send("250 OK");
          break;
        case "DATA":
          inData = true;
          data = [];
          send("354 End data with <CR><LF>.<CR><LF>");
          break;
        case "QUIT":
          send("221 Bye");
          sock.end();
          break;
        default:
          send("500 unknown command");
      }
    };
    const onData = (chunk: Uint8Array) => {
      buf += new TextDecoder().decode(chunk);
      let i;
      while ((i = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        onLine(line);
      }
    };
    raw.on("data", onData);
    raw.on("error", () => {});
    send("220 sink ESMTP");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    messages,
    transcripts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * A test CA and a localhost certificate signed by it, made with openssl in a
 * temp dir (rustls refuses a self-signed certificate used as its own CA).
 */
export async function makeTestCerts(): Promise<{ ca: string; key: string; cert: string }> {
  const dir = await Deno.makeTempDir({ prefix: "perch-certs-" });
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=Perch Test CA",
  ]);
  await run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "key.pem",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await run([
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  const res = {
    ca: await read("ca.pem"),
    key: await read("key.pem"),
    cert: await read("cert.pem"),
  };
  await Deno.remove(dir, { recursive: true });
  return res;
}

/** Waits until `pred()` holds, polling every 20ms, up to `ms`. */
export async function waitFor(pred: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
