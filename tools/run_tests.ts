/**
 * Runs the whole test suite (`deno task test`) and ends with one line
 * `N passed, M failed`, as CI expects. Extra arguments go to `deno test`
 * (e.g. a path to run a subset).
 */

const args = Deno.args.length > 0 ? Deno.args : [];
const cmd = new Deno.Command(Deno.execPath(), {
  args: ["test", "--allow-all", "--no-prompt", ...args],
  env: { NO_COLOR: "1" },
  stdout: "piped",
  stderr: "inherit",
});
const child = cmd.spawn();
const dec = new TextDecoder();
let tail = "";
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + dec.decode(chunk, { stream: true })).slice(-4096);
}
const { code } = await child.status;

// Deno prints e.g. "ok | 12 passed (3 steps) | 0 failed (2s)".
const m = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(tail);
if (m) {
  console.log(`${m[1]} passed, ${m[2]} failed`);
} else {
  // Deno could not even run the tests (type error, bad import): count it as one failure.
  console.log(`0 passed, 1 failed`);
}
Deno.exit(code === 0 && m && m[2] === "0" ? 0 : 1);
