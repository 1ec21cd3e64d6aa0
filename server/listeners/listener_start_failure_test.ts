// A listener Worker (`--listeners 2`) that fails during start-up, after its
// own bind and while the next Worker still binds (an uncaught error, by
// `server/testdata/failing_at_start_listener_worker.ts`), with real Workers,
// real sockets and the real server: it is handled as one failing later
// (logged, a new one started in its place), so the server starts, ends with
// both Workers serving both ports, and the shared limits count only the
// connections open. Needs `deno test --unstable-net`.
import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { serverWithListeners, stalledRequest } from "../testing/http_modes.ts";
import { statsStatus as stats } from "../testing/server.ts";
import { failWorker } from "../testing/listeners.ts";
import { until } from "../testing/until.ts";
import { listenerOptions } from "../board_settings.ts";
import { withServerDefaults } from "../options.ts";
import type { HttpDeps } from "../http/http.ts";
import { NO_WORKER_FOR_HTTP, serveHttpOnListeners } from "./listener_http.ts";
import { ListenerWorkers } from "./listener_workers.ts";

const FAILING_AT_START = new URL(
  "../testdata/failing_at_start_listener_worker.ts",
  import.meta.url,
);

Deno.test("--listeners 2: a Worker that fails during start after its bind is restarted in its place; both ports served, the counts right", async () => {
  const lines: Record<string, unknown>[] = [];
  const log = new Logger("info", (line) => lines.push(JSON.parse(line)), "json");
  const server = await serverWithListeners(2, { log, listenerWorkerUrl: FAILING_AT_START });
  const workers = server.listenerWorkers!;
  const conns: Deno.Conn[] = [];
  try {
    // Seen and logged as a failure, not left to look serving (nor to the liveness check).
    const failed = lines.filter((line) => line.msg === "a listener Worker failed");
    assert.equal(failed.length, 1);
    assert.equal(failed[0].thread, 1);
    assert.match(String(failed[0].error), /a listener Worker failing during start-up/);
    await until(() => workers.serving === 2, "its place restarted");
    assert.equal(workers.restarts.count, 1);
    assert.equal(server.ready(), true);
    assert.deepEqual(lines.filter((line) => line.msg === "a listener Worker hung: given up"), []);
    assert.equal(workers.open, 0, "nothing counted before a client");

    // The board port: new clients until the new Worker has served one too, each kept open.
    for (let tries = 0; workers.connectionsPerListener[0] === 0; tries++) {
      assert.ok(tries < 50, "the new Worker serves the board port");
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      conns.push(conn);
      assert.equal(await stats(conn), "OK");
    }
    assert.equal(workers.open, conns.length, "the counts match the connections open");
    const held = workers.links.map((link) => workers.limits.held(link.thread).open);
    assert.deepEqual(held, workers.connectionsPerListener, "each Worker counts its own");
    for (const conn of conns.splice(0)) conn.close();
    await until(() => workers.open === 0, "the closed connections given back");

    // The HTTP port, bound on the new Worker too: new connections until it has taken one.
    const port = server.http!.addr.port;
    for (let tries = 0; server.http!.requestsPerListener![0] === 0; tries++) {
      assert.ok(tries < 50, "the new Worker serves the HTTP port");
      const ready = await stalledRequest(port, "GET /v2/health/ready HTTP/1.1", "");
      assert.match(ready, /^HTTP\/1\.1 200 /);
    }
  } finally {
    for (const conn of conns) conn.close();
    await server.shutdown();
  }
});

Deno.test("--listeners 2: when every Worker failed before binding the HTTP port, its start fails with a sentence, not on a port each picks", async () => {
  const log = new Logger("error", () => {});
  const options = withServerDefaults({ log, hostname: "127.0.0.1", port: 0 });
  const workers = await ListenerWorkers.start(2, listenerOptions(options));
  // Not restarted meanwhile: no Worker is left to pick the port.
  workers.restarts.delaysMs = [60_000];
  try {
    for (const link of [...workers.links]) await failWorker(link);
    const deps = { log, maxBodyBytes: 1024, handler: { tokensOn: false } } as unknown as HttpDeps;
    const started = serveHttpOnListeners(workers, deps, { hostname: "127.0.0.1", port: 0 });
    await assert.rejects(started, new Error(NO_WORKER_FOR_HTTP));
  } finally {
    await workers.shutdown();
  }
});
