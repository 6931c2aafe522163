/**
 * Email channel: a multipart/alternative (text + HTML) message with proper
 * headers (Date, Message-ID stable across retries), sent over SMTP.
 *
 * @module
 */
import type { EmailConfig } from "./email_config.ts";
import type { Logger } from "../../logging/mod.ts";
import { type Notification, templateData } from "../notification.ts";
import { type ChannelSender, errText } from "./channel.ts";
import { plainText, renderOr } from "./render.ts";
import { sendMail, SmtpError } from "./smtp.ts";

/** Encodes text as quoted-printable (RFC 2045), CRLF line ends. */
export function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.replace(/\r\n/g, "\n").split("\n")) {
    let cur = "";
    const bytes = new TextEncoder().encode(line);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      const last = i === bytes.length - 1;
      let piece: string;
      if ((b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last)) {
        piece = String.fromCharCode(b);
      } else piece = "=" + b.toString(16).toUpperCase().padStart(2, "0");
      if (cur.length + piece.length > 75) {
        out.push(cur + "=");
        cur = "";
      }
      cur += piece;
    }
    out.push(cur);
  }
  return out.join("\r\n");
}

/** Encodes a header value as RFC 2047 UTF-8 when it is not plain ASCII. */
export function encodeHeader(v: string): string {
  if (/^[\x20-\x7e]*$/.test(v)) return v;
  const bytes = new TextEncoder().encode(v);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `=?UTF-8?B?${btoa(bin)}?=`;
}

/** RFC 5322 date, e.g. `Mon, 01 Jan 2024 00:00:00 +0000`. */
export function rfc5322Date(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, "+0000");
}

/** The address part of `Name <a@b>` or `a@b`. */
export function addressOf(s: string): string {
  const m = /<([^>]+)>/.exec(s);
  return (m ? m[1]! : s).trim();
}

/** Builds the whole message (headers and body) for `n`. */
export function buildEmail(
  n: Notification,
  c: EmailConfig,
  log: Logger,
  messageId: string,
  now: number,
): { from: string; to: string[]; message: string } {
  const data = templateData(n);
  const fallback = plainText(n);
  const headers: Record<string, string> = {
    From: c.from,
    To: c.to,
    Subject: '{{ template "email.default.subject" . }}',
  };
  for (const [k, v] of Object.entries(c.headers)) {
    const canon = Object.keys(headers).find((h) => h.toLowerCase() === k.toLowerCase()) ?? k;
    headers[canon] = v;
  }
  const rendered: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const val = renderOr(
      v,
      data,
      k === "Subject" ? fallback.split("\n")[0]! : v,
      log,
      `headers.${k}`,
    );
    rendered[k] = val.replace(/[\r\n]+/g, " ").trim();
  }
  const text = renderOr(c.text, data, fallback, log, "text");
  const html = renderOr(c.html, data, "", log, "html", { html: true });
  const boundary = `perch-${messageId.replace(/[^a-zA-Z0-9]/g, "").slice(0, 24)}`;
  const domain = addressOf(rendered.From!).split("@")[1] ?? "perch.local";
  const lines: string[] = [];
  for (const [k, v] of Object.entries(rendered)) lines.push(`${k}: ${encodeHeader(v)}`);
  lines.push(`Date: ${rfc5322Date(now)}`);
  lines.push(`Message-ID: <${messageId}@${domain}>`);
  lines.push("MIME-Version: 1.0");
  const textPart = [
    "Content-Type: text/plain; charset=UTF-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    quotedPrintable(text),
  ];
  if (html) {
    lines.push(`Content-Type: multipart/alternative; boundary="${boundary}"`, "");
    lines.push(`--${boundary}`, ...textPart, `--${boundary}`);
    lines.push("Content-Type: text/html; charset=UTF-8");
    lines.push("Content-Transfer-Encoding: quoted-printable", "", quotedPrintable(html));
    lines.push(`--${boundary}--`, "");
  } else {
    lines.push(...textPart);
  }
  const to = rendered.To!.split(",").map(addressOf).filter((a) => a !== "");
  return { from: addressOf(rendered.From!), to, message: lines.join("\r\n") };
}

/** Sends a notification by email. */
export const sendEmail: ChannelSender<EmailConfig> = async (n, c, ctx) => {
  const { from, to, message } = buildEmail(n, c, ctx.logger, ctx.idempotencyKey, ctx.now);
  const [host, portText] = [
    c.smarthost.slice(0, c.smarthost.lastIndexOf(":")),
    c.smarthost.slice(c.smarthost.lastIndexOf(":") + 1),
  ];
  const port = Number(portText);
  try {
    const caCerts: string[] = [];
    if (c.ca) caCerts.push(c.ca);
    if (c.caFile) caCerts.push(await Deno.readTextFile(c.caFile));
    await sendMail(
      {
        host,
        port,
        hello: c.hello,
        username: c.authUsername,
        password: c.authPassword,
        identity: c.authIdentity,
        requireTls: c.requireTls,
        implicitTls: port === 465,
        caCerts: caCerts.length > 0 ? caCerts : undefined,
        serverName: c.serverName,
        timeoutMs: c.timeoutMs,
      },
      from,
      to,
      message,
    );
    return { ok: true };
  } catch (e) {
    const permanent = e instanceof SmtpError && e.permanent;
    return { ok: false, retry: !permanent, error: `SMTP ${c.smarthost}: ${errText(e)}` };
  }
};
