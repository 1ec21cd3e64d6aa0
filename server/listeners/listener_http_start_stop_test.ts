// The HTTP port on the listener Workers (`--listeners 2`) bound and shut down:
// binding it passes over a failed Worker, and a shutdown answers every request
// the Workers took. Needs `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { startServer } from "../server.ts";
import { ListenerWorkers } from "./listener_workers.ts";
import { serveHttpOnListeners } from "./listener_http.ts";
import { listenerOptions } from "../board_settings.ts";
import { withServerDefaults } from "../options.ts";
import type { HttpDeps } from "../http/http.ts";
import { standInWorker } from "../testing/engine_stand_in.ts";
import { needUnstableNet, plain } from "../testing/listener_http.ts";

/** An engine that takes 200 ms a run of digits that are not blank: requests are in flight a while. */
const SLOW = standInWorker({
  prelude: "const nap = new Int32Array(new SharedArrayBuffer(4));",
  run: "if (i === 0 && data.some((v) => v > 0)) Atomics.wait(nap, 0, 0, 200);",
});

Deno.test("--listeners 2: a shutdown answers every HTTP request the Workers took", async () => {
  needUnstableNet();
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    httpPort: 0,
    warmUpMs: 0,
    listeners: 2,
    workerUrl: SLOW,
    instances: 1,
    maxBatch: 1,
    log: new Logger("error", () => {}),
  });
  const base = `http://127.0.0.1:${server.http!.addr.port}`;
  const answers = Array.from(
    { length: 6 },
    () =>
      fetch(`${base}/v2/models/mnist/infer`, { method: "POST", body: plain })
        .then(async (r) => `${r.status} ${(await r.json()).id}`),
  );
  // Every request is on the main thread (in the queue or its run) before the shutdown.
  while (server.queue.inFlight < 6) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await server.shutdown();
  assert.deepEqual(await Promise.all(answers), Array(6).fill("200 seven"));
});

Deno.test("--listeners 2: binding the HTTP port passes over a failed Worker: it neither waits for it nor fails", async () => {
  needUnstableNet();
  const failures: string[] = [];
  const log = new Logger("error", (line) => failures.push(line));
  const workers = await ListenerWorkers.start(2, listenerOptions(withServerDefaults({ log })));
  // Not restarted while the test binds: the failed Worker stays in its place.
  workers.restarts.delaysMs = [60_000];
  try {
    // A message the Worker cannot read: its uncaught error ends it.
    workers.links[1].send({ type: "replies", buffer: null!, length: 12 });
    while (failures.length === 0) await new Promise((r) => setTimeout(r, 10));
    const deps = { log, maxBodyBytes: 1024, handler: { tokensOn: false } } as unknown as HttpDeps;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = await Promise.race([
      serveHttpOnListeners(workers, deps, { hostname: "127.0.0.1", port: 0 }).then(
        (http) => http.shutdown().then(() => "bound"),
        (e: Error) => e.message,
      ),
      new Promise<string>((r) => timer = setTimeout(() => r("no answer in 10 s"), 10_000)),
    ]);
    clearTimeout(timer);
    // The Worker started in its place binds the port then (`onRestart`;
    // listener_start_failure_test.ts sees one serve it).
    assert.equal(bound, "bound");
  } finally {
    await workers.shutdown();
  }
});
