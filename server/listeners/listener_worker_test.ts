// A listener Worker's drain (`listener_worker.ts`) against the real server:
// a shutdown stops the board port accepting at once, as in process, while the
// HTTP requests the Workers took are still being answered. Needs
// `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import { standInWorker } from "../testing/engine_stand_in.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";

/** An engine that takes 300 ms a run of digits that are not blank: requests are in flight a while. */
const SLOW = standInWorker({
  prelude: "const nap = new Int32Array(new SharedArrayBuffer(4));",
  run: "if (i === 0 && data.some((v) => v > 0)) Atomics.wait(nap, 0, 0, 300);",
});

const body = JSON.stringify({
  id: "seven",
  inputs: [{ name: "input", datatype: "UINT8", shape: [1, 784], data: Array(784).fill(255) }],
});

/** How many of 4 HTTP inferences were answered when the board port first refused a connection after a shutdown began. */
async function answeredWhenRefused(listeners: number): Promise<number> {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    httpPort: 0,
    warmUpMs: 0,
    listeners,
    workerUrl: SLOW,
    instances: 1,
    maxBatch: 1,
    log: new Logger("error", () => {}),
  });
  const base = `http://127.0.0.1:${server.http!.addr.port}`;
  let answered = 0;
  const answers = Array.from(
    { length: 4 },
    () =>
      fetch(`${base}/v2/models/mnist/infer`, { method: "POST", body })
        .then(async (r) => `${r.status} ${(await r.json()).id}`)
        .finally(() => answered++),
  );
  while (server.queue.inFlight < 4) await new Promise((r) => setTimeout(r, 10));
  const stopped = server.shutdown();
  let refusedAt = -1;
  while (refusedAt < 0) {
    const accepted = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port })
      .then((conn) => (conn.close(), true), () => false);
    if (!accepted) refusedAt = answered;
    else await new Promise((r) => setTimeout(r, 20));
  }
  await stopped;
  assert.deepEqual(await Promise.all(answers), Array(4).fill("200 seven"));
  return refusedAt;
}

Deno.test("--listeners 2: a shutdown stops the board port accepting while HTTP drains, as in process", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  // The 4 inferences take 1.2 s of engine time: the port refuses long before the last answer.
  assert.ok(await answeredWhenRefused(1) <= 2);
  assert.ok(await answeredWhenRefused(2) <= 2);
});
