/**
 * A notifier in its own process for the crash test:
 * `deno run -A _child.ts <kv path> <webhook url>`. Puts one firing alert (as
 * rules would on every evaluation, also after a restart) and delivers with
 * fast retries until killed. Prints "started" once running.
 */
import { alert, realNotifier } from "./_util.ts";

const [kvPath, url] = Deno.args;
const kv = await Deno.openKv(kvPath);
const t = await realNotifier({
  route: { receiver: "hook", group_by: ["alertname"], group_wait: "50ms", group_interval: "1h" },
  receivers: [{ name: "hook", webhook_configs: [{ url: url! }] }],
}, kv);
const a = alert({ alertname: "Crash", instance: "h1" }, { startsAt: 1_700_000_000_000 });
await t.notifier.sink.put([a], Date.now());
console.log("started");
setInterval(() => void t.notifier.sink.put([a], Date.now()), 100);
