// A listener Worker (`--listeners 2`) whose event loop hangs for real (blocked
// in `Atomics.wait`, by `server/testdata/blocking_listener_worker.ts`), with real Workers and
// real sockets: the liveness check finds it within `--listener-timeout-ms`,
// gives it up with a log line, starts a new one in its place, and clients are
// served again; what its connection held in the shared limits is given back
// once, and the counts match the connections open after. Needs `deno test
// --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { Status, WireError } from "../../shared/errors.ts";
import { RequestHandler } from "../core/handler.ts";
import { listenerOptions } from "../board_settings.ts";
import { Logger } from "../log.ts";
import { withServerDefaults } from "../options.ts";
import { serverWithListeners } from "../testing/http_modes.ts";
import { statsStatus as stats } from "../testing/server.ts";
import { ListenerWorkers } from "./listener_workers.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";
import type { WorkerLink } from "./worker_link.ts";
import { until } from "../testing/until.ts";

const TIMEOUT_MS = 300;

/** The Worker serving `conn` (the one whose main-thread half knows its peer). */
function linkOf(workers: ListenerWorkers, conn: Deno.Conn): WorkerLink | undefined {
  const peer = `127.0.0.1:${(conn.localAddr as Deno.NetAddr).port}`;
  return workers.links.find((link) =>
    [...link.connections.values()].some((remote) => remote.origin.peer === peer)
  );
}

/** `count` listener Workers a test can block (`blocking_listener_worker.ts`), serving, checked every 300 ms. */
async function blockingWorkers(count: number, log: Logger): Promise<ListenerWorkers> {
  const workers = await ListenerWorkers.start(count, {
    ...listenerOptions(withServerDefaults({ log, hostname: "127.0.0.1", port: 0 })),
    listenerTimeoutMs: TIMEOUT_MS,
    workerUrl: new URL("../testdata/blocking_listener_worker.ts", import.meta.url),
  });
  const stats0 = () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "" });
  const route = () => new WireError(Status.MODEL_UNAVAILABLE, "no model");
  workers.serve(new RequestHandler({ route, stats: stats0, log }));
  return workers;
}

/**
 * A new client that got its answer: one the kernel hands a stuck Worker's socket would wait for
 * ever, so each try is given up after a second.
 */
async function servedClient(workers: ListenerWorkers, conns: Deno.Conn[]): Promise<Deno.Conn> {
  for (let tries = 0; tries < 20; tries++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: workers.addr.port });
    conns.push(conn);
    const timer = setTimeout(() => closeQuietly(conn), 1000);
    const status = await stats(conn).catch(() => "closed");
    clearTimeout(timer);
    if (status === "OK") return conn;
  }
  throw new Error("no client served in 20 tries");
}

/** Closes `conn` unless it is closed already. */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** What `withHungWorker` hands its test: two Workers, one of them hung and given up. */
interface HungWorker {
  workers: ListenerWorkers;
  hung: WorkerLink;
  /** Connections the test opened: closed at its end. */
  conns: Deno.Conn[];
  lines: Record<string, unknown>[];
  /** Wakes the hung Worker: terminated meanwhile, it stops at its event loop's next turn. */
  wake: () => void;
}

/**
 * Two listener Workers whose event loop a test can block
 * (`server/testdata/blocking_listener_worker.ts`), serving; the one serving a first client
 * is blocked (on a word only the test sets), answers nothing, and is given up
 * after the limit, logged with what it held. Then `run`, then the end of all.
 */
async function withHungWorker(run: (hung: HungWorker) => Promise<void>): Promise<void> {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const lines: Record<string, unknown>[] = [];
  const log = new Logger("info", (line) => lines.push(JSON.parse(line)), "json");
  const workers = await blockingWorkers(2, log);
  const blocked = new Int32Array(new SharedArrayBuffer(4));
  const wake = () => {
    Atomics.store(blocked, 0, 1);
    Atomics.notify(blocked, 0);
  };
  const conns: Deno.Conn[] = [];
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: workers.addr.port });
    conns.push(conn);
    assert.equal(await stats(conn), "OK");
    const hung = linkOf(workers, conn)!;
    assert.equal(workers.limits.held(hung.column).open, 1);
    hung.worker.postMessage({ type: "testBlock", buffer: blocked.buffer });
    const start = performance.now();
    await until(() => hung.ended, "the hung Worker given up", TIMEOUT_MS * 10);
    // Not before the limit (less the interval it was last asked in): a silence this long is the cause.
    const tookMs = performance.now() - start;
    assert.ok(tookMs >= TIMEOUT_MS * 0.8, `given up after ${tookMs} ms`);
    const given = lines.filter((line) => line.msg === "a listener Worker hung: given up");
    assert.equal(given.length, 1);
    assert.equal(given[0].thread, hung.thread);
    assert.equal(given[0].open, 1, "the log says what it held");
    assert.match(String(given[0].error), /no sign of life from its event loop for 300 ms/);
    assert.equal(workers.serving, 1);
    await run({ workers, hung, conns, lines, wake });
  } finally {
    wake();
    for (const conn of conns) closeQuietly(conn);
    await workers.shutdown();
  }
}

/** Connects until `count` clients are served, none by `hung` (one the kernel gave its socket is reset). */
async function serveClients(
  workers: ListenerWorkers,
  hung: WorkerLink,
  count: number,
  conns: Deno.Conn[],
): Promise<void> {
  for (let served = 0, tries = 0; served < count; tries++) {
    assert.ok(tries < 50, "new clients are served");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: workers.addr.port });
    const status = await stats(conn).catch((e) => {
      if (e instanceof Deno.errors.ConnectionReset) return "reset";
      throw e;
    });
    if (status !== "OK") {
      conn.close();
      continue;
    }
    conns.push(conn);
    served++;
    assert.notEqual(linkOf(workers, conn), hung);
  }
}

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
