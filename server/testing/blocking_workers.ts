/**
 * Listener Workers a test can block, for the tests of the liveness check and
 * of the stuck Workers: Workers whose event loop hangs for real (blocked in
 * `Atomics.wait`, by `server/testdata/blocking_listener_worker.ts`), given
 * up after `TIMEOUT_MS` without a sign of life (`blockingWorkers`); two of
 * them, one hung and given up (`withHungWorker`); and clients connected until
 * served (`servedClient`, `serveClients`), with the Worker serving each
 * (`linkOf`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { Status, WireError } from "../../shared/errors.ts";
import { RequestHandler } from "../core/handler.ts";
import { listenerOptions } from "../board_settings.ts";
import { Logger } from "../log.ts";
import { withServerDefaults } from "../options.ts";
import { statsStatus as stats } from "./server.ts";
import { ListenerWorkers } from "../listeners/listener_workers.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "../listeners/listener_options.ts";
import type { WorkerLink } from "../listeners/worker_link.ts";
import { until } from "./until.ts";

export const TIMEOUT_MS = 300;

/** The Worker serving `conn` (the one whose main-thread half knows its peer). */
export function linkOf(workers: ListenerWorkers, conn: Deno.Conn): WorkerLink | undefined {
  const peer = `127.0.0.1:${(conn.localAddr as Deno.NetAddr).port}`;
  return workers.links.find((link) =>
    [...link.connections.values()].some((remote) => remote.origin.peer === peer)
  );
}

/** `count` listener Workers a test can block (`blocking_listener_worker.ts`), serving, checked every 300 ms. */
export async function blockingWorkers(count: number, log: Logger): Promise<ListenerWorkers> {
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
export async function servedClient(
  workers: ListenerWorkers,
  conns: Deno.Conn[],
): Promise<Deno.Conn> {
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
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** What `withHungWorker` hands its test: two Workers, one of them hung and given up. */
export interface HungWorker {
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
export async function withHungWorker(run: (hung: HungWorker) => Promise<void>): Promise<void> {
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
export async function serveClients(
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
