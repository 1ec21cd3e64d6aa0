// A listener Worker that ends while serving connections (`--listeners 2`),
// with real Workers and real sockets: what its connections held in the shared
// limits (places, per-address places, buffered bytes) is given back on the
// main thread, so the caps are whole again for the Workers still serving.
// The Worker ends by an uncaught error (a message it cannot read), or by
// `terminate()` and then `ListenerWorkers.lost`, what its error event leads to.
// Needs `deno test --unstable-net` (reusePort).
import assert from "node:assert/strict";
import { Command } from "../../shared/codec.ts";
import { encodeRequest } from "../../shared/request_codec.ts";
import { Status, WireError } from "../../shared/errors.ts";
import { RequestHandler } from "../core/handler.ts";
import type { HandlerContext } from "../core/request.ts";
import { InferenceEngine } from "../engine/engine.ts";
import { InferenceQueue } from "../engine/queue.ts";
import { Logger } from "../log.ts";
import { standInWorker } from "../testing/engine_stand_in.ts";
import { statsStatus as stats } from "../testing/server.ts";
import { writeAll } from "../write_all.ts";
import { ListenerWorkers } from "./listener_workers.ts";
import { hasUnstableNet, NEEDS_UNSTABLE_NET } from "./listener_options.ts";
import type { WorkerLink } from "./worker_link.ts";
import { failWorker } from "../testing/listeners.ts";
import { until } from "../testing/until.ts";

const PER_ADDRESS = 4;

/** An engine that takes 500 ms a digit that is not blank: digits stay queued a while. */
const SLOW = standInWorker({
  prelude: "const nap = new Int32Array(new SharedArrayBuffer(4));",
  run: "if (data.some((v) => v > 0)) Atomics.wait(nap, 0, 0, 500);",
});
const DIGIT = new Uint8Array(784).fill(255);

/** The Worker serving `conn` (the one whose main-thread half knows its peer). */
function linkOf(workers: ListenerWorkers, conn: Deno.Conn): WorkerLink {
  const peer = `127.0.0.1:${(conn.localAddr as Deno.NetAddr).port}`;
  return workers.links.find((link) =>
    [...link.connections.values()].some((remote) => remote.origin.peer === peer)
  )!;
}

/** Two listener Workers serving one handler whose requests go to `route`. */
async function startWorkers(route: HandlerContext["route"]): Promise<ListenerWorkers> {
  const log = new Logger("error", () => {});
  const workers = await ListenerWorkers.start(2, {
    hostname: "127.0.0.1",
    port: 0,
    log,
    limits: {
      maxConnections: 100,
      maxConnectionsPerAddress: PER_ADDRESS,
      maxBufferedBytes: 1 << 20,
      maxQueued: 64,
      minQueueShare: 16,
    },
    trustedProxies: null,
    maxFrame: 16 * 1024,
    maxLegacy: 64 * 1024,
    readTimeoutMs: 60_000,
    idleTimeoutMs: 60_000,
    writeTimeoutMs: 10_000,
    maxPipelined: 256,
  });
  const stats = () => ({ version: 2, freq: 0, mode: 0, parameters: 0, served: 0, model: "" });
  workers.serve(new RequestHandler({ route, stats, log }));
  return workers;
}

/**
 * Serves connections of one address on both Workers, ends one with `end`,
 * and checks that the caps are whole again for the other.
 */
