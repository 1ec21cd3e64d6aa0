// The liveness check of the listener Workers (`--listeners 2`), with real
// Workers and real sockets: a Worker whose event loop hangs for real (blocked
// in `Atomics.wait`, by `server/testdata/blocking_listener_worker.ts`) is
// found within `--listener-timeout-ms` and given up with a log line; once it
// stops, what its connection held in the shared limits is given back, a new
// Worker serves in its place, and the clients queued on its socket are
// served. Workers that answer are never given up. Needs `deno test
// --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { serverWithListeners } from "../testing/http_modes.ts";
import { statsStatus as stats } from "../testing/server.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";
import { until } from "../testing/until.ts";
import { serveClients, TIMEOUT_MS, withHungWorker } from "../testing/blocking_workers.ts";

Deno.test("--listeners 2: a Worker whose event loop hangs is given up within the limit; once it stops, its counts are given back and a new one serves", async () => {
  await withHungWorker(async ({ workers, hung, conns, lines, wake }) => {
    // Given up, it still runs (Deno's terminate() does not interrupt it): its count stays.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(workers.open, 1, "not given back while it runs");
    assert.equal(workers.links[hung.thread - 1], hung, "not replaced while it runs");

    // It comes back to its event loop and stops there: then its count is given back, once, and
    // a new Worker takes its place.
    wake();
    await until(() => workers.serving === 2, "its place restarted");
    assert.equal(lines.filter((line) => line.msg === "a hung listener Worker stopped").length, 1);
    assert.equal(workers.restarts.count, 1);
    assert.equal(workers.limits.held(hung.column).open, 0);
    assert.equal(workers.open, 0, "the hung Worker's connection is not counted any more");

    await serveClients(workers, hung, 6, conns);
    assert.equal(workers.open, 6, "the counts match the connections open");
    const threads = workers.links.map((link) => workers.limits.held(link.thread).open);
    assert.equal(threads[0] + threads[1], 6);
  });
});

Deno.test("--listeners 2: Workers that answer are never given up, nor for the time the main thread did not run", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const lines: Record<string, unknown>[] = [];
  const log = new Logger("info", (line) => lines.push(JSON.parse(line)), "json");
  const server = await serverWithListeners(2, { log, listenerTimeoutMs: TIMEOUT_MS });
  const workers = server.listenerWorkers!;
  try {
    assert.equal(workers.liveness!.timeoutMs, TIMEOUT_MS, "the server's Workers are checked");
    const first = [...workers.links];
    // Several limits long, with clients served meanwhile.
    for (let i = 0; i < 8; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      assert.equal(await stats(conn), "OK");
      conn.close();
      await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
    }
    // The main thread blocked three limits long (as a process paused by SIGSTOP), and the check
    // looking first when it runs again, the Workers' answers still waiting in its queue: that
    // time is not held against them.
    workers.liveness!.check();
    const end = performance.now() + 3 * TIMEOUT_MS;
    while (performance.now() < end) { /* blocked */ }
    workers.liveness!.check();
    await new Promise((r) => setTimeout(r, TIMEOUT_MS));
    assert.deepEqual(lines.filter((line) => line.msg === "a listener Worker hung: given up"), []);
    assert.deepEqual(workers.links, first);
    assert.equal(workers.serving, 2);
  } finally {
    await server.shutdown();
  }
});

/**
 * Whether Linux moves a closed socket's queued connections to the others of its port
 * (`net.ipv4.tcp_migrate_req`, Linux 5.14 and later). Read by a child process: Deno lets only
 * `--allow-all` read `/proc/sys`. Off, the test below is ignored with a line.
 */
function queuedConnectionsMove(): boolean {
  try {
    const { stdout } = new Deno.Command("cat", { args: ["/proc/sys/net/ipv4/tcp_migrate_req"] })
      .outputSync();
    return new TextDecoder().decode(stdout).trim() === "1";
  } catch {
    return false;
  }
}
const moves = queuedConnectionsMove();
if (!moves) {
  console.log("skipped: needs net.ipv4.tcp_migrate_req=1 (sysctl -w net.ipv4.tcp_migrate_req=1)");
}

Deno.test({
  name:
    "--listeners 2: with net.ipv4.tcp_migrate_req=1, clients waiting in a hung Worker's queue are served once it stops, none reset",
  ignore: !moves,
  fn: () =>
    withHungWorker(async ({ workers, conns, wake }) => {
      // Each client sends a request at once; the kernel hands some to the hung Worker's socket,
      // where they wait, unaccepted (with 16 clients, all 16 on the other is a 1 in 65,536 chance).
      const clients = await Promise.all(
        Array.from({ length: 16 }, () =>
          Deno.connect({ hostname: "127.0.0.1", port: workers.addr.port })),
      );
      conns.push(...clients);
      let answered = 0;
      const statuses = clients.map((conn) =>
        stats(conn).then(
          (status) => (answered++, status),
          (e: Error) =>
            e.name,
        )
      );
      await until(() => answered > 0, "a client of the live Worker answered");
      assert.ok(answered < 16, "some clients wait in the hung Worker's queue");
      // It stops, its socket closes: its queued clients go to the other Worker.
      wake();
      assert.deepEqual(await Promise.all(statuses), Array(16).fill("OK"));
      await until(() => workers.serving === 2, "its place restarted");
    }),
});
