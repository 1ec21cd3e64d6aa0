// Listener Workers given up as hung that do not stop (Deno's `terminate()`
// does not interrupt a blocked event loop; here one blocked in
// `Atomics.wait`, by `server/testdata/blocking_listener_worker.ts`), with real
// Workers and real sockets: each place is started again regardless, in a
// spare column of the shared limits (or, with none free, once one stops);
// what a stuck Worker's connection held is given back once, when it stops,
// and the counts match the connections open after; while one runs, the
// server is not live. Needs `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { Logger } from "../log.ts";
import { serverWithListeners } from "../testing/http_modes.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";
import { until } from "../testing/until.ts";
import {
  blockingWorkers,
  closeQuietly,
  linkOf,
  serveClients,
  servedClient,
  TIMEOUT_MS,
  withHungWorker,
} from "../testing/blocking_workers.ts";

Deno.test("--listeners 2: a hung Worker that does not stop is replaced regardless, its connection counted until it stops", async () => {
  await withHungWorker(async ({ workers, hung, conns, lines, wake }) => {
    await until(() => workers.serving === 2, "its place restarted");
    const stuck = lines.filter((line) =>
      line.msg === "a hung listener Worker did not stop; restart the process"
    );
    assert.equal(stuck.length, 1);
    assert.equal(stuck[0].thread, hung.thread);
    assert.equal(workers.stuck.count, 1, "counted as stuck while it runs");
    // Its socket is still open, so its places in the limits are kept; the new Worker counts apart.
    assert.equal(workers.open, 1);
    assert.equal(workers.limits.held(hung.column).open, 1);
    // The new Worker serves; the stuck one, set free here, stops.
    wake();
    // Its replacement counts in a column of its own (a spare one).
    const replacement = workers.links[hung.thread - 1];
    assert.notEqual(replacement.column, hung.column);
    await until(() => workers.stuck.count === 0, "the stuck Worker, set free, stopped");
    assert.equal(lines.filter((line) => line.msg === "a stuck listener Worker stopped").length, 1);
    // Stopped, what its connection held is given back, and nothing of its replacement's.
    assert.deepEqual(workers.limits.held(hung.column), { open: 0, buffered: 0, addresses: 0 });
    assert.equal(workers.open, 0);
    await serveClients(workers, hung, 2, conns);
    assert.equal(workers.open, 2, "the counts match the connections open");
  });
});

Deno.test("--listeners 2: two Workers in one place that do not stop each give back their own connections once they stop", async () => {
  await withHungWorker(async ({ workers, hung, conns, wake }) => {
    await until(() => workers.serving === 2, "its place restarted");
    const second = workers.links[hung.thread - 1];
    // A client of the second Worker in that place; then that Worker hangs too.
    for (let tries = 0; linkOf(workers, await servedClient(workers, conns)) !== second; tries++) {
      assert.ok(tries < 50, "a client of the second Worker");
    }
    const blocked = new Int32Array(new SharedArrayBuffer(4));
    const wakeSecond = () => {
      Atomics.store(blocked, 0, 1);
      Atomics.notify(blocked, 0);
    };
    second.worker.postMessage({ type: "testBlock", buffer: blocked.buffer });
    try {
      await until(() => workers.stuck.count === 2, "the second given up, not stopped");
      await until(() => workers.links[hung.thread - 1] !== second, "its place restarted again");
      const third = workers.links[hung.thread - 1];
      assert.equal(new Set([hung.column, second.column, third.column]).size, 3, "three columns");
      assert.equal(workers.limits.held(second.column).open, 1);
      wake();
      wakeSecond();
      await until(() => workers.stuck.count === 0, "both stopped");
      for (const gone of [hung, second]) {
        assert.deepEqual(workers.limits.held(gone.column), { open: 0, buffered: 0, addresses: 0 });
      }
      // What is counted is exactly the connections open to the Workers serving, once the clients
      // given up while they waited on a stuck Worker's socket (closed, moved to another) are gone.
      const served = () => conns.filter((conn) => linkOf(workers, conn) !== undefined).length;
      await until(() => workers.open === served(), "the counts match the connections open");
      const added = conns.length;
      await serveClients(workers, hung, 2, conns);
      // The two new clients are served by Workers serving; an older client given up meanwhile
      // (one that waited on a stuck Worker's socket, on a busy machine) may have gone.
      const fresh = conns.slice(added);
      assert.equal(fresh.length, 2);
      await until(
        () => fresh.every((conn) => linkOf(workers, conn) !== undefined),
        "the two new clients held by Workers serving",
      );
      await until(() => workers.open === served(), "and after two more");
    } finally {
      wakeSecond();
    }
  });
});

