/**
 * Watching the config file, so saving it reloads Perch (besides SIGHUP and
 * `POST /-/reload`).
 *
 * @module
 */

/** Calls `onChange` (debounced 250 ms) whenever the file is written or replaced. */
export function watchFile(path: string, onChange: () => void): { close(): void } | undefined {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  const base = path.slice(path.lastIndexOf("/") + 1);
  let watcher: Deno.FsWatcher;
  try {
    // Editors often replace the file, so watch its directory.
    watcher = Deno.watchFs(dir, { recursive: false });
  } catch {
    return undefined;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  (async () => {
    try {
      for await (const ev of watcher) {
        if (!ev.paths.some((p) => p.endsWith("/" + base) || p === base)) continue;
        if (ev.kind === "access") continue;
        clearTimeout(timer);
        timer = setTimeout(onChange, 250);
      }
    } catch {
      // Closed.
    }
  })();
  return {
    close() {
      // A save just before closing must not fire after it.
      clearTimeout(timer);
      watcher.close();
    },
  };
}
