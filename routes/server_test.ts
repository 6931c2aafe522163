import assert from "node:assert/strict";
import { sweepSocketDirs } from "./server.ts";

Deno.test("sweepSocketDirs removes the socket directories of killed processes only", async () => {
  const parent = await Deno.makeTempDir();
  const mk = async (name: string) => {
    await Deno.mkdir(`${parent}/${name}`);
    return `${parent}/${name}`;
  };
  // A process that listened and was killed: its socket file stays, nobody answers.
  const killed = await mk("perch-http-killed");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `Deno.listen({ transport: "unix", path: ${JSON.stringify(`${killed}/http.sock`)} });
       console.log("up"); setInterval(() => {}, 1000);`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  assert.ok(Deno.statSync(`${killed}/http.sock`).isSocket);
  // A live one, our own, one still being set up, an old empty one, and something else.
  const live = await mk("perch-http-live");
  const listener = Deno.listen({ transport: "unix", path: `${live}/http.sock` });
  const own = await mk("perch-http-own");
  const young = await mk("perch-http-young");
  const old = await mk("perch-http-old");
  await Deno.utime(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
  const other = await mk("something-else");

  assert.equal(await sweepSocketDirs(parent, own), 2);
  const left = [...Deno.readDirSync(parent)].map((e) => `${parent}/${e.name}`).sort();
  assert.deepEqual(left, [live, own, young, other].sort());
  listener.close();
  await Deno.remove(parent, { recursive: true });
});
