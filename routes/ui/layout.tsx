/**
 * The page shell shared by every UI page: head, navigation, island markers.
 */
import type { ComponentChildren, ComponentType } from "preact";
import { renderToString } from "preact-render-to-string";
import { ASSETS } from "../../static/gen/assets.ts";
import { VERSION } from "../../core/version.ts";

/** The navigation entries, in order. */
export const NAV: readonly { href: string; label: string }[] = [
  { href: "/", label: "Home" },
  { href: "/dashboards", label: "Dashboards" },
  { href: "/explore", label: "Explore" },
  { href: "/alerts", label: "Alerts" },
  { href: "/targets", label: "Targets" },
  { href: "/status", label: "Status" },
];

function assetUrl(path: string): string {
  const a = ASSETS[path];
  return a ? `${path}?v=${a.etag}` : path;
}

/** Renders an island on the server and marks it for hydration in the browser. */
export function Island<P extends object>(
  { name, component: C, props }: { name: string; component: ComponentType<P>; props: P },
) {
  return (
    <div data-island={name} data-props={JSON.stringify(props)}>
      <C {...props} />
    </div>
  );
}

/** Which island bundle a page loads: `app` (light) or `dash` (with charts). */
export type Bundle = "app" | "dash";

/** The page frame. */
export function Page(
  { title, path, children, bundle = "app" }: {
    title: string;
    path: string;
    children: ComponentChildren;
    bundle?: Bundle;
  },
) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <link rel="icon" href="data:," />
        <title>{`${title} · Perch`}</title>
        <link rel="stylesheet" href={assetUrl("/static/style.css")} />
        <script type="module" src={assetUrl(`/static/${bundle}.js`)} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/">Perch</a>
          <nav aria-label="Main">
            {NAV.map((n) => (
              <a
                href={n.href}
                aria-current={n.href === path || (n.href !== "/" && path.startsWith(n.href))
                  ? "page"
                  : undefined}
              >
                {n.label}
              </a>
            ))}
          </nav>
          <span class="muted">v{VERSION}</span>
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}

/** Renders a page element to a full HTML document. */
export function renderPage(page: preact.JSX.Element): string {
  return "<!DOCTYPE html>" + renderToString(page);
}
