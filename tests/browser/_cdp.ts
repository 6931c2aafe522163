/**
 * A small Chrome DevTools Protocol client for browser tests: launches the
 * system Chromium headless with its own profile, attaches to one page over
 * a flat session, and offers navigate / evaluate / screenshot / waitFor.
 * No downloaded browser, no puppeteer.
 *
 * @module
 */

/** Where the system Chromium lives. */
export const CHROMIUM = "/usr/bin/chromium";

/** A page expression: the non-transparent pixels of the first canvas under `selector`. */
export function inkedPixels(selector: string): string {
  return `(() => {
  const c = document.querySelector('${selector} canvas');
  if (!c || !c.width) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
})()`;
}

type Handler = (params: Record<string, unknown>) => void;

/** One browser with one page. */
export class Browser {
  #ws!: WebSocket;
  #id = 0;
  #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; method: string }
  >();
  #handlers = new Map<string, Set<Handler>>();
  #session = "";
  /** Console errors and uncaught exceptions seen on the page. */
  readonly errors: string[] = [];
  /** Every console message (type: text). */
  readonly console: string[] = [];

  private constructor(readonly process: Deno.ChildProcess, readonly profile: string) {}

  /** Starts Chromium and opens a blank page. */
  static async launch(opts: { width?: number; height?: number } = {}): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "perch-chromium-" });
    const proc = new Deno.Command(CHROMIUM, {
      args: [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        `--window-size=${opts.width ?? 1280},${opts.height ?? 900}`,
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const url = await readDevtoolsUrl(proc.stderr);
    const b = new Browser(proc, profile);
    await b.#open(url);
    return b;
  }

  async #open(url: string): Promise<void> {
    this.#ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      this.#ws.onopen = () => resolve();
      this.#ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    this.#ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.id !== undefined) {
        const p = this.#pending.get(m.id);
        if (!p) return;
        this.#pending.delete(m.id);
        if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`));
        else p.resolve(m.result);
      } else if (m.method) {
        for (const h of this.#handlers.get(m.method) ?? []) h(m.params);
      }
    };
    const { targetId } = await this.send<{ targetId: string }>("Target.createTarget", {
      url: "about:blank",
    }, false);
    const { sessionId } = await this.send<{ sessionId: string }>(
      "Target.attachToTarget",
      { targetId, flatten: true },
      false,
    );
    this.#session = sessionId;
    await this.send("Page.enable");
    await this.send("Runtime.enable");
    await this.send("Log.enable");
    this.on("Runtime.consoleAPICalled", (p) => {
      const args = (p.args as { value?: unknown; description?: string }[]) ?? [];
      const text = args.map((a) => a.value ?? a.description ?? "").join(" ");
      this.console.push(`${p.type}: ${text}`);
      if (p.type === "error") this.errors.push(`console.error: ${text}`);
    });
    this.on("Runtime.exceptionThrown", (p) => {
      const d = p.exceptionDetails as { text: string; exception?: { description?: string } };
      this.errors.push(`exception: ${d.exception?.description ?? d.text}`);
    });
    this.on("Log.entryAdded", (p) => {
      const e = p.entry as { level: string; text: string; url?: string };
      if (e.level === "error") this.errors.push(`log: ${e.text} ${e.url ?? ""}`);
    });
  }

  /** Sends a command (to the page session unless `page` is false). */
  send<T = unknown>(method: string, params: Record<string, unknown> = {}, page = true): Promise<T> {
    const id = ++this.#id;
    const msg: Record<string, unknown> = { id, method, params };
    if (page) msg.sessionId = this.#session;
    this.#ws.send(JSON.stringify(msg));
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method });
    });
  }

  /** Listens to an event; returns an unsubscribe function. */
  on(method: string, h: Handler): () => void {
    let set = this.#handlers.get(method);
    if (!set) this.#handlers.set(method, set = new Set());
    set.add(h);
    return () => set.delete(h);
  }

  /** Navigates and waits for the load event. */
  async goto(url: string, timeoutMs = 20_000): Promise<void> {
    let off = () => {};
    const loaded = new Promise<void>((resolve) => {
      off = this.on("Page.loadEventFired", () => resolve());
    });
    await this.send("Page.navigate", { url });
    await withTimeout(loaded, timeoutMs, `load of ${url}`);
    off();
  }

  /** Evaluates an expression in the page (awaiting promises) and returns its JSON value. */
  async eval<T = unknown>(expression: string): Promise<T> {
    const r = await this.send<
      {
        result: { value?: T };
        exceptionDetails?: { text: string; exception?: { description?: string } };
      }
    >(
      "Runtime.evaluate",
      { expression, awaitPromise: true, returnByValue: true },
    );
    if (r.exceptionDetails) {
      throw new Error(
        `eval failed: ${
          r.exceptionDetails.exception?.description ?? r.exceptionDetails.text
        }\n${expression}`,
      );
    }
    return r.result.value as T;
  }

  /** Polls `expression` until it is truthy; returns its value. */
  async waitFor<T = unknown>(
    expression: string,
    timeoutMs = 15_000,
    what = expression,
  ): Promise<T> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < end) {
      last = await this.eval<T>(expression).catch((e) => e);
      if (last && !(last instanceof Error)) return last as T;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what} (last: ${last})`);
  }

  /** Sets the viewport size. */
  async viewport(width: number, height: number): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: width < 700,
    });
  }

  /** Saves a PNG screenshot. */
  async screenshot(path: string): Promise<void> {
    const { data } = await this.send<{ data: string }>("Page.captureScreenshot", { format: "png" });
    const bin = atob(data);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    await Deno.writeFile(path, bytes);
  }

  /** Dispatches a mouse event at CSS pixel coordinates. */
  mouse(
    type: "mousePressed" | "mouseReleased" | "mouseMoved",
    x: number,
    y: number,
  ): Promise<unknown> {
    return this.send("Input.dispatchMouseEvent", {
      type,
      x,
      y,
      button: "left",
      buttons: type === "mouseReleased" ? 0 : 1,
      clickCount: 1,
    });
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    try {
      await withTimeout(this.send("Browser.close", {}, false), 3000, "Browser.close");
    } catch {
      try {
        this.process.kill("SIGKILL");
      } catch {
        // Gone.
      }
    }
    try {
      this.#ws.close();
    } catch {
      // Closed.
    }
    await this.process.status;
    await this.process.stderr.cancel().catch(() => {});
    await Deno.remove(this.profile, { recursive: true }).catch(() => {});
  }
}

async function readDevtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.getReader();
  const dec = new TextDecoder();
  let buf = "";
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
    if (m) {
      // Keep draining stderr so Chromium never blocks on a full pipe.
      (async () => {
        try {
          while (!(await reader.read()).done) { /* Drain. */ }
        } catch {
          // Closed.
        }
      })();
      return m[1]!;
    }
  }
  throw new Error(`Chromium did not print its DevTools URL:\n${buf}`);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]);
}