async function endWhileServing(
  end: (workers: ListenerWorkers, link: WorkerLink) => Promise<void>,
): Promise<void> {
  assert.ok(hasUnstableNet(), NEEDS_UNSTABLE_NET + ": run deno test --unstable-net");
  const workers = await startWorkers(() => new WireError(Status.MODEL_UNAVAILABLE, "no model"));
  const where = { hostname: "127.0.0.1", port: workers.addr.port };
  const conns: Deno.Conn[] = [];
  try {
    // Every place of the one address taken, on both Workers (the kernel picks: a connection
    // that would leave one without any is closed and made again), each with half a frame buffered.
    for (let tries = 0; conns.length < PER_ADDRESS; tries++) {
      assert.ok(tries < 100, "the kernel gave every connection to one Worker");
      const conn = await Deno.connect(where);
      assert.equal(await stats(conn), "OK");
      const mine = conns.filter((c) => linkOf(workers, c) === linkOf(workers, conn)).length;
      if (mine === PER_ADDRESS - 1) {
        conn.close();
        await until(() => workers.open === conns.length, "the closed connection's place back");
        continue;
      }
      conns.push(conn);
      await writeAll(conn, Uint8Array.of(200, 0, 0, 0, 1, 2, 3, 4));
    }
    const held = (link: WorkerLink) => workers.limits.held(link.thread);
    await until(
      () => workers.links.every((link) => held(link).open > 0 && held(link).buffered > 0),
      "both Workers hold connections and bytes",
    );
    const extra = await Deno.connect(where);
    assert.equal(await stats(extra), "SERVER_BUSY", "the address has its places");
    extra.close();
    await until(() => workers.open === PER_ADDRESS, "the refused connection's place back");

    // The Worker with the most of them ends.
    const [victim, survivor] = [...workers.links].sort((a, b) =>
      b.connections.size - a.connections.size
    );
    const lost = conns.filter((conn) => linkOf(workers, conn) === victim);
    const kept = conns.filter((conn) => linkOf(workers, conn) === survivor);
    assert.ok(lost.length > 0 && kept.length > 0 && lost.length + kept.length === PER_ADDRESS);
    await end(workers, victim);

    // Counted: only what the Worker still serving holds.
    assert.equal(workers.open, kept.length, "the lost Worker's connections are no longer open");
    assert.deepEqual(held(victim), { open: 0, buffered: 0, addresses: 0 });
    assert.equal(workers.limits.buffered, held(survivor).buffered);
    assert.equal(held(survivor).open, kept.length);
    assert.equal(victim.connections.size, 0, "the main thread forgets its connections");
    // Its clients see their connections end.
    for (const conn of lost) assert.equal(await stats(conn).catch(() => "closed"), "closed");

    // The address's places are free again: up to the cap, then refused.
    for (let i = kept.length; i < PER_ADDRESS; i++) {
      const conn = await Deno.connect(where);
      conns.push(conn);
      assert.equal(await stats(conn), "OK", `connection ${i + 1} of ${PER_ADDRESS}`);
    }
    const over = await Deno.connect(where);
    assert.equal(await stats(over), "SERVER_BUSY", "the cap itself still holds");
    over.close();

    // Closing the rest brings every count to zero, none below.
    for (const conn of conns.splice(0)) conn.close();
    await until(() => workers.open === 0 && workers.limits.buffered === 0, "every count back to 0");
    for (let i = 0; i < PER_ADDRESS; i++) conns.push(await Deno.connect(where));
    for (const conn of conns) assert.equal(await stats(conn), "OK");
  } finally {
    for (const conn of conns) conn.close();
    await workers.shutdown();
  }
}

Deno.test("--listeners 2: a Worker that fails gives back its connections' places, addresses and bytes", async () => {
  await endWhileServing(async (_, link) => void await failWorker(link));
});

Deno.test("--listeners 2: a terminated Worker gives back its connections' places, addresses and bytes", async () => {
  await endWhileServing((workers, link) => {
    link.worker.terminate();
    workers.lost(link, "terminated by the test");
    return Promise.resolve();
  });
});

Deno.test("--listeners 2: a failed Worker's digits still queued run and give back their connection's share", async () => {
  const engine = await InferenceEngine.start(new Uint8Array(8), { workerUrl: SLOW });
  const queue = new InferenceQueue({ engines: [engine], version: 1 }, {
    maxBatch: 1,
    maxQueued: 64,
  });
  const workers = await startWorkers(() => queue);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: workers.addr.port });
  try {
    const digit = (requestId: number) =>
      encodeRequest({ command: Command.INFERENCE_INPUT, requestId, digitU8: DIGIT }, true);
    await writeAll(conn, Uint8Array.from([...digit(1), ...digit(2), ...digit(3)]));
    await until(() => workers.limits.busy === 1, "the connection's digits queued");
    const link = linkOf(workers, conn);
    await failWorker(link);
    assert.ok(queue.inFlight > 0, "digits of the failed Worker's connection still queued");
    assert.equal(workers.open, 0);
    assert.equal(link.connections.size, 0);
    await queue.settled();
    assert.equal(workers.limits.busy, 0, "its share given back as its digits left the queue");
  } finally {
    conn.close();
    await workers.shutdown();
    await queue.close();
  }
});
