/**
 * UI routes: server-rendered pages and the embedded static assets.
 */
import { Hono } from "hono";
import { ASSETS } from "../../static/gen/assets.ts";
import { HomePage, type HomeData } from "./home.tsx";
import { renderPage } from "./layout.tsx";

/** What the UI routes need. */
export interface UiDeps {
  readonly homeData: () => Promise<HomeData>;
}

const gzipCache = new Map<string, Uint8Array>();

async function gzip(key: string, body: string): Promise<Uint8Array> {
  let z = gzipCache.get(key);
  if (!z) {
    const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
    z = new Uint8Array(await new Response(stream).arrayBuffer());
    gzipCache.set(key, z);
  }
  return z;
}

/** Pages and `/static/*`. */
export function uiRoutes(deps: UiDeps): Hono {
  const app = new Hono();

  app.get("/", async (c) => {
    const data = await deps.homeData();
    return c.html(renderPage(<HomePage data={data} />));
  });

  app.get("/static/*", async (c) => {
    const asset = ASSETS[c.req.path];
    if (!asset) return c.json({ error: `not found: ${c.req.path}` }, 404);
    const etag = `"${asset.etag}"`;
    const headers: Record<string, string> = {
      "Content-Type": asset.type,
      "ETag": etag,
      "Cache-Control": c.req.query("v") ? "public, max-age=31536000, immutable" : "no-cache",
      "Vary": "Accept-Encoding",
    };
    if (c.req.header("If-None-Match") === etag) return c.body(null, 304, headers);
    if ((c.req.header("Accept-Encoding") ?? "").includes("gzip")) {
      const z = await gzip(c.req.path + asset.etag, asset.body);
      return c.body(z as Uint8Array<ArrayBuffer>, 200, { ...headers, "Content-Encoding": "gzip" });
    }
    return c.body(asset.body, 200, headers);
  });

  return app;
}
