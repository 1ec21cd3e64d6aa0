// Warm before ready: the server sends its own request path real requests,
// over both ports, before startServer resolves, and counts none of them.
import assert from "node:assert/strict";
import { Logger } from "./log.ts";
import { startServer } from "./server.ts";
import { GRACE_MS, settle, warmUp } from "./warm_up.ts";
import { InferenceEngine } from "./engine/engine.ts";
import { InferenceQueue } from "./engine/queue.ts";
import { standInWorker } from "./testing/engine_stand_in.ts";
import { Authorizer } from "./auth/authorize.ts";

const quiet = new Logger("error", () => {});

Deno.test("a server with warmUpMs runs full batches before it starts, counts none of it, and is ready after", async () => {
  let observed = 0;
  let ranDigits = 0;
  const started = performance.now();
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: quiet,
    warmUpMs: 400,
    onRequest: () => observed++,
    onRun: (event) => ranDigits += event.batchSize,
  });
  try {
    assert.ok(performance.now() - started >= 400, "startServer waited for the warm-up");
    assert.ok(ranDigits > 0, "the engines ran the warm-up's digits");
    assert.equal(observed, 0, "no observer saw a warm-up request");
    const snapshot = server.monitor.snapshot();
    assert.equal(snapshot.requestsTotal, 0, "the dashboard counted none");
    assert.equal(snapshot.devicesSeen, 0, "and saw no device");
    assert.equal(server.stats().served, 0, "GET_STATS reports none served");
    assert.equal(server.stats().freq, 0, "nor a rate");
    const metrics = await server.monitor.metrics.expose();
    assert.doesNotMatch(metrics, /nv_inference_count\{[^}]*\} [1-9]/, "nor did /metrics");
    assert.ok(server.ready());
  } finally {
    await server.shutdown();
  }
});

Deno.test("warmUp sends framed and HTTP requests until its budget, then stops", async () => {
  const server = await startServer({ hostname: "127.0.0.1", port: 0, log: quiet });
  try {
    const report = await warmUp({
      board: server.addr,
      http: server.http!.addr as Deno.NetAddr,
      model: server.queue.model,
    }, 300);
    assert.ok(report.framed > 0 && report.http > 0, JSON.stringify(report));
    assert.ok(report.ms >= 300);
    assert.equal(
      server.monitor.snapshot().requestsTotal,
      report.framed + report.http + report.churned,
    );
    // Connections opened and closed for each request, legacy ones among them.
    assert.ok(report.churned >= 4, JSON.stringify(report));
    // As many boards as a busy fleet opens at once, and binary tensors answered as JSON ones.
    assert.ok(report.connections >= 100, JSON.stringify(report));
    assert.ok(report.httpBinaryOk > 0, JSON.stringify(report));
    const none = await warmUp({ board: server.addr, http: null, model: "" }, 0);
    assert.deepEqual(none, {
      framed: 0,
      http: 0,
      httpBinaryOk: 0,
      connections: 0,
      churned: 0,
      ms: 0,
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("a warm-up of a port that never answers gives up after its grace, and counts nothing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn); // read nothing, answer nothing
  })();
  try {
    const report = await warmUp({ board: listener.addr, http: null, model: "" }, 100);
    assert.equal(report.framed, 0);
    assert.ok(report.ms >= 100 && report.ms < 10_000, `gave up after ${report.ms} ms`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of accepted) conn.close();
  }
});

Deno.test("a warm-up client that is refused stops: legacy denied is asked once per legacy client", async () => {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: quiet,
    auth: new Authorizer({ legacy: "deny" }),
  });
  try {
    const report = await warmUp({ board: server.addr, http: null, model: server.queue.model }, 300);
    const snapshot = server.monitor.snapshot();
    // Two legacy clients, one refusal each; the framed ones went on until the budget.
    assert.equal(snapshot.errorsTotal.UNAUTHORIZED, 2, JSON.stringify(snapshot.errorsTotal));
    assert.ok(report.churned > 0, JSON.stringify(report));
    assert.equal(snapshot.requestsTotal, report.framed + report.churned + 2);
  } finally {
    await server.shutdown();
  }
});

/**
 * An engine whose first run with a digit that is not blank takes 3 s (a cold
 * big model), longer than the warm-up's 2.3 s to give up however few digits
 * it got to send on a busy machine; every run after it is quick, so what the
 * warm-up left in flight ends well within the 5 s it then waits
 * (`SETTLE_MS`). The blank digits of the engine's own start checks are quick.
 */
const SLOW = standInWorker({
  prelude: "const nap = new Int32Array(new SharedArrayBuffer(4)); let cold = true;",
  run: "if (cold && data.subarray(i * 784, i * 784 + 784).some((v) => v > 0)) " +
    "{ cold = false; Atomics.wait(nap, 0, 0, 3000); }",
});

Deno.test("a warm-up that gives up with digits in the engine waits for them before it is ready, and counts none", async () => {
  const lines: string[] = [];
  let observed = 0;
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    log: new Logger("debug", (line) => lines.push(line)),
    warmUpMs: 300,
    workerUrl: SLOW,
    instances: 1,
    runTimeoutMs: 10_000,
    // Every connection's share holds its whole burst: the server reads all the warm-up sent
    // while it warms, none of it after (a share still full at the end would be read then).
    maxQueued: 20_000,
    minQueueShare: 64,
    onRequest: () => observed++,
  });
  try {
    const warmed = lines.find((line) => line.includes("warmed up")) ?? "";
    assert.ok(Number(/ms=(\d+)/.exec(warmed)?.[1]) >= 300 + GRACE_MS, `gave up: ${warmed}`);
    // What the engine still ran for the warm-up ends; none of it is counted.
    await server.queue.drained();
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(observed, 0, "no observer saw a warm-up request");
    assert.equal(server.monitor.snapshot().requestsTotal, 0, "the dashboard counted none");
    assert.equal(server.stats().served, 0, "the queue's figures start from nothing");
    assert.equal(server.queue.runs, 0);
    const metrics = await server.monitor.metrics.expose();
    assert.doesNotMatch(
      metrics,
      /nv_inference_(count|exec_count)\{[^}]*\} [1-9]/,
      "nor did /metrics",
    );
    assert.ok(
      !lines.some((line) => line.includes("WARN")),
      lines.filter((l) => l.includes("WARN")).join("\n"),
    );
    assert.ok(server.ready());
  } finally {
    await server.shutdown();
  }
});

Deno.test("settle gives up at its limit with the digits still in flight, and drops nothing, idle lane included", async () => {
  const engine = await InferenceEngine.start(new Uint8Array(8), {
    workerUrl: SLOW,
    runTimeoutMs: 10_000,
  });
  const queue = new InferenceQueue({ engines: [engine], version: 1 }, {
    maxBatch: 128,
    maxQueued: 64,
  });
  try {
    const digit = new Uint8Array(784).fill(255);
    const answers = [1, 2, 3].map(() => queue.submit(digit, null, {}));
    let idleAnswered = false;
    assert.ok(
      queue.submitIdle(digit, null, (_, result) => idleAnswered = !(result instanceof Error), null),
    );
    assert.equal(queue.inFlight, 4);
    assert.equal(await settle([queue], 1), 4, "nothing left the engine in 1 ms");
    assert.equal(await settle([queue], 10_000), 0);
    assert.ok(idleAnswered, "the idle lane's digit ran (drained() would have dropped it)");
    for (const answer of answers) assert.ok(!((await answer) instanceof Error));
  } finally {
    await queue.close();
  }
});