Deno.test("--listeners 1: with no column of the limits free, a place waits for a stuck Worker to stop, then serves", async () => {
  const lines: Record<string, unknown>[] = [];
  const log = new Logger("info", (line) => lines.push(JSON.parse(line)), "json");
  const workers = await blockingWorkers(1, log);
  const conns: Deno.Conn[] = [];
  const served = () => servedClient(workers, conns);
  const words = [
    new Int32Array(new SharedArrayBuffer(4)),
    new Int32Array(new SharedArrayBuffer(4)),
  ];
  const wake = (word: Int32Array) => {
    Atomics.store(word, 0, 1);
    Atomics.notify(word, 0);
  };
  try {
    const first = workers.links[0];
    await served();
    first.worker.postMessage({ type: "testBlock", buffer: words[0].buffer });
    await until(() => workers.links[0] !== first && workers.serving === 1, "a second Worker");
    const second = workers.links[0];
    assert.notEqual(second.column, first.column, "the spare column");
    await served();
    second.worker.postMessage({ type: "testBlock", buffer: words[1].buffer });
    await until(() => workers.stuck.count === 2, "both given up, not stopped");
    const waits = lines.filter((l) =>
      l.msg === "no column of the limits is free for a new listener Worker"
    );
    assert.equal(waits.length, 1);
    assert.equal(workers.serving, 0, "the place waits");
    // The first stops: its column, released, goes to the waiting place.
    wake(words[0]);
    await until(() => workers.serving === 1, "a third Worker, in the first's column");
    const third = workers.links[0];
    assert.equal(third.column, first.column);
    assert.equal(workers.limits.held(second.column).open, 1, "the second still runs: counted");
    wake(words[1]);
    await until(() => workers.stuck.count === 0, "the second stopped");
    assert.deepEqual(workers.limits.held(second.column), { open: 0, buffered: 0, addresses: 0 });
    const last = await served();
    // The clients given up while they waited on a stuck Worker's socket close: one stays.
    await until(() => workers.open === 1, "the counts match the connections open");
    assert.ok(linkOf(workers, last));
  } finally {
    for (const word of words) wake(word);
    for (const conn of conns) closeQuietly(conn);
    await workers.shutdown();
  }
});

/** A GET the live Worker answers: one landing on the stuck Worker's socket waits, and is tried again. */
async function answered(url: string): Promise<{ status: number; text: string }> {
  for (let attempt = 0;; attempt++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      return { status: response.status, text: await response.text() };
    } catch (e) {
      if ((e as Error).name !== "TimeoutError" || attempt === 20) throw e;
    }
  }
}

Deno.test("--listeners 2: while a Worker that could not be stopped runs, the server is not live (503, mnist_live 0); then it is", async () => {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const lines: Record<string, unknown>[] = [];
  const log = new Logger("info", (line) => lines.push(JSON.parse(line)), "json");
  const server = await serverWithListeners(2, {
    log,
    listenerTimeoutMs: TIMEOUT_MS,
    listenerWorkerUrl: new URL("../testdata/blocking_listener_worker.ts", import.meta.url),
  });
  const base = `http://127.0.0.1:${server.http!.addr.port}`;
  const live = async () => {
    const metrics = await answered(`${base}/metrics`);
    return [
      (await answered(`${base}/v2/health/live`)).status,
      /^mnist_live (\d)$/m.exec(metrics.text)?.[1],
    ];
  };
  const blocked = new Int32Array(new SharedArrayBuffer(4));
  try {
    assert.deepEqual(await live(), [200, "1"]);
    const workers = server.listenerWorkers!;
    workers.links[0].worker.postMessage({ type: "testBlock", buffer: blocked.buffer });
    await until(() => workers.stuck.count === 1, "the blocked Worker given up, and not stopped");
    assert.equal(server.live(), false);
    assert.deepEqual(await live(), [503, "0"]);
    assert.equal(server.ready(), true, "still ready: the other Worker serves");
    Atomics.store(blocked, 0, 1);
    Atomics.notify(blocked, 0);
    await until(() => workers.stuck.count === 0, "the Worker, set free, stopped");
    assert.deepEqual(await live(), [200, "1"]);
  } finally {
    Atomics.store(blocked, 0, 1);
    Atomics.notify(blocked, 0);
    await server.shutdown();
  }
});
